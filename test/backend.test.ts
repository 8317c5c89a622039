import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, BackendError } from '../src/backend/backend.js';

test('initBackend rejects an unknown choice, naming the value', async () => {
  await assert.rejects(
    () => initBackend('gpu' as never),
    (e: unknown) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /--backend must be one of auto\|tensorflow\|wasm\|cpu, received "gpu"/);
      return true;
    },
  );
});

test('initBackend auto picks a working backend and says why', async () => {
  const info = await initBackend('auto');
  assert.equal(tf.getBackend(), info.name);
  assert.ok(info.reason.startsWith('auto:'), info.reason);
  const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
  assert.deepEqual(Array.from(y.dataSync()), [11]);
});
