// Broadcasting binary arithmetic, Where, Max/Min: forward, inference and vector-Jacobian rules.
import { defineOp, apply, lift, scalar, type Tensor, type TensorLike, requireSameDType, type OpDef, type VjpArgs, type TypeInfo } from '../graph';
import { type Dim, broadcastShapes } from '../shape';
import { unbroadcast } from './helpers';
import { greaterOrEqual, lessOrEqual } from './compare';
import { log } from './unary';

type Rule = (args: VjpArgs<Record<string, never>>) => (Tensor | undefined)[];

/** Known int64 values combine elementwise (shape arithmetic such as seq + past). */
function combineValues(a: Tensor, b: Tensor, fn?: (x: number, y: number) => number): readonly Dim[] | undefined {
  if (!fn || a.dtype !== 'int64' || !a.value || !b.value) return undefined;
  const n = Math.max(a.value.length, b.value.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.value.length === 1 ? a.value[0] : a.value[i];
    const y = b.value.length === 1 ? b.value[0] : b.value[i];
    out.push(typeof x === 'number' && typeof y === 'number' ? fn(x, y) : null);
  }
  return out;
}

function binary(opType: string, vjp: Rule, fold?: (x: number, y: number) => number): OpDef {
  return defineOp({
    opType,
    infer: (xs): TypeInfo[] => {
      const [a, b] = xs as Tensor[];
      requireSameDType(opType, [a, b]);
      return [{ dtype: a.dtype, shape: broadcastShapes(opType, [a.shape, b.shape]), value: combineValues(a, b, fold) }];
    },
    vjp,
  });
}

const addOp = binary('Add', ({ inputs: [a, b], grads: [g] }) => [unbroadcast(g!, a!), unbroadcast(g!, b!)], (x, y) => x + y);

const subOp = binary('Sub', ({ inputs: [a, b], grads: [g], needs }) => [
  unbroadcast(g!, a!),
  needs[1] ? unbroadcast(neg(g!), b!) : undefined,
], (x, y) => x - y);

const mulOp = binary('Mul', ({ inputs: [a, b], grads: [g], needs }) => [
  needs[0] ? unbroadcast(mul(g!, b!), a!) : undefined,
  needs[1] ? unbroadcast(mul(g!, a!), b!) : undefined,
], (x, y) => x * y);

// d(a/b)/db = -a/b^2 = -y/b
const divOp = binary('Div', ({ inputs: [a, b], outputs: [y], grads: [g], needs }) => [
  needs[0] ? unbroadcast(div(g!, b!), a!) : undefined,
  needs[1] ? unbroadcast(neg(mul(g!, div(y, b!))), b!) : undefined,
], (x, y) => Math.trunc(x / y));

// d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a
const powOp = binary('Pow', ({ inputs: [a, b], outputs: [y], grads: [g], needs }) => [
  needs[0] ? unbroadcast(mul(g!, mul(b!, pow(a!, sub(b!, 1)))), a!) : undefined,
  needs[1] ? unbroadcast(mul(g!, mul(y, log(a!))), b!) : undefined,
]);

// Ties send the gradient to the first operand.
const maxOp = binary('Max', ({ inputs: [a, b], grads: [g] }) => {
  const firstWins = greaterOrEqual(a!, b!);
  const zero = scalar(g!.graph, 0, g!.dtype);
  return [unbroadcast(where(firstWins, g!, zero), a!), unbroadcast(where(firstWins, zero, g!), b!)];
}, Math.max);

const minOp = binary('Min', ({ inputs: [a, b], grads: [g] }) => {
  const firstWins = lessOrEqual(a!, b!);
  const zero = scalar(g!.graph, 0, g!.dtype);
  return [unbroadcast(where(firstWins, g!, zero), a!), unbroadcast(where(firstWins, zero, g!), b!)];
}, Math.min);

const modOp = defineOp({
  opType: 'Mod',
  noGrad: true,
  infer: (xs) => {
    const [a, b] = xs as Tensor[];
    requireSameDType('Mod', [a, b]);
    return [{ dtype: a.dtype, shape: broadcastShapes('Mod', [a.shape, b.shape]) }];
  },
});

const whereOp = defineOp({
  opType: 'Where',
  infer: (xs) => {
    const [c, a, b] = xs as Tensor[];
    if (c.dtype !== 'bool') throw new Error(`Where: condition must be bool, got ${c}`);
    requireSameDType('Where', [a, b]);
    return [{ dtype: a.dtype, shape: broadcastShapes('Where', [c.shape, a.shape, b.shape]) }];
  },
  vjp: ({ inputs: [c, a, b], grads: [g], needs }) => {
    const zero = scalar(g!.graph, 0, g!.dtype);
    return [
      undefined,
      needs[1] ? unbroadcast(where(c!, g!, zero), a!) : undefined,
      needs[2] ? unbroadcast(where(c!, zero, g!), b!) : undefined,
    ];
  },
});

const bin = (op: OpDef, name: string) => (a: TensorLike, b: TensorLike): Tensor => apply(op, lift(name, [a, b]), {})[0];

/** Broadcasting elementwise ops; numbers become scalar constants of the other operand's dtype. */
export const add = bin(addOp, 'Add');
export const sub = bin(subOp, 'Sub');
export const mul = bin(mulOp, 'Mul');
export const div = bin(divOp, 'Div');
export const pow = bin(powOp, 'Pow');
export const max = bin(maxOp, 'Max');
export const min = bin(minOp, 'Min');
/** Integer remainder (fmod=0); no gradient. */
export const mod = bin(modOp, 'Mod');

export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift('Where', [a, b]);
  return apply(whereOp, [cond, x, y], {})[0];
}

export function neg(x: Tensor): Tensor {
  return apply(negOp, [x], {})[0];
}

const negOp = defineOp({
  opType: 'Neg',
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  vjp: ({ grads: [g] }) => [neg(g!)],
});

