import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork } from '../../src/nn/build.js';
import { loadCheckpoint, saveCheckpoint, toStateDict } from '../../src/nn/checkpoint.js';
import type { ModelSpec } from '../../src/nn/network.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/store/safetensors.js';
import { Rng } from '../../src/util/random.js';
import { DENSENET40_LAYERS_PER_BLOCK } from '../../src/nn/models/densenet40.js';
import {
  type Act,
  type StateDict,
  addAct,
  bnEval,
  catAct,
  conv,
  get,
  globalAvg,
  linear,
  pool2,
  reluAct,
  toNhwc,
} from './torchReference.js';

await initBackend('auto');
const dir = mkdtempSync(join(tmpdir(), 'specpipe-ckpt-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// ---- float64 reference forward passes of the PyTorch modules, from PyTorch-layout state_dicts ----

function flattenChw(x: Act): Float64Array {
  return x.v;
}

function referenceLogits(spec: ModelSpec, sd: StateDict, x: Act): Float64Array {
  switch (spec.kind) {
    case 'mlp': {
      let h = flattenChw(x);
      const sizes = [...spec.hidden, spec.classes];
      sizes.forEach((out, i) => {
        h = linear(h, get(sd, `${1 + 2 * i}.weight`), get(sd, `${1 + 2 * i}.bias`), out);
        if (i + 1 < sizes.length) h = h.map((t) => (spec.activation === 'tanh' ? Math.tanh(t) : Math.max(t, 0)));
      });
      return h;
    }
    case 'lenet': {
      const k = spec.kernel;
      let y = pool2(reluAct(conv(x, get(sd, '0.weight'), get(sd, '0.bias'), spec.channels[0], k, 1, Math.floor(k / 2))), 'max');
      y = pool2(reluAct(conv(y, get(sd, '3.weight'), get(sd, '3.bias'), spec.channels[1], k, 1, Math.floor(k / 2))), 'max');
      const h = linear(flattenChw(y), get(sd, '7.weight'), get(sd, '7.bias'), spec.hidden).map((t) => Math.max(t, 0));
      return linear(h, get(sd, '9.weight'), get(sd, '9.bias'), spec.classes);
    }
    case 'vgg11': {
      const cfg = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'] as const;
      let y = x;
      let idx = 0;
      for (const item of cfg) {
        if (item === 'M') {
          y = pool2(y, 'max');
          idx += 1;
        } else {
          const c = Math.max(1, Math.round(item * spec.width));
          y = reluAct(
            bnEval(
              conv(y, get(sd, `features.${idx}.weight`), get(sd, `features.${idx}.bias`), c, 3, 1, 1),
              sd,
              `features.${idx + 1}`,
            ),
          );
          idx += 3;
        }
      }
      return linear(flattenChw(y), get(sd, 'classifier.weight'), get(sd, 'classifier.bias'), spec.classes);
    }
    case 'resnet18': {
      const wd = (c: number): number => Math.max(1, Math.round(c * spec.width));
      let y = reluAct(bnEval(conv(x, get(sd, 'conv1.weight'), undefined, wd(64), 3, 1, 1), sd, 'bn1'));
      [64, 128, 256, 512].forEach((base, stage) => {
        for (let b = 0; b < 2; b++) {
          const p = `layer${stage + 1}.${b}`;
          const s = b === 0 && stage > 0 ? 2 : 1;
          const c = wd(base);
          let out = reluAct(bnEval(conv(y, get(sd, `${p}.conv1.weight`), undefined, c, 3, s, 1), sd, `${p}.bn1`));
          out = bnEval(conv(out, get(sd, `${p}.conv2.weight`), undefined, c, 3, 1, 1), sd, `${p}.bn2`);
          const skip =
            s !== 1 || y.c !== c
              ? bnEval(conv(y, get(sd, `${p}.shortcut.0.weight`), undefined, c, 1, s, 0), sd, `${p}.shortcut.1`)
              : y;
          y = reluAct(addAct(out, skip));
        }
      });
      return linear(globalAvg(y), get(sd, 'linear.weight'), get(sd, 'linear.bias'), spec.classes);
    }
    case 'densenet40': {
      const k = spec.growth;
      let y = conv(x, get(sd, 'conv1.weight'), undefined, Math.round((16 * k) / 12), 3, 1, 1);
      for (let b = 1; b <= 3; b++) {
        for (let i = 0; i < DENSENET40_LAYERS_PER_BLOCK; i++) {
          const p = `dense${b}.${i}`;
          y = catAct(y, conv(reluAct(bnEval(y, sd, `${p}.bn`)), get(sd, `${p}.conv.weight`), undefined, k, 3, 1, 1));
        }
        if (b < 3)
          y = pool2(
            conv(reluAct(bnEval(y, sd, `trans${b}.bn`)), get(sd, `trans${b}.conv.weight`), undefined, y.c, 1, 1, 0),
            'avg',
          );
      }
      return linear(globalAvg(reluAct(bnEval(y, sd, 'bn'))), get(sd, 'linear.weight'), get(sd, 'linear.bias'), spec.classes);
    }
  }
}

/** A random state_dict in PyTorch layout for `spec` (what `torch.save(model.state_dict())` would hold), float32-representable. */
function randomStateDict(spec: ModelSpec, seed: number): { safe: Record<string, SafeTensor>; ref: StateDict } {
  const net = buildNetwork(spec);
  const rng = new Rng(seed);
  const safe: Record<string, SafeTensor> = {};
  const ref: StateDict = {};
  for (const e of [...net.paramEntries, ...net.bufferEntries]) {
    const n = e.torchShape.reduce((a, b) => a * b, 1);
    if (e.torchDtype === 'I64') {
      safe[e.name] = { dtype: 'I64', shape: [...e.torchShape], data: BigInt64Array.from([7n]) };
      continue;
    }
    const data = new Float32Array(n);
    const fanIn = e.torchShape.length > 1 ? e.torchShape.slice(1).reduce((a, b) => a * b, 1) : 1;
    for (let i = 0; i < n; i++) {
      if (e.name.endsWith('running_var')) data[i] = 0.5 + rng.uniform();
      else if (e.name.endsWith('running_mean')) data[i] = 0.2 * rng.normal();
      else
        data[i] =
          (2 * rng.uniform() - 1) * (e.torchShape.length > 1 ? 1.7 / Math.sqrt(fanIn) : 0.3) +
          (e.name.endsWith('.weight') && e.torchShape.length === 1 ? 1 : 0);
    }
    safe[e.name] = { dtype: 'F32', shape: [...e.torchShape], data };
    ref[e.name] = { shape: [...e.torchShape], data: Float64Array.from(data) };
  }
  return { safe, ref };
}

function randomInputs(c: number, h: number, w: number, n: number, seed: number): Act[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({ c, h, w, v: Float64Array.from({ length: c * h * w }, () => rng.normal()) }));
}

function logitsOf(spec: ModelSpec, params: tf.Tensor[], buffers: tf.Tensor[], xs: Act[]): Float32Array {
  const net = buildNetwork(spec);
  const x0 = xs[0]!;
  return tf.tidy(
    () =>
      net
        .forward(params, buffers, tf.tensor4d(toNhwc(xs), [xs.length, x0.h, x0.w, x0.c]), 'eval')
        .logits.dataSync() as Float32Array,
  );
}

const CASES: { name: string; spec: ModelSpec }[] = [
  { name: 'mlp (tanh, C=2 input)', spec: { kind: 'mlp', input: [2, 5, 4], hidden: [7, 6], activation: 'tanh', classes: 3 } },
  {
    name: 'lenet (k3, C=2 input)',
    spec: { kind: 'lenet', input: [2, 9, 8], channels: [3, 4], hidden: 6, kernel: 3, classes: 3 },
  },
  { name: 'lenet (k5)', spec: { kind: 'lenet', input: [1, 12, 12], channels: [2, 3], hidden: 5, kernel: 5, classes: 4 } },
  { name: 'vgg11 (BN, width 1/32)', spec: { kind: 'vgg11', input: [3, 32, 32], width: 1 / 32, classes: 3 } },
  { name: 'resnet18 (CIFAR, width 1/32)', spec: { kind: 'resnet18', input: [3, 10, 10], width: 1 / 32, classes: 3 } },
  { name: 'densenet40 (growth 2)', spec: { kind: 'densenet40', input: [3, 8, 8], growth: 2, classes: 3 } },
];

for (const { name, spec } of CASES) {
  test(`${name}: a PyTorch-layout state_dict loads and gives the float64 reference logits`, () => {
    const { safe, ref } = randomStateDict(spec, 11);
    const path = join(dir, `torch-${spec.kind}-${spec.input.join('x')}.safetensors`);
    writeSafetensors(path, safe); // no specpipe metadata, as saved from PyTorch
    const ck = loadCheckpoint(path, spec);
    assert.equal(ck.preprocess, undefined);
    const [c, h, w] = spec.input as [number, number, number];
    const xs = randomInputs(c, h, w, 3, 5);
    const got = logitsOf(spec, ck.params, ck.buffers, xs);
    const want = xs.flatMap((x) => Array.from(referenceLogits(spec, ref, x)));
    const scale = Math.max(1, ...want.map(Math.abs));
    const maxErr = Math.max(...want.map((v, i) => Math.abs(v - got[i]!)));
    assert.ok(maxErr <= 2e-5 * scale, `max |specpipe − reference| = ${maxErr} (scale ${scale})`);
    // And the state_dict specpipe writes back is the same bytes-for-values state_dict.
    const back = toStateDict(ck.network, ck.params, ck.buffers);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(safe).sort());
    for (const k of Object.keys(safe)) {
      assert.deepEqual(back[k]!.shape, safe[k]!.shape, k);
      assert.equal(back[k]!.dtype, safe[k]!.dtype, k);
      assert.deepEqual(
        Array.from(back[k]!.data as ArrayLike<number | bigint>),
        Array.from(safe[k]!.data as ArrayLike<number | bigint>),
        k,
      );
    }
    tf.dispose([...ck.params, ...ck.buffers]);
  });
}

