import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec, Network, TensorSpec } from '../../src/nn/network.js';
import type { Split } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/random.js';
import { BN_EPSILON, tinyLayout, type TinyLayer, type TinyNetSpec } from '../reference/tinyNetSpec.js';
import type { NetworkBuilderRef } from '../../src/curvature/networkBuilder.js';

/**
 * Tiny networks from TinyNetSpec data, built from plain tfjs ops (the same ops specpipe's layers
 * use), implementing the Network contract. Exported `buildTinyNetwork` is what curvature worker
 * threads call to rebuild them.
 */
export function buildTinyNetwork(spec: TinyNetSpec): Network {
  const layout = tinyLayout(spec);
  const asSpec = (e: { name: string; shape: readonly number[] }): TensorSpec => ({
    name: e.name,
    shape: e.shape,
    torchShape: e.shape,
  });
  const params = layout.params.map(asSpec);
  const buffers = layout.buffers.map(asSpec);
  const size = params.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
  return {
    spec: spec as unknown as ModelSpec,
    params,
    buffers,
    size,
    forward(theta, bufs, x) {
      let pi = 0;
      let bi = 0;
      const next = (): tf.Tensor => theta[pi++]!;
      const nextBuffer = (): tf.Tensor => bufs[bi++]!;
      const run = (layers: readonly TinyLayer[], a: tf.Tensor): tf.Tensor => {
        for (const l of layers) a = layer(l, a);
        return a;
      };
      const layer = (l: TinyLayer, a: tf.Tensor): tf.Tensor => {
        switch (l.op) {
          case 'conv': {
            const w = next() as tf.Tensor4D;
            const b = next();
            return tf.add(tf.conv2d(a as tf.Tensor4D, w, l.stride, l.pad), b);
          }
          case 'dense': {
            const w = next() as tf.Tensor2D;
            const b = next();
            return tf.add(tf.matMul(a as tf.Tensor2D, w), b);
          }
          case 'relu':
            return tf.relu(a);
          case 'tanh':
            return tf.tanh(a);
          case 'maxpool':
            return tf.maxPool(a as tf.Tensor4D, l.k, l.stride, 'valid');
          case 'avgpool':
            return tf.avgPool(a as tf.Tensor4D, l.k, l.stride, 'valid');
          case 'gap':
            return tf.mean(a, [1, 2]);
          case 'flatten':
            return tf.reshape(a, [a.shape[0]!, -1]);
          case 'flattenChw':
            return tf.reshape(tf.transpose(a, [0, 3, 1, 2]), [a.shape[0]!, -1]);
          case 'bn': {
            const gamma = next();
            const beta = next();
            const mean = nextBuffer();
            const variance = nextBuffer();
            return tf.add(tf.mul(tf.mul(tf.sub(a, mean), tf.rsqrt(tf.add(variance, tf.scalar(BN_EPSILON)))), gamma), beta);
          }
          case 'bnFused': {
            const gamma = next();
            const beta = next();
            const mean = nextBuffer();
            const variance = nextBuffer();
            return tf.batchNorm(a, mean, variance, beta, gamma, BN_EPSILON);
          }
          case 'dropout':
            return a;
          case 'residual':
            return tf.add(a, run(l.body, a));
          case 'concat':
            return tf.concat([a, run(l.body, a)], a.rank - 1);
        }
      };
      return { logits: run(spec.layers, x) as tf.Tensor2D };
    },
    init(seed) {
      const rng = new Rng(seed);
      return {
        params: params.map((p) => tf.tensor(randomValues(p.shape, rng, 0.5), [...p.shape])),
        buffers: buffers.map((b) => tf.tensor(randomBuffer(b.name, b.shape, rng), [...b.shape])),
      };
    },
  };
}

/** How worker threads rebuild a tiny network. */
export function tinyBuilder(spec: TinyNetSpec): NetworkBuilderRef {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return { module: new URL(`./tinyNetworks${ext}`, import.meta.url).href, exportName: 'buildTinyNetwork', spec };
}

