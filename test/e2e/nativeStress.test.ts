/**
 * Stress test for the native-crash report ("once in about 65 runs of a tiny pipeline, `specpipe run`
 * aborted with a libc stack from native code"): a tiny pipeline that goes through the C kernels and
 * OpenBLAS (MNIST subset, one epoch of an MLP, a GGN Lanczos) run a few hundred times, each a fresh
 * `specpipe run` process with its own store (every stage executes), two at a time. Every run must
 * exit 0; a failure shows its exit code or signal and the end of its stderr.
 *
 * Slow (≈ 10 min for 300 runs): skipped unless SPECPIPE_SLOW=1. SPECPIPE_STRESS_RUNS=N sets the count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCli, tempWorkspace, waitForExit } from '../pipeline/cliHarness.js';

const SLOW = process.env['SPECPIPE_SLOW'] === '1';
const RUNS = Number(process.env['SPECPIPE_STRESS_RUNS'] ?? 300);
/** Longest one run may take on a loaded machine before it counts as a hang. */
const RUN_TIMEOUT_MS = 180_000;

const TINY = `name: stress
seed: 0
stages:
  data:
    uses: data/mnist
    with: { train_per_class: 2, test_per_class: 1 }
  train:
    uses: train/sgd
    needs: [data]
    with:
      model: { kind: mlp, hidden: [4] }
      epochs: 1
      batch_size: 10
      checkpoints: [0, 1]
  spectrum:
    uses: spectrum/slq
    needs: [train]
    with: { operator: ggn, lanczos_steps: 4, start_vectors: 1, top_k: 2 }
`;

test(
  `a tiny pipeline through the native kernels: ${RUNS} fresh \`specpipe run\` processes all exit 0`,
  { skip: !SLOW && 'slow (a few hundred pipeline runs): set SPECPIPE_SLOW=1', timeout: RUNS * RUN_TIMEOUT_MS },
  async () => {
    const dir = tempWorkspace('specpipe-stress-');
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    const failures: string[] = [];
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let i = next++; i < RUNS; i = next++) {
        const child = startCli(['run', 'tiny.yaml', '--store', `store-${i}`, '--quiet'], { cwd: dir });
        const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), RUN_TIMEOUT_MS);
        const r = await waitForExit(child);
        clearTimeout(timer);
        done++;
        if (r.code !== 0) failures.push(`run ${i}: exit ${r.code} (signal ${r.signal})\n${r.stderr.slice(-3000)}`);
      }
    };
    await Promise.all([worker(), worker()]);
    assert.equal(done, RUNS);
    assert.deepEqual(failures, [], `${failures.length} of ${RUNS} runs failed (workspace ${dir})`);
  },
);
