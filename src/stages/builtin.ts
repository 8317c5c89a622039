import { getStageKind, registerStageKind, type StageKind } from './registry.js';
import { dataFashionMnistStage, dataMnistStage, dataTensorsStage } from './dataStages.js';
import { trainSgdStage } from './trainStage.js';
import { spectrumSlqStage } from './spectrumStage.js';

/** Built-in kinds. Their heavy modules (tfjs, data loaders) are imported inside `run`, so planning stays fast. */
const BUILTIN: StageKind[] = [dataMnistStage, dataFashionMnistStage, dataTensorsStage, trainSgdStage, spectrumSlqStage];

/** Registers every built-in stage kind (idempotent). */
export function registerBuiltinStageKinds(): void {
  for (const k of BUILTIN) if (getStageKind(k.kind) === undefined) registerStageKind(k);
}
