/** Params of spectrum/slq: the type generated from schemas/stages/spectrum-slq.schema.json (defaults filled). */
export type { SpectrumSlqParams } from '../../params/spectrum-slq.generated.js';
