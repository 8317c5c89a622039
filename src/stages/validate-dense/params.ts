/** Params of validate/dense: the type generated from its schema (defaults filled). */
export type { ValidateDenseParams } from '../../params/validate-dense.generated.js';