test('export → import gives identical logits, metadata and BatchNorm buffers (num_batches_tracked as I64)', () => {
  const spec: ModelSpec = { kind: 'resnet18', input: [3, 8, 8], width: 1 / 16, classes: 4 };
  const net = buildNetwork(spec);
  const { params, buffers } = net.init(3);
  // One train-mode pass so the running statistics are not the initial ones.
  const xs = randomInputs(3, 8, 8, 4, 9);
  const x = tf.tensor4d(toNhwc(xs), [4, 8, 8, 3]);
  const { logits, updatedBuffers } = net.forward(params, buffers, x, 'train');
  logits.dispose();
  const path = join(dir, 'roundtrip.safetensors');
  const preprocess = { mean: [0.1, 0.2, 0.3], std: [0.9, 0.8, 0.7], pad: 2 };
  saveCheckpoint(path, net, params, updatedBuffers!, preprocess, { 'specpipe.epoch': '5' });
  const ck = loadCheckpoint(path);
  assert.deepEqual(ck.spec, spec);
  assert.deepEqual(ck.preprocess, preprocess);
  assert.equal(ck.metadata['specpipe.epoch'], '5');
  assert.deepEqual(JSON.parse(ck.metadata['specpipe.model']!), { kind: 'resnet18', input: [3, 8, 8], width: 0.0625, classes: 4 });
  assert.deepEqual(JSON.parse(ck.metadata['specpipe.preprocess']!), { mean: [0.1, 0.2, 0.3], std: [0.9, 0.8, 0.7], pad: 2 });
  const before = logitsOf(spec, params, updatedBuffers!, xs);
  const after = logitsOf(spec, ck.params, ck.buffers, xs);
  assert.deepEqual(Array.from(after), Array.from(before));
  const raw = readSafetensors(path);
  const nbt = raw.tensors['bn1.num_batches_tracked']!;
  assert.equal(nbt.dtype, 'I64');
  assert.deepEqual(nbt.shape, []);
  assert.deepEqual(Array.from(nbt.data as BigInt64Array), [1n]);
  assert.deepEqual(raw.tensors['conv1.weight']!.shape, [4, 3, 3, 3]);
  assert.deepEqual(raw.tensors['linear.weight']!.shape, [4, 32]);
  assert.equal(raw.tensors['bn1.running_var']!.dtype, 'F32');
  tf.dispose([x, ...params, ...buffers, ...updatedBuffers!, ...ck.params, ...ck.buffers]);
});

