// Public API of the graph engine: build ONNX graphs, differentiate them, serialize and run them.
export { type DType, type TypedArray, isFloat, dtypeBytes } from './dtype';
export { type Dim, type Shape, ShapeError, formatShape, isStatic } from './shape';
export {
  Graph, Tensor, type TensorLike, type InitializerOptions, type OpDef, type VjpArgs, type TypeInfo, type AttrKind,
  defineOp, apply, scalar, int64s,
} from './graph';
export { add, sub, mul, div, pow, max, min, mod, neg, where } from './ops/arithmetic';
export { sqrt, reciprocal, exp, log, sigmoid, tanh, cos, sin, identity, cast, softmax, logSoftmax } from './ops/unary';
export { reduceSum, reduceMean, reduceMax } from './ops/reduce';
export {
  reshape, transpose, unsqueeze, squeeze, concat, split, slice, pad, expand, size, constantOfShape, range, trilu,
} from './ops/shape-ops';
export { gather, gatherElements, scatterND, scatterElements } from './ops/gather';
export { matmul, swapLast } from './ops/matmul';
export { equal, less, greater, lessOrEqual, greaterOrEqual, and, or, not, nonZero, argMax } from './ops/compare';
export { shapeOf, dimOf, zerosLike, unbroadcast } from './ops/helpers';
export { grad, gradients, UnreachedError, type GradOptions, type Gradients } from './autodiff';
export { serialize, saveModel, IR_VERSION, OPSET, type SerializeOptions, type ModelBytes, type ExternalData } from './serialize';
export {
  createSession, SessionCache, ModelLoadError, toOrtTensor, autoCandidates, DEVICES,
  type Device, type SessionOptions, type Session, type ModelSource, type Feed, ort,
} from './runtime';
export { AdamW, clipGradNorm, globalNorm, type AdamWOptions, type AdamWState, type ParamSet } from './optim';
