import { getStageKind, markPortableStageKinds, registerStageKind, type StageKind } from './registry.js';
import { dataFashionMnistStage, dataMnistStage, dataTensorsStage } from './data/kinds.js';
import { dataCifar100Stage, dataCifar10Stage, dataImageFolderStage } from './data/imageKinds.js';
import { trainSgdStage } from './train-sgd/kind.js';
import { spectrumSlqStage } from './spectrum-slq/kind.js';
import { decomposeClassGradientsStage } from './decompose-class-gradients/kind.js';
import { embedTsneStage, embedUmapStage } from './embed/kinds.js';
import { reportHtmlStage } from './report-html/kind.js';
import { validateDenseStage } from './validate-dense/kind.js';

/**
 * Built-in kinds, one folder each under src/stages/ (the data/* and embed/* groups share a folder:
 * one artifact contract, kinds that differ by a source or a method). Their heavy modules (tfjs,
 * data loaders, Arrow, Vega) are imported inside `run`, so planning stays fast.
 */
export const BUILTIN_STAGE_KINDS: readonly StageKind[] = [
  dataMnistStage,
  dataFashionMnistStage,
  dataTensorsStage,
  dataCifar10Stage,
  dataCifar100Stage,
  dataImageFolderStage,
  trainSgdStage,
  spectrumSlqStage,
  decomposeClassGradientsStage,
  embedTsneStage,
  embedUmapStage,
  validateDenseStage,
  reportHtmlStage,
];

/** Registers every built-in stage kind (idempotent). */
export function registerBuiltinStageKinds(): void {
  for (const k of BUILTIN_STAGE_KINDS) if (getStageKind(k.kind) === undefined) registerStageKind(k);
  markPortableStageKinds(BUILTIN_STAGE_KINDS.map((k) => k.kind));
}
