// Graph -> ONNX ModelProto bytes (deterministic), graph hash, and saving with external data.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { onnx } from 'onnx-proto';
import { type Graph, type Tensor, type Node, type AttrKind, type ConstTensor } from './graph';
import { type TypedArray, onnxDataType, rawBytes } from './dtype';

export const IR_VERSION = 10;
export const OPSET = 21;
/** protobuf messages cannot exceed 2 GiB; stay clear of it. */
const PROTO_LIMIT = 2 ** 31 - 2 ** 24;
const EXTERNAL_ALIGN = 64;

export interface SerializeOptions {
  producerName?: string;
  /** Metadata key/values stored in the model. */
  metadata?: Record<string, string>;
  /**
   * File name (next to the model) for initializers marked `external`. Required when any
   * initializer is external; initializers of at least `externalThreshold` bytes are marked too.
   */
  externalDataFile?: string;
  externalThreshold?: number;
}

export interface ExternalData {
  file: string;
  /** Chunks in file order (kept separate: together they may exceed one Buffer). */
  chunks: Uint8Array[];
  bytes: number;
}

export interface ModelBytes {
  bytes: Uint8Array;
  /** sha256 of the model bytes and external data: the same graph always gives the same hash. */
  hash: string;
  external?: ExternalData;
}

export function serialize(graph: Graph, options: SerializeOptions = {}): ModelBytes {
  const { nodes, initializers } = liveParts(graph);
  const isExternal = (t: Tensor): boolean =>
    t.external || (options.externalThreshold !== undefined && t.const!.data.byteLength >= options.externalThreshold);
  const externals = initializers.filter(isExternal);
  if (externals.length > 0 && !options.externalDataFile) {
    throw new Error(`serialize: initializers ${externals.slice(0, 3).map((t) => t.name).join(', ')} are external; set externalDataFile`);
  }
  const inline = initializers.filter((t) => !isExternal(t)).reduce((n, t) => n + t.const!.data.byteLength, 0);
  if (inline > PROTO_LIMIT) {
    throw new Error(`serialize: ${inline} bytes of inline weights exceed the 2 GB protobuf limit; mark initializers external or set externalThreshold`);
  }
  const external: ExternalData | undefined = externals.length > 0 ? { file: options.externalDataFile!, chunks: [], bytes: 0 } : undefined;

  // External initializers over bytes that another one holds (a tied table read by two ops under two
  // names, a weight multiplied in parts) are written once and point into those bytes; each still loads
  // as its own tensor. Only bytes some initializer holds are written.
  const holder = containers(externals.map((t) => t.const!.data));
  const written = new Map<TypedArray, number>();
  const initializerProtos = initializers.map((t) => {
    if (!external || !isExternal(t)) return tensorProto(t.name, t.const!);
    const { data } = t.const!;
    const whole = holder.get(t.const!.data)!;
    let start = written.get(whole);
    if (start === undefined) {
      start = Math.ceil(external.bytes / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      if (start > external.bytes) external.chunks.push(new Uint8Array(start - external.bytes));
      external.chunks.push(rawBytes(whole));
      external.bytes = start + whole.byteLength;
      written.set(whole, start);
    }
    const offset = start + data.byteOffset - whole.byteOffset;
    return {
      name: t.name,
      dims: [...t.const!.shape],
      dataType: onnxDataType(t.dtype),
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: external.file },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(data.byteLength) },
      ],
    };
  });

  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: opsetImports(nodes),
    producerName: options.producerName ?? 'slhf-refine',
    metadataProps: Object.entries(options.metadata ?? {}).sort().map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: nodes.map(nodeProto),
      initializer: initializerProtos,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  const bytes = onnx.ModelProto.encode(model).finish();
  const hash = createHash('sha256');
  hash.update(bytes);
  for (const c of external?.chunks ?? []) hash.update(c);
  return { bytes, hash: hash.digest('hex'), external };
}

