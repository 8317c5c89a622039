/** Params of train/sgd: the type generated from schemas/stages/train-sgd.schema.json (defaults filled). */
export type { TrainSgdParams } from '../../params/train-sgd.generated.js';
