// Test helper (not a test): small job graphs of the demo/hash-chain kind.
import { createHash } from 'node:crypto';
import { HASH_CHAIN_KIND, type HashChainPayload } from '../../src/executor/bullmq/demoHandlers.js';
import type { DistributedJob } from '../../src/executor/bullmq/jobGraph.js';

/** The stage key of a test job labelled `label` (keys are 64 hex digits; labels are readable). */
export function keyOf(label: string): string {
  return createHash('sha256').update(`test-job:${label}`).digest('hex');
}

/** A job labelled `label` (its name: `a-b` → `a[b]`), depending on the jobs labelled `deps`. */
export function hashJob(label: string, deps: readonly string[], payload: Partial<HashChainPayload> = {}): DistributedJob {
  return {
    id: keyOf(label),
    name: label.replace(/-/g, '[').replace(/$/, label.includes('-') ? ']' : ''),
    deps: deps.map(keyOf),
    kind: HASH_CHAIN_KIND,
    payload: { seed: label, ...payload },
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
  const train = cells.map((c) => hashJob(`${prefix}train-${c}`, [`${prefix}data`], stagePayload));
  const evals = cells.map((c) => hashJob(`${prefix}eval-${c}`, [`${prefix}train-${c}`, `${prefix}data`]));
  const report = hashJob(
    `${prefix}report`,
    cells.map((c) => `${prefix}eval-${c}`),
  );
  return [data, ...train, ...evals, report];
}
