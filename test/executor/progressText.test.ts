import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressFormatter } from '../../src/executor/progressText.js';

test('sub-progress ETA comes from the rate since the first report, not from the stage start', () => {
  let ms = 60_000; // a minute of setup before the first product reports: it must not count
  const format = progressFormatter(() => ms);
  assert.equal(format({ done: 1, total: 101, unit: 'product', note: '(ggn, train)' }), 'product 1/101 (ggn, train)');
  ms += 2_000; // 10 more products in 2 s: 5 per second, 90 left
  assert.equal(format({ done: 11, total: 101, unit: 'product' }), 'product 11/101 ETA 18 s');
  ms += 1_000;
  assert.equal(format({ done: 101, total: 101, unit: 'product' }), 'product 101/101');
  assert.equal(format({ done: 0, total: 4 }), 'step 0/4', 'a restarted count starts a new rate');
});
