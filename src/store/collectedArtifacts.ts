import { ArtifactStore } from './artifactStore.js';
import type { RunRecord, RunStageRecord } from './runRecord.js';

/**
 * The instances of a run that produced artifacts (executed or cached) whose artifacts are no longer
 * in its store: `gc` collected them (or they were deleted by hand). Failed instances have none to miss.
 */
export function collectedStages(
  record: Pick<RunRecord, 'store' | 'stages'>,
  store = new ArtifactStore(record.store),
): RunStageRecord[] {
  return record.stages.filter((s) => {
    if (s.status === 'failed') return false;
    const v = store.verify(s.key, 'fast');
    return !v.ok && !v.present;
  });
}

/** One line saying which of a run's artifacts are gone and what to do (undefined when none are). */
export function collectedMessage(
  record: Pick<RunRecord, 'run' | 'store' | 'stages' | 'pipeline'>,
  gone: readonly RunStageRecord[],
): string | undefined {
  if (gone.length === 0) return undefined;
  const produced = record.stages.filter((s) => s.status !== 'failed').length;
  const names = gone.map((s) => s.name);
  const shown = names.length > 4 ? `${names.slice(0, 4).join(', ')}, …` : names.join(', ');
  return `run ${record.run}: the artifacts of ${gone.length === produced ? 'all' : gone.length} of its ${produced} stage instances were collected by gc (${shown}; store ${record.store}); run specpipe run ${record.pipeline.file} again to recompute them, and specpipe pin ${record.run} to keep a run's artifacts`;
}
