/** Params of decompose/class-gradients: the type generated from its schema (defaults filled). */
export type { DecomposeClassGradientsParams as DecomposeParams } from '../../params/decompose-class-gradients.generated.js';
