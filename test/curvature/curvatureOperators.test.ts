import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { flattenParameters } from '../../src/curvature/flatParameters.js';
import { Rng } from '../../src/util/random.js';
import { selectSamples } from '../../src/data/batches.js';
import { referenceProducts, ReferenceCurvature, type ReferenceProblem } from '../reference/referenceCurvature.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';
import { TINY_NETWORKS, buildTinyNetwork, countingForwards, randomSplit, toNhwc } from './tinyNetworks.js';
import { slqDensity } from '../../src/linalg/slq.js';
import { relativeError } from '../util/relativeError.js';

/**
 * Exact curvature products (Hess·v, G·v, H·v) against the independent float64 dual-number
 * reference (test/reference), on tiny nets covering every supported layer, both losses, with
 * and without BatchNorm. Tolerance: 1e-4 relative (float32 compute, exact float64 reference).
 */

const LOSSES = ['cross-entropy', 'mse'] as const;
const SAMPLES = 7;
const BATCH = 3;
const TOLERANCE = 1e-4;

/** Data splits: all samples in uneven batches, or a subset (selectSamples) in one batch. */
const SPLITS = [
  { name: `${SAMPLES} samples in batches of ${BATCH}`, subset: undefined, batch: BATCH },
  { name: 'subset {1, 4, 6} in one batch', subset: [1, 4, 6], batch: 8 },
] as const;

interface Case {
  readonly name: string;
  readonly spec: TinyNetSpec;
  readonly loss: (typeof LOSSES)[number];
  readonly split?: (typeof SPLITS)[number];
}
const CASES: Case[] = TINY_NETWORKS.flatMap((spec) => LOSSES.map((loss) => ({ name: `${spec.name} × ${loss}`, spec, loss })));
const REFERENCE_CASES: Case[] = CASES.flatMap((c) => SPLITS.map((split) => ({ ...c, name: `${c.name} × ${split.name}`, split })));

before(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

function dotp(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function randomVector(p: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: p }, () => Math.fround(rng.normal()));
}

async function setup(c: Case) {
  const network = buildTinyNetwork(c.spec);
  const { params, buffers } = network.init(11);
  const all = randomSplit(c.spec, SAMPLES, 5);
  const data = c.split?.subset !== undefined ? selectSamples(all, c.split.subset) : all;
  const curvature = await Curvature.open(
    { network, params, buffers, data, loss: c.loss },
    { batchSize: c.split?.batch ?? BATCH },
  );
  const reference: ReferenceProblem = {
    spec: c.spec,
    theta: flattenParameters(params),
    buffers: flattenParameters(buffers),
    x: toNhwc(data),
    labels: data.labels,
    loss: c.loss,
  };
  return { network, params, buffers, data, curvature, reference };
}

for (const c of REFERENCE_CASES) {
  test(`Hess·v, G·v, H·v match the float64 reference: ${c.name}`, async () => {
    const { curvature, reference, params, buffers } = await setup(c);
    const v = randomVector(curvature.size, 3);
    const ref = referenceProducts(reference, v);
    const hess = await curvature.operator('hessian').matvec(v);
    const ggn = await curvature.operator('ggn').matvec(v);
    const res = await curvature.operator('residual').matvec(v);
    const grad = await curvature.fullGradient();
    const eh = relativeError(hess, ref.hessianVector);
    const eg = relativeError(ggn, ref.ggnVector);
    const er = relativeError(res, ref.residualVector);
    const e1 = relativeError(grad, ref.gradient);
    assert.ok(eh <= TOLERANCE, `Hess·v relative error ${eh}`);
    assert.ok(eg <= TOLERANCE, `G·v relative error ${eg}`);
    assert.ok(er <= TOLERANCE, `H·v relative error ${er} (‖Hv‖ = ${Math.sqrt(dotp(ref.residualVector, ref.residualVector))})`);
    assert.ok(e1 <= TOLERANCE, `gradient relative error ${e1}`);
    tf.dispose([...params, ...buffers]);
  });
}

