// Test helper (not a test): small job graphs of the demo/hash-chain kind.
import { HASH_CHAIN_KIND, type HashChainPayload } from '../../src/executor/bullmq/demoHandlers.js';
import type { DistributedJob } from '../../src/executor/bullmq/jobGraph.js';

export function hashJob(id: string, deps: readonly string[], payload: Partial<HashChainPayload> = {}): DistributedJob {
  return {
    id,
    name: id.replace(/-/g, '[').replace(/$/, id.includes('-') ? ']' : ''),
    deps,
    kind: HASH_CHAIN_KIND,
    payload: { seed: id, ...payload },
  };
}

/**
 * data → train[n] (n in cells) → eval[n] → report (gathers every eval): a matrix pipeline's
 * shape, not a tree (report has several parents). `stagePayload` tunes the train stages.
 */
export function matrixGraph(
  prefix: string,
  cells: readonly string[],
  stagePayload: Partial<HashChainPayload> = {},
): DistributedJob[] {
  const data = hashJob(`${prefix}data`, []);
  const train = cells.map((c) => hashJob(`${prefix}train-${c}`, [data.id], stagePayload));
  const evals = cells.map((c, i) => hashJob(`${prefix}eval-${c}`, [(train[i] as DistributedJob).id, data.id]));
  const report = hashJob(
    `${prefix}report`,
    evals.map((e) => e.id),
  );
  return [data, ...train, ...evals, report];
}
