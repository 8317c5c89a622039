import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildNetwork } from '../../src/nn/build.js';
import { saveCheckpoint } from '../../src/nn/checkpoint.js';
import type { ModelSpec } from '../../src/nn/network.js';
import type { Manifest } from '../../src/store/manifest.js';
import type { StageContext, UpstreamArtifact } from '../../src/stages/registry.js';
import { decomposeClassGradientsStage } from '../../src/stages/decompose-class-gradients/kind.js';
import type { DecomposeParams } from '../../src/stages/decompose-class-gradients/params.js';
import { loadMnist } from '../../src/data/mnist.js';
import { writeDatasetArtifact } from '../../src/stages/data/datasetArtifact.js';
import { DECOMPOSITION_FILE } from '../../src/stages/decompose-class-gradients/decompositionArtifact.js';
import type { DecompositionSummary } from '../../src/decompose/decomposition.js';
import { readClassGradients } from '../../src/decompose/classGradientsArrow.js';

/**
 * decompose/class-gradients with its default loader: a real MLP checkpoint (saved by
 * src/nn/checkpoint.ts) in a train/sgd artifact whose upstream data artifact holds the real MNIST
 * digits of the `mnist` package; the train instance used 3 digits per class.
 */
function ctxFor(
  root: string,
  upstream: UpstreamArtifact,
  ancestors: UpstreamArtifact[],
  params: DecomposeParams,
  coords: Record<string, unknown> = {},
): StageContext<DecomposeParams> {
  const outDir = join(root, `out-${Math.random().toString(36).slice(2)}`);
  mkdirSync(outDir);
  return {
    params,
    instance: { stage: 'decompose', name: 'decompose', key: 'k', matrix: coords, coords },
    needs: { train: upstream },
    gathered: {},
    ancestors,
    outDir,
    seed: 0,
    backend: 'cpu',
    progress: () => {},
    log: () => {},
  };
}

test('decompose/class-gradients from a checkpoint and real MNIST digits (default loader)', async () => {
  await tf.setBackend('cpu');
  const root = mkdtempSync(join(tmpdir(), 'specpipe-decompose-'));
  const spec: ModelSpec = { kind: 'mlp', input: [1, 28, 28], hidden: [6], activation: 'relu', classes: 10 };
  const network = buildNetwork(spec);
  const { params, buffers } = network.init(1);
  const dataDir = join(root, 'data-key');
  mkdirSync(dataDir);
  await writeDatasetArtifact(dataDir, loadMnist({ seed: 0, testPerClass: 20 }));
  const data: UpstreamArtifact = {
    stage: 'data',
    name: 'data',
    kind: 'data/mnist',
    key: 'data-key',
    matrix: {},
    coords: {},
    params: {},
    dir: dataDir,
    manifest: { upstream: {}, files: [], metrics: {} } as unknown as Manifest,
  };
  const upDir = join(root, 'train-key');
  mkdirSync(upDir);
  for (const epoch of [0, 3])
    saveCheckpoint(join(upDir, `checkpoint-epoch-${epoch}.safetensors`), network, params, buffers, {
      mean: [0.13],
      std: [0.31],
      pad: 0,
    });
  tf.dispose([...params, ...buffers]);
  const manifest = {
    upstream: { data: 'data-key' },
    files: [0, 3].map((e) => ({
      path: `checkpoint-epoch-${e}.safetensors`,
      role: 'checkpoint',
      bytes: 0,
      sha256: '',
      mtimeMs: 0,
    })),
  } as unknown as Manifest;
  const upstream: UpstreamArtifact = {
    stage: 'train',
    name: 'train',
    kind: 'train/sgd',
    key: 'u',
    matrix: {},
    coords: { train_per_class: 3 },
    params: { train_per_class: 3, test_per_class: 5, epochs: 3, checkpoints: [0, 3] },
    dir: upDir,
    manifest,
  };

  await assert.rejects(
    () =>
      decomposeClassGradientsStage.run(
        ctxFor(root, upstream, [data], {
          split: 'train',
          trace_matvecs: 30,
          b2_bottom_matvecs: 60,
          batch_size: 256,
          checkpoint: 7,
        }),
      ),
    /with\.checkpoint is 7, but train saved epochs \[0, 3\]/,
  );

  const ctx = ctxFor(
    root,
    upstream,
    [data],
    { split: 'train', checkpoint: 0, classes: [0, 1, 7], trace_matvecs: 12, b2_bottom_matvecs: 40, batch_size: 16 },
    { train_per_class: 3 },
  );
  const result = await decomposeClassGradientsStage.run(ctx);
  const cg = readClassGradients(join(ctx.outDir, 'class-gradients.arrow'));
  assert.deepEqual(cg.classes, [0, 1, 7]);
  assert.equal(cg.sampleCount, 9, '3 digits of each of the 3 classes');
  assert.equal(cg.paramCount, 784 * 6 + 6 + 6 * 10 + 10);
  // Σ_c' P_cc' over ALL c' is the class count; over the subset it is less but positive
  for (let a = 0; a < 3; a++) {
    const row = cg.pairMass.slice(a * 3, a * 3 + 3).reduce((x, y) => x + y, 0);
    assert.ok(row > 0 && row <= 3 + 1e-9, `Σ_{c'∈S} P_cc' = ${row}`);
  }
  const s = JSON.parse(readFileSync(join(ctx.outDir, DECOMPOSITION_FILE), 'utf8')) as DecompositionSummary;
  assert.equal(s.pieces.a1.eigenvalues.length, 3);
  assert.ok(s.pieces.b1.rank <= 3 * 1);
  assert.ok(s.traceB2 !== undefined && s.traceB2.value > 0, 'B2 is PSD: positive trace');
  assert.ok(s.bottomB2 !== undefined && s.bottomB2.matvecs <= 40, 'λ_min(B2) within its budget');
  assert.ok(s.bottomB2.holds, `λ_min(B2) = ${s.bottomB2.value} ± ${s.bottomB2.residual} ≥ −${s.bottomB2.tolerance}`);
  assert.equal(result?.metrics?.['lambda_min_b2'], s.bottomB2.value);
  assert.equal(result?.metrics?.['b2_psd_holds'], s.bottomB2.holds ? 1 : 0);
  // The C − 1 structure of A1 (math.md §3.1), with ∇L over the same samples.
  const cs = s.classStructure;
  assert.ok(cs.gradientNorm !== undefined && cs.gradientNorm > 0, 'the gradient over the decomposed samples');
  assert.equal(result?.metrics?.['gradient_norm'], cs.gradientNorm);
  assert.equal(result?.metrics?.['self_term_sum_norm'], cs.selfTermSumNorm);
  assert.equal(result?.metrics?.['a1_last_ratio'], cs.a1LastRatio);
  const a1 = s.pieces.a1.eigenvalues;
  assert.equal(cs.a1LastRatio, a1[2]! / a1[1]!, 'λ_C / λ_{C−1} with C = |S| = 3');
  assert.equal(result?.metrics?.['samples'], 9);
});
