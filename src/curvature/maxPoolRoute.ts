import type { Tensor4D } from '../nn/tensor.js';

/**
 * The adjoint of MaxPool's routing (its tangent map ddx ↦ ddy for fixed argmax positions), as
 * gradientConfigs takes it: src/curvature/secondOrderGradients.ts implements it. Declared apart from
 * gradientConfigs.ts so that the public declarations that name it do not reach tfjs-core's.
 */
export type MaxPoolRouteAdjoint = (
  ddx: Tensor4D,
  x: Tensor4D,
  y: Tensor4D,
  filterSize: [number, number] | number,
  strides: [number, number] | number,
  pad: 'valid' | 'same' | number,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
) => Tensor4D;
