import { runStatus, type RunRecord } from './runRecord.js';

/** Why gc keeps a run's artifacts. */
export type RetentionReason =
  /** One of the last K successful runs of its pipeline. */
  | 'recent'
  /** A failed or interrupted run newer than the oldest of those (at most K per pipeline): a resume reuses its stages. */
  | 'recent-failed'
  /** Pinned with `specpipe pin`. */
  | 'pinned';

/**
 * Which runs `gc --keep-runs K` keeps, pipeline by pipeline (by `pipeline.name`), newest first: the
 * last K successful runs of each pipeline; failed and interrupted runs newer than the K-th of those,
 * at most K of them, without counting toward K (a string of failures never pushes a good run out);
 * and every pinned run. Returns run id → reason.
 */
export function runsToKeep(
  records: readonly Pick<RunRecord, 'run' | 'pipeline' | 'status' | 'counts'>[],
  keepRuns: number,
  pinned: ReadonlySet<string>,
): Map<string, RetentionReason> {
  const kept = new Map<string, RetentionReason>();
  const byPipeline = new Map<string, (typeof records)[number][]>();
  for (const r of records) {
    const list = byPipeline.get(r.pipeline.name) ?? [];
    list.push(r);
    byPipeline.set(r.pipeline.name, list);
  }
  for (const list of byPipeline.values()) {
    const newestFirst = [...list].sort((a, b) => (a.run < b.run ? 1 : a.run > b.run ? -1 : 0));
    let succeeded = 0;
    let failed = 0;
    for (const r of newestFirst) {
      if (succeeded >= keepRuns) break;
      if (runStatus(r) === 'succeeded') {
        kept.set(r.run, 'recent');
        succeeded++;
      } else if (failed < keepRuns) {
        kept.set(r.run, 'recent-failed');
        failed++;
      }
    }
  }
  for (const r of records) if (pinned.has(r.run)) kept.set(r.run, 'pinned');
  return kept;
}
