// The graph builder: symbolic tensors, nodes, graph inputs/initializers/outputs, and op application.
import { type DType, type TypedArray, typedArrayFrom, isFloat } from './dtype';
import { type Dim, type Shape, ShapeError, formatShape, numel } from './shape';

/** ONNX attribute kinds an op declares for each attribute it uses. */
export type AttrKind = 'int' | 'float' | 'ints' | 'floats' | 'string' | 'tensor';
export type AttrValue = number | readonly number[] | string | ConstTensor;

/** Constant data attached to a tensor (initializers, Constant-like values). */
export interface ConstTensor { dtype: DType; shape: readonly number[]; data: TypedArray }

/** What an op's inference returns for each output. `value` is a statically known int64 1-D value. */
export interface TypeInfo { dtype: DType; shape: Shape; value?: readonly Dim[] }

export interface VjpArgs<A> {
  inputs: readonly (Tensor | undefined)[];
  outputs: readonly Tensor[];
  attrs: A;
  /** Gradient of the loss w.r.t. each output; undefined for outputs the loss does not depend on. */
  grads: readonly (Tensor | undefined)[];
  /** Which inputs need a gradient (float inputs on the path to a requested tensor). */
  needs: readonly boolean[];
}

/**
 * One op: ONNX emission, shape/dtype inference and vector-Jacobian rule in one place.
 * `vjp` returns one entry per input (undefined where no gradient flows).
 * `noGrad` marks ops whose outputs carry no gradient (Shape, comparisons, Range, ...).
 */
export interface OpDef<A = any> {
  opType: string;
  /** Operator set domain; absent for the default ONNX domain (contrib ops use com.microsoft). */
  domain?: string;
  attrKinds?: Record<string, AttrKind>;
  infer(inputs: readonly (Tensor | undefined)[], attrs: A): TypeInfo[];
  vjp?: (args: VjpArgs<A>) => (Tensor | undefined)[];
  noGrad?: boolean;
}

export function defineOp<A = Record<string, never>>(def: OpDef<A>): OpDef<A> {
  return def;
}

export class Node {
  constructor(
    readonly op: OpDef,
    readonly inputs: readonly (Tensor | undefined)[],
    readonly attrs: Record<string, any>,
    readonly outputs: Tensor[],
    readonly index: number,
  ) {}

  /**
   * Swaps the op, inputs and attributes but keeps the outputs, so every consumer follows: the one
   * rewrite graph passes need (quantization turns MatMul into MatMulNBits). The outputs' dtype and
   * shape must stay as they were.
   */
  replaceOp<A extends object>(op: OpDef<A>, inputs: readonly (Tensor | undefined)[], attrs: A): void {
    Object.assign(this, { op, inputs, attrs: { ...attrs } });
  }
}

export type TensorKind = 'input' | 'initializer' | 'node';

