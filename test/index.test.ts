import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as specpipe from '../src/index.js';

test('the public index exposes the library: a top eigenvalue through it matches the known spectrum', async () => {
  for (const name of [
    'initBackend',
    'loadDataSource',
    'buildNetwork',
    'trainModel',
    'Curvature',
    'slqDensity',
    'gaussNewtonPieces',
    'renderReport',
    'preparePlan',
    'runPlanLocally',
  ]) {
    assert.equal(typeof (specpipe as Record<string, unknown>)[name], 'function', name);
  }
  const op = specpipe.diagonalOperator(Float64Array.from({ length: 50 }, (_, i) => i + 1));
  const [top] = (await specpipe.topEigenpairs(op, 1, { seed: 1 })).pairs;
  assert.ok(top !== undefined && top.converged && Math.abs(top.value - 50) / 50 < 1e-6, `top = ${top?.value}`);
});
