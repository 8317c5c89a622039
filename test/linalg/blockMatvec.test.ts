import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalescedMatvec } from '../../src/linalg/blockMatvec.js';

/** A block product y_k = 2 v_k that records the sizes of the blocks it was asked for. */
function doubling(): { blocks: number[]; apply: (vs: readonly Float64Array[]) => Promise<Float64Array[]> } {
  const blocks: number[] = [];
  return {
    blocks,
    apply: async (vs) => {
      blocks.push(vs.length);
      return vs.map((v) => v.map((x) => 2 * x));
    },
  };
}

test('coalescedMatvec: concurrent calls become blocks of at most maxBlock, in call order, each caller getting its own product', async () => {
  const op = doubling();
  const matvec = coalescedMatvec(op.apply, 4);
  const vs = Array.from({ length: 6 }, (_, k) => Float64Array.of(k, -k, 0.5));
  const ys = await Promise.all(vs.map((v) => matvec(v)));
  assert.deepEqual(op.blocks, [4, 2]);
  ys.forEach((y, k) => assert.deepEqual(Array.from(y), [2 * k, -2 * k, 1]));
  // sequential calls (each awaited) are single products
  await matvec(vs[1]!);
  await matvec(vs[2]!);
  assert.deepEqual(op.blocks, [4, 2, 1, 1]);
});

test('coalescedMatvec: a failing block rejects each of its callers; maxBlock is checked, naming the value', async () => {
  const matvec = coalescedMatvec(async () => {
    throw new Error('product failed');
  }, 8);
  const results = await Promise.allSettled([matvec(new Float64Array(2)), matvec(new Float64Array(2))]);
  assert.deepEqual(
    results.map((r) => r.status === 'rejected' && (r.reason as Error).message),
    ['product failed', 'product failed'],
  );
  assert.throws(() => coalescedMatvec(doubling().apply, 0), /maxBlock must be an integer ≥ 1, received 0/);
});
