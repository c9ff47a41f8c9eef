// Gradient-check cases: every differentiable op, with broadcasting, several paths and named dims.
import * as E from '../../../src/onnx';
import { type GradCase, dims } from './gradcheck';

const d = dims(20261122);
const [B, H, M, K, N] = [d(2, 3), d(2, 3), d(2, 3), d(2, 4), d(2, 4)];
const positive = (u: number): number => 0.5 + u;
const awayFromZero = (u: number, i: number): number => (i % 2 ? 1 : -1) * (0.5 + u);
/** Distinct values, so Max/Min have no ties. */
const distinct = (u: number, i: number): number => 0.37 * i - 1 + 0.1 * u;

const unary = (name: string, f: (x: E.Tensor) => E.Tensor, values?: (u: number, i: number) => number): GradCase => ({
  name,
  inputs: { x: { shape: [B, N], values } },
  build: ({ x }) => f(x),
});

export const opCases: GradCase[] = [
  { name: 'MatMul batched broadcast', inputs: { a: { shape: [B, 1, M, K] }, b: { shape: [H, K, N] } }, build: ({ a, b }) => E.matmul(a, b) },
  { name: 'MatMul 3-D x 2-D', inputs: { a: { shape: [B, M, K] }, b: { shape: [K, N] } }, build: ({ a, b }) => E.matmul(a, b) },
  { name: 'Add broadcast', inputs: { a: { shape: [B, 1, N] }, b: { shape: [M, 1] } }, build: ({ a, b }) => E.add(a, b) },
  { name: 'Sub broadcast', inputs: { a: { shape: [N] }, b: { shape: [B, N] } }, build: ({ a, b }) => E.sub(a, b) },
  { name: 'Mul broadcast', inputs: { a: { shape: [B, N] }, b: { shape: [1, N] } }, build: ({ a, b }) => E.mul(a, b) },
  { name: 'Div broadcast', inputs: { a: { shape: [B, N] }, b: { shape: [N], values: awayFromZero } }, build: ({ a, b }) => E.div(a, b) },
  { name: 'Pow both operands', inputs: { a: { shape: [B, N], values: positive }, b: { shape: [N] } }, build: ({ a, b }) => E.pow(a, b) },
  { name: 'Pow by constant', inputs: { a: { shape: [B, N], values: positive } }, build: ({ a }) => E.pow(a, 2.5) },
  { name: 'Max broadcast', inputs: { a: { shape: [B, N], values: distinct }, b: { shape: [N], values: (u, i) => 0.21 * i - 0.5 + 0.01 * u } }, build: ({ a, b }) => E.max(a, b) },
  { name: 'Min broadcast', inputs: { a: { shape: [B, N], values: distinct }, b: { shape: [N], values: (u, i) => 0.21 * i - 0.5 + 0.01 * u } }, build: ({ a, b }) => E.min(a, b) },
  { name: 'several paths sum', inputs: { a: { shape: [B, N] }, b: { shape: [N] } }, build: ({ a, b }) => E.add(E.mul(a, b), E.mul(E.exp(a), a)) },
  unary('Neg', E.neg),
  unary('Sqrt', E.sqrt, positive),
  unary('Reciprocal', E.reciprocal, awayFromZero),
  unary('Exp', E.exp),
  unary('Log', E.log, positive),
  unary('Sigmoid', E.sigmoid),
  unary('Tanh', E.tanh),
  unary('Cos', E.cos),
  unary('Sin', E.sin),
  unary('Identity', E.identity),
  unary('Softmax last axis', (x) => E.softmax(x, -1)),
  unary('Softmax axis 0', (x) => E.softmax(x, 0)),
  unary('LogSoftmax', (x) => E.logSoftmax(x, -1)),
  unary('Trilu upper k=1', (x) => E.trilu(x, true, 1)),
  unary('Trilu lower', (x) => E.trilu(x, false)),
  { name: 'ReduceSum axis 1 drop', inputs: { x: { shape: [B, M, N] } }, build: ({ x }) => E.reduceSum(x, [1], false) },
  { name: 'ReduceSum all', inputs: { x: { shape: [B, M, N] } }, build: ({ x }) => E.reduceSum(x) },
  { name: 'ReduceMean axes 0,2 keep', inputs: { x: { shape: [B, M, N] } }, build: ({ x }) => E.reduceMean(x, [0, -1], true) },
  { name: 'ReduceMean named dims', inputs: { x: { shape: [B, M, N], declared: ['b', 'm', N] } }, build: ({ x }) => E.reduceMean(x, [1], false) },
  { name: 'Reshape with 0 and -1', inputs: { x: { shape: [B, M, N] } }, build: ({ x }) => E.reshape(x, [0, -1]) },
  { name: 'Transpose', inputs: { x: { shape: [B, M, N] } }, build: ({ x }) => E.transpose(x, [2, 0, 1]) },
  { name: 'Unsqueeze then Squeeze', inputs: { x: { shape: [B, N] } }, build: ({ x }) => E.mul(E.unsqueeze(x, [0, 2]), E.squeeze(E.unsqueeze(x, [1]), [1])) },
  { name: 'Concat three', inputs: { a: { shape: [B, 1] }, b: { shape: [B, M] }, c: { shape: [B, N] } }, build: ({ a, b, c }) => E.concat([a, b, c], 1) },
  { name: 'Concat named dims', inputs: { a: { shape: [B, M], declared: ['b', 'm'] }, c: { shape: [B, N], declared: ['b', 'n'] } }, build: ({ a, c }) => E.concat([a, c, a], 1) },
  {
    name: 'Split with an unused piece',
    inputs: { x: { shape: [B, 4] } },
    build: ({ x }) => {
      const [p, , r] = E.split(x, [1, 2, 1], 1);
      return E.concat([E.mul(p, 2), r], 1);
    },
  },
  { name: 'Slice two axes', inputs: { x: { shape: [4, 3, 5] } }, build: ({ x }) => E.slice(x, [1, 0], [3, -1], [0, 2]) },
  { name: 'Slice negative start, open end', inputs: { x: { shape: [B, 6] } }, build: ({ x }) => E.slice(x, [-4], [2 ** 62], [1]) },
  { name: 'Slice named dims', inputs: { x: { shape: [B, 6], declared: ['b', 's'] } }, build: ({ x }) => E.slice(x, [1], [-1], [1]) },
  {
    name: 'Slice with run-time starts and ends',
    inputs: { x: { shape: [B, 6] }, s: { shape: [1], kind: 'int64', values: () => -5 }, e: { shape: [1], kind: 'int64', values: () => 4 } },
    build: ({ x, s, e }) => E.slice(x, s, e, [1]),
  },
  { name: 'Expand', inputs: { x: { shape: [1, N] } }, build: ({ x }) => E.expand(x, [B, M, N]) },
  {
    name: 'Gather axis 0, repeated indices',
    inputs: { e: { shape: [5, N] }, i: { shape: [B, 3], kind: 'int64', values: (_u, k) => [0, 3, 0, 4, 3, 1, 0, 2, 3][k % 9] } },
    build: ({ e, i }) => E.gather(e, i, 0),
  },
  {
    name: 'Gather axis 1, negative index',
    inputs: { e: { shape: [B, 5, N] }, i: { shape: [4], kind: 'int64', values: (_u, k) => [-1, 2, 2, 0][k] } },
    build: ({ e, i }) => E.gather(e, i, 1),
  },
  {
    name: 'GatherElements axis 1',
    inputs: { x: { shape: [B, 5] }, i: { shape: [B, 3], kind: 'int64', values: (_u, k) => [4, 4, 1, -2, 0, 3, 1, 1, 2][k % 9] } },
    build: ({ x, i }) => E.gatherElements(x, i, 1),
  },
  {
    name: 'Where broadcast',
    inputs: { c: { shape: [B, N], kind: 'bool', values: (u) => (u > 0.5 ? 1 : 0) }, a: { shape: [N] }, b: { shape: [B, 1] } },
    build: ({ c, a, b }) => E.where(c, a, b),
  },
  {
    name: 'Add with named dims (run-time broadcast axes)',
    inputs: { a: { shape: [1, N], declared: ['p', 'q'] }, b: { shape: [B, N], declared: ['r', 's'] } },
    build: ({ a, b }) => E.mul(E.add(a, b), a),
  },
  {
    name: 'MatMul with named batch',
    inputs: { a: { shape: [B, M, K], declared: ['batch', 'seq', K] }, b: { shape: [K, N] } },
    build: ({ a, b }) => E.matmul(a, b),
  },
  {
    name: 'Gather named dims',
    inputs: { e: { shape: [5, N], declared: ['v', 'h'] }, i: { shape: [2, 3], kind: 'int64', declared: ['b', 's'], values: (_u, k) => [1, 1, 4, 0, 2, 1][k] } },
    build: ({ e, i }) => E.gather(e, i, 0),
  },
];