function randomValues(shape: readonly number[], rng: Rng, scale: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

function randomBuffer(name: string, shape: readonly number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  // running variances positive, running means small
  return Float32Array.from({ length: n }, () => (name.endsWith('running_var') ? 0.5 + rng.uniform() : 0.2 * rng.normal()));
}

/** A random split of n samples in NCHW [0,1]-ish values (already "preprocessed"), labels in [0, C). */
export function randomSplit(spec: TinyNetSpec, n: number, seed: number): Split {
  const rng = new Rng(seed);
  const [h, w, c] = spec.input;
  const images = Float32Array.from({ length: n * c * h * w }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(spec.classes));
  return { images, shape: [n, c, h, w], labels };
}

/** NCHW split → NHWC samples (what the reference consumes). */
export function toNhwc(split: Split): Float32Array {
  const [n, c, h, w] = split.shape;
  const out = new Float32Array(split.images.length);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let j = 0; j < h * w; j++) out[(i * h * w + j) * c + ch] = split.images[(i * c + ch) * h * w + j]!;
  return out;
}

/** The tiny nets of the curvature tests: together they cover every supported layer, with and without BatchNorm. */
export const TINY_NETWORKS: readonly TinyNetSpec[] = [
  {
    kind: 'tiny',
    name: 'mlp(tanh,relu,dropout)',
    input: [2, 2, 3],
    classes: 3,
    layers: [
      { op: 'flatten' },
      { op: 'dense', out: 6 },
      { op: 'tanh' },
      { op: 'dense', out: 5 },
      { op: 'relu' },
      { op: 'dropout' },
      { op: 'dense', out: 3 },
    ],
  },
  {
    kind: 'tiny',
    name: 'cnn(conv same, maxpool, conv stride2)',
    input: [6, 6, 2],
    classes: 3,
    layers: [
      { op: 'conv', out: 3, k: 3, stride: 1, pad: 'same' },
      { op: 'tanh' },
      { op: 'maxpool', k: 2, stride: 2 },
      { op: 'conv', out: 4, k: 3, stride: 2, pad: 'same' },
      { op: 'relu' },
      { op: 'flatten' },
      { op: 'dense', out: 3 },
    ],
  },
  {
    kind: 'tiny',
    name: 'cnn(conv valid stride2, avgpool, gap)',
    input: [7, 7, 1],
    classes: 3,
    layers: [
      { op: 'conv', out: 2, k: 3, stride: 2, pad: 'valid' },
      { op: 'relu' },
      { op: 'avgpool', k: 2, stride: 1 },
      { op: 'tanh' },
      { op: 'gap' },
      { op: 'dense', out: 3 },
    ],
  },
  {
    kind: 'tiny',
    name: 'resnet-densenet(bn, residual, concat)',
    input: [5, 5, 2],
    classes: 3,
    layers: [
      { op: 'conv', out: 3, k: 3, stride: 1, pad: 'same' },
      { op: 'bn' },
      { op: 'relu' },
      { op: 'residual', body: [{ op: 'conv', out: 3, k: 3, stride: 1, pad: 'same' }, { op: 'bnFused' }, { op: 'tanh' }] },
      { op: 'concat', body: [{ op: 'bn' }, { op: 'tanh' }, { op: 'conv', out: 2, k: 1, stride: 1, pad: 'valid' }] },
      { op: 'gap' },
      { op: 'dense', out: 3 },
    ],
  },
  {
    kind: 'tiny',
    name: 'mlp(bn)',
    input: [1, 1, 5],
    classes: 4,
    layers: [{ op: 'flatten' }, { op: 'dense', out: 6 }, { op: 'bn' }, { op: 'tanh' }, { op: 'dense', out: 4 }],
  },
];

/** The network with a spy on `forward`: `forwards` counts the forward passes run since the last reset. */
export function countingForwards(network: Network): { network: Network; forwards: number } {
  const spy = {
    forwards: 0,
    network: {
      ...network,
      forward: (...args: Parameters<Network['forward']>) => {
        spy.forwards++;
        return network.forward(...args);
      },
    },
  };
  return spy;
}
