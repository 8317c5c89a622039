import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork, parseModelSpec, resolveModelSpecInput, validateModelSpec } from '../../src/nn/build.js';
import type { ModelSpec } from '../../src/nn/network.js';

await initBackend('auto');

test('CLI shorthands parse to the exact JSON spec forms', () => {
  assert.deepEqual(parseModelSpec('mlp:784-64-64-10:relu'), {
    kind: 'mlp',
    input: [784],
    hidden: [64, 64],
    activation: 'relu',
    classes: 10,
  });
  assert.deepEqual(resolveModelSpecInput(parseModelSpec('mlp:784-64-64-10:relu'), [1, 28, 28]), {
    kind: 'mlp',
    input: [1, 28, 28],
    hidden: [64, 64],
    activation: 'relu',
    classes: 10,
  });
  assert.deepEqual(parseModelSpec('mlp:784-10:tanh'), { kind: 'mlp', input: [784], hidden: [], activation: 'tanh', classes: 10 });
  assert.deepEqual(parseModelSpec('lenet:1x28x28:6-16-120:10'), {
    kind: 'lenet',
    input: [1, 28, 28],
    channels: [6, 16],
    hidden: 120,
    kernel: 5,
    classes: 10,
  });
  assert.deepEqual(parseModelSpec('lenet:1x28x28:6-16-120:10:k3'), {
    kind: 'lenet',
    input: [1, 28, 28],
    channels: [6, 16],
    hidden: 120,
    kernel: 3,
    classes: 10,
  });
  assert.deepEqual(parseModelSpec('vgg11:3x32x32:0.25:10'), { kind: 'vgg11', input: [3, 32, 32], width: 0.25, classes: 10 });
  assert.deepEqual(parseModelSpec('resnet18:3x32x32:0.125:100'), {
    kind: 'resnet18',
    input: [3, 32, 32],
    width: 0.125,
    classes: 100,
  });
  assert.deepEqual(parseModelSpec('densenet40:3x32x32:12:10'), {
    kind: 'densenet40',
    input: [3, 32, 32],
    growth: 12,
    classes: 10,
  });
});