test('MLP checkpoint names and shapes are nn.Sequential(Flatten, Linear, act, …)', () => {
  const spec: ModelSpec = { kind: 'mlp', input: [1, 28, 28], hidden: [64, 64], activation: 'relu', classes: 10 };
  const net = buildNetwork(spec);
  const { params, buffers } = net.init(0);
  const sd = toStateDict(net, params, buffers);
  assert.deepEqual(
    Object.entries(sd).map(([k, t]) => [k, t.dtype, t.shape]),
    [
      ['1.weight', 'F32', [64, 784]],
      ['1.bias', 'F32', [64]],
      ['3.weight', 'F32', [64, 64]],
      ['3.bias', 'F32', [64]],
      ['5.weight', 'F32', [10, 64]],
      ['5.bias', 'F32', [10]],
    ],
  );
  tf.dispose([...params, ...buffers]);
});

test('strict loading: missing, unexpected and wrong-shape keys are errors naming the key', () => {
  const spec: ModelSpec = { kind: 'lenet', input: [1, 12, 12], channels: [2, 3], hidden: 5, kernel: 5, classes: 4 };
  const { safe } = randomStateDict(spec, 1);
  const write = (name: string, t: Record<string, SafeTensor>): string => {
    const p = join(dir, name);
    writeSafetensors(p, t, { 'specpipe.model': JSON.stringify(spec) });
    return p;
  };
  const { ['3.bias']: _dropped, ...missing } = safe;
  assert.throws(
    () => loadCheckpoint(write('missing.safetensors', missing)),
    (e: Error) => {
      assert.match(e.message, /missing\.safetensors: missing key "3\.bias" \(expected F32 \[3\]\)/);
      return true;
    },
  );
  assert.throws(
    () => loadCheckpoint(write('extra.safetensors', { ...safe, 'fc.weight': safe['7.weight']! })),
    /extra\.safetensors: unexpected key "fc\.weight"/,
  );
  assert.throws(
    () =>
      loadCheckpoint(
        write('shape.safetensors', { ...safe, '7.weight': { dtype: 'F32', shape: [5, 12], data: new Float32Array(60) } }),
      ),
    /shape\.safetensors: key "7\.weight" has shape \[5, 12\], expected \[5, 27\]/,
  );
  assert.throws(
    () =>
      loadCheckpoint(write('dtype.safetensors', { ...safe, '0.bias': { dtype: 'I64', shape: [2], data: new BigInt64Array(2) } })),
    /dtype\.safetensors: key "0\.bias" has dtype I64, expected a floating dtype/,
  );
  const noModel = join(dir, 'nomodel.safetensors');
  writeSafetensors(noModel, safe);
  assert.throws(
    () => loadCheckpoint(noModel),
    /nomodel\.safetensors: no "specpipe\.model" in the safetensors __metadata__; pass the model spec/,
  );
  const badPre = join(dir, 'badpre.safetensors');
  writeSafetensors(badPre, safe, { 'specpipe.model': JSON.stringify(spec), 'specpipe.preprocess': '{"mean":[0.1]}' });
  assert.throws(() => loadCheckpoint(badPre), /badpre\.safetensors: "specpipe\.preprocess" metadata must be/);
});