/** A symbolic tensor: a value of the graph with a dtype and a (possibly symbolic) shape. */
export class Tensor {
  /** Set for initializers and constants. */
  const?: ConstTensor;
  /** Initializers marked for the external data file. */
  external = false;
  constructor(
    readonly graph: Graph,
    public name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: TensorKind,
    readonly producer?: Node,
    /** Statically known values of a 1-D int64 tensor (shape arithmetic), dims may be named. */
    readonly value?: readonly Dim[],
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface InitializerOptions {
  /** Write this initializer's data to the external data file when saving. */
  external?: boolean;
}

export class Graph {
  readonly inputs: Tensor[] = [];
  readonly initializers: Tensor[] = [];
  readonly outputs: Tensor[] = [];
  readonly nodes: Node[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  /** Memo for shapeOf(): one Shape node per tensor. */
  readonly shapeMemo = new Map<Tensor, Tensor>();

  constructor(readonly name = 'graph') {}

  /** A graph input. String dims are named dynamic dims (batch_size, sequence_length). */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = new Tensor(this, this.claim(name), dtype, shape, 'input');
    this.inputs.push(t);
    return t;
  }

  /** A named constant weight stored in the model. */
  initializer(name: string, dtype: DType, shape: readonly number[], data: TypedArray | ArrayLike<number>, options: InitializerOptions = {}): Tensor {
    const stored = ArrayBuffer.isView(data) ? (data as TypedArray) : typedArrayFrom(dtype, data);
    if (stored.length !== numel(shape)) {
      throw new ShapeError(`initializer ${name}: ${stored.length} values do not fill shape ${formatShape(shape)}`);
    }
    const value = dtype === 'int64' && shape.length === 1 ? Array.from(stored as BigInt64Array, Number) : undefined;
    const t = new Tensor(this, this.claim(name), dtype, shape, 'initializer', undefined, value);
    t.const = { dtype, shape, data: stored };
    t.external = options.external ?? false;
    this.initializers.push(t);
    return t;
  }

  /** An anonymous constant (stored as an initializer named const_N). */
  constant(dtype: DType, shape: readonly number[], data: TypedArray | ArrayLike<number>): Tensor {
    const name = this.fresh('const');
    this.names.delete(name);
    return this.initializer(name, dtype, shape, data);
  }

  /** Marks a tensor as a graph output, renaming it (or adding an Identity) to `name`. */
  output(t: Tensor, name?: string): Tensor {
    this.own(t, 'output');
    let out = t;
    if (name !== undefined && name !== t.name) {
      if (t.kind === 'node' && !this.outputs.includes(t)) {
        this.names.delete(t.name);
        t.name = this.claim(name);
      } else {
        out = apply(identityOp, [t], {}, [name])[0];
      }
    }
    this.outputs.push(out);
    return out;
  }

  /** A name not used yet in this graph, derived from `base`. */
  fresh(base: string): string {
    let name: string;
    do name = `${base}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: the name ${name} is already used`);
    this.names.add(name);
    return name;
  }

  /** @internal */
  addNode(op: OpDef, inputs: (Tensor | undefined)[], attrs: Record<string, any>, infos: TypeInfo[], names?: string[]): Tensor[] {
    const outputs: Tensor[] = [];
    const node = new Node(op, inputs, attrs, outputs, this.nodes.length);
    infos.forEach((info, i) => {
      const name = names?.[i] !== undefined ? this.claim(names[i]) : this.fresh(op.opType.toLowerCase());
      outputs.push(new Tensor(this, name, info.dtype, info.shape, 'node', node, info.value));
    });
    this.nodes.push(node);
    return outputs;
  }

  own(t: Tensor, what: string): void {
    if (t.graph !== this) throw new Error(`${what}: tensor ${t.name} belongs to graph ${t.graph.name}, not ${this.name}`);
  }
}

/** Applies an op to tensors: checks they share a graph, infers types, records the node. */
export function apply<A>(op: OpDef<A>, inputs: (Tensor | undefined)[], attrs: A, names?: string[]): Tensor[] {
  const first = inputs.find((t): t is Tensor => t !== undefined);
  if (!first) throw new Error(`${op.opType}: needs at least one tensor input`);
  const graph = first.graph;
  for (const t of inputs) if (t && t.graph !== graph) throw new Error(`${op.opType}: inputs come from different graphs`);
  const infos = op.infer(inputs, attrs);
  return graph.addNode(op, inputs, attrs as Record<string, any>, infos, names);
}

export const identityOp: OpDef = defineOp({
  opType: 'Identity',
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape, value: x!.value }],
  vjp: ({ grads }) => [grads[0]],
});

/** A value an op accepts where a tensor is expected: plain numbers become constants of a partner's dtype. */
export type TensorLike = Tensor | number;

export function scalar(graph: Graph, value: number, dtype: DType): Tensor {
  return graph.constant(dtype, [], [value]);
}

/** Turns numbers into scalar constants of the dtype of the first real tensor among `xs`. */
export function lift(op: string, xs: TensorLike[]): Tensor[] {
  const ref = xs.find((x): x is Tensor => x instanceof Tensor);
  if (!ref) throw new Error(`${op}: at least one operand must be a tensor`);
  return xs.map((x) => (x instanceof Tensor ? x : scalar(ref.graph, x, ref.dtype)));
}

/** 1-D int64 constant (axes, shapes, starts/ends). */
export function int64s(graph: Graph, values: readonly number[]): Tensor {
  return graph.constant('int64', [values.length], values);
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new ShapeError(`${op}: expects a floating tensor, got ${t.toString()}`);
}

export function requireSameDType(op: string, ts: readonly Tensor[]): void {
  const d = ts[0].dtype;
  if (ts.some((t) => t.dtype !== d)) {
    throw new ShapeError(`${op}: dtype mismatch between ${ts.map((t) => t.toString()).join(' and ')}`);
  }
}