test('JSON spec files and inline JSON give the exact forms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-spec-'));
  try {
    const mlp = { kind: 'mlp', input: [1, 28, 28], hidden: [64, 64], activation: 'relu', classes: 10 };
    const lenet = { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 };
    writeFileSync(join(dir, 'mlp.json'), JSON.stringify(mlp));
    writeFileSync(join(dir, 'lenet.json'), JSON.stringify(lenet));
    assert.deepEqual(parseModelSpec(join(dir, 'mlp.json')), mlp);
    assert.deepEqual(parseModelSpec(join(dir, 'lenet.json')), lenet);
    assert.deepEqual(parseModelSpec(JSON.stringify(lenet)), lenet);
    writeFileSync(
      join(dir, 'bad.json'),
      '{"kind": "lenet", "input": [1, 28, 28], "channels": [6], "hidden": 120, "classes": 10}',
    );
    assert.throws(
      () => parseModelSpec(join(dir, 'bad.json')),
      /bad\.json: "channels" must be a list of 2 positive integers, received an array of 1 value$/,
    );
    // Any readable file may be named: its content never reaches the message.
    writeFileSync(join(dir, 'shadow'), 'root:$6$supersecret:19000:0:99999:7:::\n');
    writeFileSync(join(dir, 'config.json'), '{"kind": "mlp", "api_key": "sk-live-123"}');
    writeFileSync(join(dir, 'list.json'), '["sk-live-456"]');
    for (const [file, message] of [
      ['shadow', 'not a JSON model spec (the file does not parse as JSON; its content is not shown)'],
      ['config.json', 'a field other than kind, input, hidden, activation, classes (field names from the file are not shown)'],
      ['list.json', 'a model spec must be a JSON object, received an array of 1 value'],
    ] as const) {
      assert.throws(
        () => parseModelSpec(join(dir, file)),
        (e: Error) => e.message === `${join(dir, file)}: ${message}` && !/supersecret|sk-live/.test(e.message),
        file,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('model spec errors name the value received', () => {
  assert.throws(
    () => parseModelSpec('mlp:784-x-10'),
    /--model "mlp:784-x-10": layer size must be a positive integer, received "x"/,
  );
  assert.throws(() => parseModelSpec('mlp:784-64-10:gelu'), /activation must be relu or tanh, received "gelu"/);
  assert.throws(() => parseModelSpec('lenet:1x28:6-16-120:10'), /input must be CxHxW, received "1x28"/);
  assert.throws(() => parseModelSpec('lenet:1x28x28:6-16-120:10:k4'), /kernel suffix must be :kK with K odd, received ":k4"/);
  assert.throws(() => parseModelSpec('resnet18:3x32x32:wide:10'), /WIDTH must be a positive number, received "wide"/);
  assert.throws(
    () => parseModelSpec('transformer:1'),
    /--model "transformer:1": not a known model kind .* and not a readable JSON file \(ENOENT\)/,
  );
  assert.throws(
    () => validateModelSpec({ kind: 'mlp', input: [784], hidden: [64], activation: 'relu', classes: 10, dropout: 0.5 }, 'spec'),
    /spec: unknown field "dropout" for kind "mlp"/,
  );
  assert.throws(
    () => validateModelSpec({ kind: 'vgg11', input: [1, 28, 28], width: 1, classes: 10 }, 'spec'),
    /vgg11 needs inputs of at least 32×32 .* received input \[1,28,28\]; pad 28×28 images with --pad 2/,
  );
  assert.throws(
    () => parseModelSpec('lenet:1x3x28:6-16-120:10'),
    /lenet needs inputs of at least 4×4 \(two 2×2 max-pools\), received input \[1,3,28\]/,
  );
  assert.throws(
    () => validateModelSpec({ kind: 'cnn' }, 'spec'),
    /spec: "kind" must be one of mlp, lenet, vgg11, resnet18, densenet40, received "cnn"/,
  );
  assert.throws(
    () => resolveModelSpecInput(parseModelSpec('mlp:784-10'), [3, 32, 32]),
    /model mlp expects 784 input features \(input \[784\]\), but the data has \[3, 32, 32\] = 3072/,
  );
  assert.throws(
    () => resolveModelSpecInput(parseModelSpec('lenet:1x32x32:6-16-120:10'), [1, 28, 28]),
    /expects input \[1, 32, 32\] \(C, H, W\), but the data has \[1, 28, 28\] \(pad 2 with --pad 2\?\)/,
  );
});

test('state_dict names, parameter counts and output shapes of every model', () => {
  const cases: { spec: ModelSpec; size: number; first: string[]; last: string }[] = [
    // 784·64+64 + 64·64+64 + 64·10+10
    {
      spec: { kind: 'mlp', input: [1, 28, 28], hidden: [64, 64], activation: 'relu', classes: 10 },
      size: 55050,
      first: ['1.weight', '1.bias', '3.weight'],
      last: '5.bias',
    },
    // 6·1·25+6 + 16·6·25+16 + 16·7·7·120+120 + 120·10+10
    {
      spec: { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 },
      size: 156 + 2416 + 94200 + 1210,
      first: ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight'],
      last: '9.bias',
    },
    {
      spec: { kind: 'vgg11', input: [3, 32, 32], width: 0.125, classes: 10 },
      size: -1,
      first: ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'features.4.weight'],
      last: 'classifier.bias',
    },
    {
      spec: { kind: 'resnet18', input: [3, 16, 16], width: 0.0625, classes: 10 },
      size: -1,
      first: ['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight'],
      last: 'linear.bias',
    },
    {
      spec: { kind: 'densenet40', input: [3, 8, 8], growth: 3, classes: 10 },
      size: -1,
      first: ['conv1.weight', 'dense1.0.bn.weight', 'dense1.0.bn.bias', 'dense1.0.conv.weight'],
      last: 'linear.bias',
    },
  ];
  for (const { spec, size, first, last } of cases) {
    const net = buildNetwork(spec);
    const names = net.params.map((p) => p.name);
    assert.deepEqual(names.slice(0, first.length), first, spec.kind);
    assert.equal(names[names.length - 1], last, spec.kind);
    if (size > 0) assert.equal(net.size, size, spec.kind);
    assert.equal(
      net.size,
      net.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0),
    );
    const [c, h, w] = spec.input as [number, number, number];
    const { params, buffers } = net.init(0);
    const z = tf.tidy(
      () => net.forward(params, buffers, tf.randomNormal([2, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D, 'eval').logits,
    );
    assert.deepEqual(z.shape, [2, 10], spec.kind);
    assert.ok(Array.from(z.dataSync()).every(Number.isFinite), spec.kind);
    tf.dispose([z, ...params, ...buffers]);
  }
  const vgg = buildNetwork({ kind: 'vgg11', input: [3, 32, 32], width: 1, classes: 10 });
  assert.equal(
    vgg.params.filter((p) => p.name.startsWith('features.') && p.name.endsWith('.weight') && p.shape.length === 4).length,
    8,
  );
  assert.deepEqual(
    vgg.buffers.slice(0, 3).map((b) => b.name),
    ['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked'],
  );
  const resnet = buildNetwork({ kind: 'resnet18', input: [3, 32, 32], width: 1, classes: 10 });
  assert.equal(resnet.size, 11173962); // kuangliu ResNet18() on CIFAR-10: 11,173,962 parameters
  assert.deepEqual(
    resnet.params.filter((p) => p.name.includes('shortcut.0')).map((p) => p.name),
    ['layer2.0.shortcut.0.weight', 'layer3.0.shortcut.0.weight', 'layer4.0.shortcut.0.weight'],
  );
  const vggFull = buildNetwork({ kind: 'vgg11', input: [3, 32, 32], width: 1, classes: 10 });
  assert.equal(vggFull.size, 9231114); // kuangliu VGG('VGG11') on CIFAR-10: 9,231,114 parameters
  const dn = buildNetwork({ kind: 'densenet40', input: [3, 32, 32], growth: 12, classes: 10 });
  assert.equal(dn.params.filter((p) => p.shape.length === 4).length, 39); // 39 convolutions + 1 linear = depth 40
  assert.deepEqual(dn.params.find((p) => p.name === 'linear.weight')!.torchShape, [10, 16 + 3 * 12 * 12]);
});

test('PyTorch default initialisation: U(−1/√fan_in, 1/√fan_in) for weights and biases, BN 1/0, seeded', () => {
  const spec: ModelSpec = { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 };
  const net = buildNetwork(spec);
  const a = net.init(7);
  const b = net.init(7);
  const c = net.init(8);
  net.params.forEach((p, i) => {
    const fanIn =
      p.torchShape.length > 1
        ? p.torchShape.slice(1).reduce((x, y) => x * y, 1)
        : net.params[i - 1]!.torchShape.slice(1).reduce((x, y) => x * y, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const v = Array.from(a.params[i]!.dataSync());
    assert.ok(
      v.every((t) => Math.abs(t) <= bound),
      `${p.name} within ±${bound}`,
    );
    if (v.length >= 1000) {
      const variance = v.reduce((s, t) => s + t * t, 0) / v.length;
      assert.ok(
        Math.abs(variance / ((bound * bound) / 3) - 1) < 0.1,
        `${p.name}: variance ${variance} vs uniform ${(bound * bound) / 3}`,
      );
    }
    assert.deepEqual(Array.from(b.params[i]!.dataSync()), v, `${p.name}: same seed, same weights`);
    assert.notDeepEqual(Array.from(c.params[i]!.dataSync()), v, `${p.name}: other seed, other weights`);
  });
  const bn = buildNetwork({ kind: 'resnet18', input: [3, 8, 8], width: 1 / 16, classes: 2 }).init(0);
  assert.deepEqual(Array.from(bn.params[1]!.dataSync()), [1, 1, 1, 1]); // bn1.weight
  assert.deepEqual(Array.from(bn.params[2]!.dataSync()), [0, 0, 0, 0]); // bn1.bias
  assert.deepEqual(Array.from(bn.buffers[1]!.dataSync()), [1, 1, 1, 1]); // bn1.running_var
  tf.dispose([...a.params, ...b.params, ...c.params, ...bn.params, ...bn.buffers]);
});