/** For each view, the first of the largest views over the same buffer whose bytes include its bytes (itself if none). */
function containers(views: readonly TypedArray[]): Map<TypedArray, TypedArray> {
  const byBuffer = new Map<ArrayBufferLike, TypedArray[]>();
  for (const v of views) {
    const list = byBuffer.get(v.buffer);
    if (list) list.push(v);
    else byBuffer.set(v.buffer, [v]);
  }
  const holder = new Map<TypedArray, TypedArray>();
  for (const list of byBuffer.values()) {
    const largestFirst = [...list].sort((a, b) => b.byteLength - a.byteLength);
    for (const v of list) {
      holder.set(v, largestFirst.find((c) => c.byteOffset <= v.byteOffset && v.byteOffset + v.byteLength <= c.byteOffset + c.byteLength)!);
    }
  }
  return holder;
}

/** Writes the model (and its external data file beside it). Returns the hash. */
export async function saveModel(graph: Graph, path: string, options: SerializeOptions = {}): Promise<ModelBytes> {
  const model = serialize(graph, options);
  await writeChunks(path, [model.bytes]);
  if (model.external) {
    if (basename(model.external.file) !== model.external.file) throw new Error('saveModel: externalDataFile must be a bare file name');
    await writeChunks(`${path.slice(0, path.length - basename(path).length)}${model.external.file}`, model.external.chunks);
  }
  return model;
}

async function writeChunks(path: string, chunks: Uint8Array[]): Promise<void> {
  const out = createWriteStream(path);
  for (const c of chunks) if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}

/** Nodes and initializers the outputs depend on, in build (topological) order. */
function liveParts(graph: Graph): { nodes: Node[]; initializers: Tensor[] } {
  if (graph.outputs.length === 0) throw new Error(`serialize: graph ${graph.name} has no outputs`);
  const live = new Set<Node>();
  const used = new Set<Tensor>();
  const stack = [...graph.outputs];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (used.has(t)) continue;
    used.add(t);
    if (t.producer && !live.has(t.producer)) {
      live.add(t.producer);
      for (const i of t.producer.inputs) if (i) stack.push(i);
    }
  }
  return { nodes: graph.nodes.filter((n) => live.has(n)), initializers: graph.initializers.filter((t) => used.has(t)) };
}

/** Versions of the non-default domains nodes may use (ONNX Runtime's contrib ops are version 1). */
const DOMAIN_VERSIONS: Record<string, number> = { 'com.microsoft': 1 };

function opsetImports(nodes: Node[]): onnx.IOperatorSetIdProto[] {
  const domains = [...new Set(nodes.map((n) => n.op.domain).filter((d): d is string => d !== undefined && d !== ''))].sort();
  return [{ domain: '', version: OPSET }, ...domains.map((domain) => {
    const version = DOMAIN_VERSIONS[domain];
    if (version === undefined) throw new Error(`serialize: no opset version known for domain ${domain}`);
    return { domain, version };
  })];
}

function tensorProto(name: string, c: ConstTensor): onnx.ITensorProto {
  return { name, dims: [...c.shape], dataType: onnxDataType(c.dtype), rawData: rawBytes(c.data) };
}

function valueInfo(t: Tensor): onnx.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: onnxDataType(t.dtype),
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) },
      },
    },
  };
}

const ATTR_TYPE: Record<AttrKind, number> = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 };

function attributeProto(name: string, kind: AttrKind, value: any): onnx.IAttributeProto {
  const a: onnx.IAttributeProto = { name, type: ATTR_TYPE[kind] };
  switch (kind) {
    case 'int': a.i = typeof value === 'string' ? onnxDataType(value as any) : value; break;
    case 'float': a.f = value; break;
    case 'ints': a.ints = [...value]; break;
    case 'floats': a.floats = [...value]; break;
    case 'string': a.s = new TextEncoder().encode(value); break;
    case 'tensor': a.t = tensorProto('', value); break;
  }
  return a;
}

function nodeProto(node: Node): onnx.INodeProto {
  const kinds = node.op.attrKinds ?? {};
  const inputs = node.inputs.map((t) => t?.name ?? '');
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  return {
    name: `n${node.index}_${node.op.opType}`,
    opType: node.op.opType,
    ...(node.op.domain ? { domain: node.op.domain } : {}),
    input: inputs,
    output: node.outputs.map((t) => t.name),
    attribute: Object.keys(node.attrs).sort()
      .filter((k) => node.attrs[k] !== undefined)
      .map((k) => {
        if (!kinds[k]) throw new Error(`serialize: ${node.op.opType} attribute ${k} has no declared kind`);
        return attributeProto(k, kinds[k], node.attrs[k]);
      }),
  };
}
