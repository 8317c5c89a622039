import { getStageKind, markPortableStageKinds, registerLazyStageKind, registerStageKind, type StageKind } from './registry.js';
import { dataFashionMnistStage, dataMnistStage, dataTensorsStage } from './dataStages.js';
import { trainSgdStage } from './trainStage.js';
import { spectrumSlqStage } from './spectrumStage.js';
import { dataCifar100Stage, dataCifar10Stage, dataImageFolderStage } from './imageDataStages.js';

/** Built-in kinds. Their heavy modules (tfjs, data loaders) are imported inside `run`, so planning stays fast. */
const BUILTIN: StageKind[] = [
  dataMnistStage,
  dataFashionMnistStage,
  dataTensorsStage,
  dataCifar10Stage,
  dataCifar100Stage,
  dataImageFolderStage,
  trainSgdStage,
  spectrumSlqStage,
];

/** Kinds from other layers whose modules import tfjs or the report renderer at load: imported when a pipeline uses them. */
const LAZY: Record<string, () => Promise<StageKind>> = {
  'decompose/class-gradients': async () =>
    (await import('../decompose/decomposeStage.js')).decomposeClassGradientsStage as StageKind,
  'embed/tsne': async () => (await import('../embed/embedStages.js')).embedTsneStage as StageKind,
  'embed/umap': async () => (await import('../embed/embedStages.js')).embedUmapStage as StageKind,
  'report/html': async () => (await import('../report/reportStage.js')).reportHtmlStage as StageKind,
};

/** Registers every built-in stage kind (idempotent). */
export function registerBuiltinStageKinds(): void {
  for (const k of BUILTIN) if (getStageKind(k.kind) === undefined) registerStageKind(k);
  for (const [name, load] of Object.entries(LAZY)) registerLazyStageKind(name, load);
  markPortableStageKinds([...BUILTIN.map((k) => k.kind), ...Object.keys(LAZY)]);
}
