import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { curvatureOperatorForCli } from '../../src/curvature/cliOperator.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { buildNetwork } from '../../src/nn/build.js';
import { saveCheckpoint, loadCheckpoint } from '../../src/nn/checkpoint.js';
import { loadDataSource } from '../../src/data/sources.js';
import { preprocessSplit } from '../../src/data/preprocess.js';
import { Rng } from '../../src/util/random.js';

test('spectrum CLI operator: checkpoint + data source + preprocessing give the same products as a directly opened operator', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-curv-'));
  try {
    const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [8], activation: 'tanh', classes: 10 });
    const { params, buffers } = network.init(1);
    const preprocess = { mean: [0.13], std: [0.31], pad: 0 };
    const path = join(dir, 'mlp.safetensors');
    saveCheckpoint(path, network, params, buffers, preprocess);
    const op = await curvatureOperatorForCli({
      checkpoint: path,
      data: 'mnist',
      split: 'test',
      operator: 'ggn',
      backend: 'cpu',
      seed: 3,
      samplesPerClass: 2,
      batchSize: 8,
    });
    assert.equal(op.size, 28 * 28 * 8 + 8 + 8 * 10 + 10);
    assert.match(op.name ?? '', /^ggn\[test, 20 samples, cross-entropy\]$/);
    const data = await loadDataSource({ kind: 'mnist' }, { seed: 3, testPerClass: 2 });
    const ckpt = loadCheckpoint(path);
    const direct = await Curvature.open(
      {
        network: ckpt.network,
        params: ckpt.params,
        buffers: ckpt.buffers,
        data: preprocessSplit(data.test, preprocess),
        loss: 'cross-entropy',
      },
      { batchSize: 8 },
    );
    const rng = new Rng(1);
    const v = Float64Array.from({ length: op.size }, () => rng.normal());
    const a = await op.matvec(v);
    const b = await direct.operator('ggn').matvec(v);
    assert.deepEqual(Array.from(a), Array.from(b));
    let q = 0;
    for (let i = 0; i < v.length; i++) q += v[i]! * a[i]!;
    assert.ok(q > 0, `vᵀGv = ${q}`);
    tf.dispose([...params, ...buffers, ...ckpt.params, ...ckpt.buffers]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
