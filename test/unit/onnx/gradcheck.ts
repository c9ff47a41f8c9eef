// Gradient checking against central finite differences of the forward graph run on ORT.
// Each case is built three times: a probe (output shape at run time), the loss graph (for the
// differences) and the loss+gradient graph (for the rules under test).
import {
  Graph, type Tensor, type DType, grad, mul, reduceSum, serialize, createSession, type Session, type Shape, type Feed,
} from '../../../src/onnx';
import { seededRandom } from '../../../src/base/seeded-random';

export interface CaseInput {
  /** Shape fed at run time. */
  shape: number[];
  /** Shape declared in the graph (named dims exercise the run-time paths); defaults to `shape`. */
  declared?: Shape;
  /** 'float' (the case dtype, differentiated), 'const' (float, not differentiated), or an integer/bool dtype. */
  kind?: 'float' | 'const' | 'int64' | 'bool';
  /** Values from a uniform draw u in [0, 1); default 2u - 1. */
  values?: (u: number, index: number) => number;
}

export interface GradCase {
  name: string;
  inputs: Record<string, CaseInput>;
  build: (ins: Record<string, Tensor>, graph: Graph) => Tensor;
}

export interface CheckResult {
  /** max |analytic - numeric| / max |numeric| over each differentiated input, worst input. */
  relError: number;
  analytic: Record<string, Float64Array>;
  numeric: Record<string, Float64Array>;
}

const sessionOptions = { device: 'cpu' as const, intraOpThreads: 1, log: () => undefined };

function declare(graph: Graph, c: GradCase, dtype: DType): Record<string, Tensor> {
  const ins: Record<string, Tensor> = {};
  for (const [name, spec] of Object.entries(c.inputs)) {
    const kind = spec.kind ?? 'float';
    const d: DType = kind === 'float' || kind === 'const' ? dtype : kind;
    ins[name] = graph.input(name, d, spec.declared ?? spec.shape);
  }
  return ins;
}

/** Deterministic input data for a case (float values stay float64 here; cast at feed time). */
export function caseData(c: GradCase, seed: number): Record<string, number[]> {
  const rand = seededRandom(seed);
  const out: Record<string, number[]> = {};
  for (const [name, spec] of Object.entries(c.inputs)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const f = spec.values ?? ((u: number) => 2 * u - 1);
    out[name] = Array.from({ length: n }, (_, i) => f(rand(), i));
  }
  return out;
}

function feeds(c: GradCase, data: Record<string, number[]>, dtype: DType, extra: Record<string, Feed> = {}): Record<string, Feed> {
  const f: Record<string, Feed> = { ...extra };
  for (const [name, spec] of Object.entries(c.inputs)) {
    const kind = spec.kind ?? 'float';
    const d: DType = kind === 'float' || kind === 'const' ? dtype : kind;
    f[name] = { dtype: d, data: data[name], dims: spec.shape };
  }
  return f;
}

function lossGraph(c: GradCase, dtype: DType, withGrads: boolean): { graph: Graph; wrt: string[] } {
  const graph = new Graph(c.name);
  const ins = declare(graph, c, dtype);
  const out = c.build(ins, graph);
  // A random cotangent makes every output element matter with a different weight.
  const r = graph.input('cotangent', dtype, out.shape);
  const loss = reduceSum(mul(out, r), undefined, false);
  graph.output(loss, 'loss');
  const wrt = Object.keys(c.inputs).filter((k) => (c.inputs[k].kind ?? 'float') === 'float');
  if (withGrads) grad(loss, wrt.map((k) => ins[k])).forEach((g, i) => graph.output(g, `grad_${wrt[i]}`));
  return { graph, wrt };
}

async function session(graph: Graph): Promise<Session> {
  return createSession(serialize(graph), sessionOptions);
}

/** Analytic gradients of sum(out * cotangent) for a case at one dtype. */
export async function analyticGradients(c: GradCase, dtype: DType, seed = 1): Promise<{ grads: Record<string, Float64Array>; data: Record<string, number[]>; cotangent: Feed }> {
  const data = caseData(c, seed);
  const probe = new Graph(`${c.name}_probe`);
  probe.output(c.build(declare(probe, c, dtype), probe), 'out');
  const probeSession = await session(probe);
  const dims = (await probeSession.run(feeds(c, data, dtype))).out.dims;
  await probeSession.release();
  const rand = seededRandom(seed + 7919);
  const cotangent: Feed = { dtype, data: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * rand() - 1), dims };
  const { graph, wrt } = lossGraph(c, dtype, true);
  const s = await session(graph);
  const out = await s.run(feeds(c, data, dtype, { cotangent }));
  await s.release();
  const grads: Record<string, Float64Array> = {};
  for (const k of wrt) grads[k] = Float64Array.from(out[`grad_${k}`].data as Float64Array, Number);
  return { grads, data, cotangent };
}

/** Compares the rules' gradients with central differences (float64, step eps). */
export async function gradCheck(c: GradCase, seed = 1, eps = 1e-6): Promise<CheckResult> {
  const { grads, data, cotangent } = await analyticGradients(c, 'float64', seed);
  const { graph, wrt } = lossGraph(c, 'float64', false);
  const s = await session(graph);
  const lossAt = async (): Promise<number> => (await s.run(feeds(c, data, 'float64', { cotangent }))).loss.data[0] as number;
  const numeric: Record<string, Float64Array> = {};
  let relError = 0;
  for (const k of wrt) {
    const values = data[k];
    const n = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      values[i] = v + eps;
      const up = await lossAt();
      values[i] = v - eps;
      const down = await lossAt();
      values[i] = v;
      n[i] = (up - down) / (2 * eps);
    }
    numeric[k] = n;
    relError = Math.max(relError, relativeError(grads[k], n));
  }
  await s.release();
  return { relError, analytic: grads, numeric };
}

export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (a.length !== b.length) return Infinity;
  return scale === 0 ? diff : diff / scale;
}

/** A seeded dimension picker so shapes vary between cases but runs repeat. */
export function dims(seed: number): (lo: number, hi: number) => number {
  const rand = seededRandom(seed);
  return (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
}
