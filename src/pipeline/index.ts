// Public API of pipelines (`specpipe/pipeline`): plan a YAML pipeline, run it as `specpipe run` does
// (the same run record), read run records and artifacts, register stage kinds.
export { preparePlan, type PreparedPlan } from './preparePlan.js';
export { runPipeline, type RunPipelineOptions, type RunPipelineResult } from '../executor/runPipeline.js';
export { PipelineError } from './diagnostic.js';
export type { Plan, PlanNode } from './plan.js';
export { runPlanLocally, type LocalRunOptions, type LocalRunResult } from '../executor/localExecutor.js';
export { executeStageInstance } from '../executor/executeStageInstance.js';
export { ArtifactStore } from '../store/artifactStore.js';
export { registerStageKind, type StageKind, type StageContext } from '../stages/registry.js';
export { readArrowFile, writeArrowFile, type ArrowColumn } from '../store/arrowFile.js';
export {
  readSafetensors,
  writeSafetensors,
  encodeSafetensors,
  decodeSafetensors,
  type SafeTensor,
} from '../store/safetensors.js';

export {
  defaultRunsDir,
  listRunIds,
  readRunRecord,
  resolveRunId,
  type RunRecord,
  type RunStageRecord,
  type InstanceStatus,
} from '../store/runRecord.js';
export { runTable, formatRunTable, runTableCsv, runTableJson, KEY_METRICS, type RunTable } from './runTable.js';