for (const c of CASES) {
  test(`symmetry uᵀ(Av) = vᵀ(Au), vᵀGv ≥ 0: ${c.name}`, async () => {
    const { curvature, params, buffers } = await setup(c);
    const u = randomVector(curvature.size, 21);
    const v = randomVector(curvature.size, 22);
    for (const kind of ['hessian', 'ggn', 'residual'] as const) {
      const op = curvature.operator(kind);
      const av = await op.matvec(v);
      const au = await op.matvec(u);
      const a = dotp(u, av);
      const b = dotp(v, au);
      const scale = Math.sqrt(dotp(av, av) * dotp(u, u)) + Math.sqrt(dotp(au, au) * dotp(v, v));
      assert.ok(Math.abs(a - b) <= 1e-5 * scale, `${kind}: uᵀAv = ${a}, vᵀAu = ${b}`);
    }
    const g = curvature.operator('ggn');
    for (let s = 0; s < 3; s++) {
      const w = randomVector(curvature.size, 40 + s);
      const gw = await g.matvec(w);
      const q = dotp(w, gw);
      assert.ok(q >= -1e-6 * Math.sqrt(dotp(gw, gw) * dotp(w, w)), `vᵀGv = ${q} < 0`);
    }
    tf.dispose([...params, ...buffers]);
  });
}

test('building blocks: logits, probabilities, weighted cotangent products match the reference', async () => {
  const c = CASES[6]!; // resnet-densenet × cross-entropy
  const { curvature, reference, params, buffers } = await setup(c);
  const ref = new ReferenceCurvature(reference);
  const z = await curvature.perSampleLogits();
  assert.ok(relativeError(z, ref.logits()) <= 1e-5, `logits error ${relativeError(z, ref.logits())}`);
  const p = await curvature.perSampleProbabilities();
  for (let i = 0; i < SAMPLES; i++) {
    let s = 0;
    for (let k = 0; k < 3; k++) s += p[i * 3 + k]!;
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  const rng = new Rng(8);
  const cot = [0, 1, 2].map(() => Float64Array.from({ length: SAMPLES * 3 }, () => Math.fround(rng.normal())));
  const got = await curvature.weightedCotangentProduct(cot);
  assert.equal(got.length, 3);
  cot.forEach((u, k) => {
    const e = relativeError(got[k]!, ref.cotangentProduct(u));
    assert.ok(e <= TOLERANCE, `cotangent set ${k}: relative error ${e}`);
  });
  await assert.rejects(
    () => curvature.weightedCotangentProduct([new Float64Array(5)]),
    /cotangents\[0\] must have N·C = 7·3 = 21 entries, received 5/,
  );
  tf.dispose([...params, ...buffers]);
});

test('matrix-free spy: each matvec runs exactly ⌈N/B⌉ batch products, allocates no P×P tensor, leaks no tensors', async () => {
  const spec: TinyNetSpec = {
    kind: 'tiny',
    name: 'wide mlp',
    input: [1, 1, 40],
    classes: 5,
    layers: [{ op: 'flatten' }, { op: 'dense', out: 40 }, { op: 'tanh' }, { op: 'dense', out: 5 }],
  };
  const c: Case = { name: 'spy', spec, loss: 'cross-entropy' };
  const { curvature, params, buffers } = await setup(c);
  const p = curvature.size;
  assert.equal(p, 40 * 40 + 40 + 40 * 5 + 5);
  const batchesPerProduct = Math.ceil(SAMPLES / BATCH);
  for (const kind of ['hessian', 'ggn', 'residual'] as const) {
    const op = curvature.operator(kind);
    const before = await op.batchEvaluations();
    const v = randomVector(p, 1);
    await op.matvec(v); // warm-up
    const tensorsBefore = tf.memory().numTensors;
    const profile = await tf.profile(async () => {
      await op.matvec(v);
    });
    assert.equal(tf.memory().numTensors, tensorsBefore, `${kind}: tensors leaked across a matvec`);
    assert.equal((await op.batchEvaluations()) - before, 2 * batchesPerProduct, `${kind}: batch evaluations`);
    assert.equal(op.products, 2);
    assert.ok(
      profile.peakBytes < 4 * p * p,
      `${kind}: peak ${profile.peakBytes} bytes ≥ a dense P×P float32 matrix (${4 * p * p})`,
    );
    const kernels = new Set(profile.kernelNames);
    assert.ok(kernels.has('BatchMatMul'), `${kind}: the tfjs autodiff path ran (kernels: ${[...kernels].join(',')})`);
    const largest = Math.max(...profile.kernels.map((k) => k.totalBytesSnapshot));
    assert.ok(Number.isFinite(largest));
  }
  tf.dispose([...params, ...buffers]);
});

test('operator arguments are checked, naming the value', async () => {
  const { curvature, params, buffers } = await setup(CASES[0]!);
  await assert.rejects(
    () => curvature.operator('hessian').matvec(new Float64Array(3)),
    /vector must have length P = \d+, received length 3/,
  );
  assert.throws(() => curvature.operator('fisher' as never), /must be one of hessian\|ggn\|residual, received "fisher"/);
  const network = buildTinyNetwork(CASES[0]!.spec);
  await assert.rejects(
    () => Curvature.open({ network, params, buffers, data: randomSplit(CASES[0]!.spec, 2, 1), loss: 'mse' }, { batchSize: 0 }),
    /batch size must be an integer ≥ 1, received 0/,
  );
  // execution options live beside the problem, not in it (a caller not yet moved over fails loudly)
  const legacy = { network, params, buffers, data: randomSplit(CASES[0]!.spec, 2, 1), loss: 'mse' as const, workers: 2 };
  await assert.rejects(
    () => Curvature.open(legacy),
    /curvature problem: "workers" is an execution option, not part of the problem; pass it as Curvature.open\(problem, \{ workers: … \}\)/,
  );
  tf.dispose([...params, ...buffers]);
});

test("SLQ's start vectors advance in lockstep: the operator answers them in blocks sharing each batch's forward pass, same spectrum", async () => {
  const spec = TINY_NETWORKS[1]!;
  const network = buildTinyNetwork(spec);
  const counting = countingForwards(network);
  const { params, buffers } = network.init(11);
  const data = randomSplit(spec, SAMPLES, 5);
  const batches = Math.ceil(SAMPLES / BATCH);
  const curvature = await Curvature.open(
    {
      network: counting.network,
      params,
      buffers,
      data,
      loss: 'cross-entropy',
    },
    // recordingBudget 0: every product records its batches' forward pass, so the count shows the blocks sharing it
    { batchSize: BATCH, maxBlock: 3, recordingBudget: 0 },
  );
  const steps = 6;
  const measures = [];
  for (const concurrentStartVectors of [1, 4]) {
    const op = curvature.operator('hessian');
    counting.forwards = 0;
    const s = await slqDensity(op, { steps, startVectors: 4, seed: 2, concurrentStartVectors });
    assert.equal(op.products, 4 * steps, `${concurrentStartVectors} at once: one product per Lanczos step`);
    // 4 runs at once, blocks of at most 3: 2 block products per step (3 + 1 vectors), one forward per batch each
    assert.equal(
      counting.forwards,
      (concurrentStartVectors === 1 ? 4 * steps : 2 * steps) * batches,
      `forward passes, ${concurrentStartVectors} at once`,
    );
    measures.push(s.measure);
  }
  assert.ok(relativeError(measures[1]!.nodes, measures[0]!.nodes) <= 1e-12, 'same Ritz values');
  assert.ok(relativeError(measures[1]!.weights, measures[0]!.weights) <= 1e-12, 'same weights');
  await assert.rejects(
    Curvature.open({ network, params, buffers, data, loss: 'cross-entropy' }, { batchSize: BATCH, maxBlock: 0 }),
    /curvature maxBlock must be an integer ≥ 1, received 0/,
  );
  tf.dispose([...params, ...buffers]);
});
