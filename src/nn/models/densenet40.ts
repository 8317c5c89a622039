import * as tf from '@tensorflow/tfjs-core';
import type { DenseNetSpec } from '../network.js';
import { ParameterLayout } from '../parameters.js';
import { makeNetwork, type LayoutNetwork } from '../modelContext.js';
import { relu } from '../layers/activations.js';
import { avgPool, globalAvgPool } from '../layers/pooling.js';
import { channelConcat } from '../layers/merge.js';

/** DenseNet-40: depth 40 = 3 dense blocks × 12 layers + stem + 2 transitions + classifier (Huang et al. 2017, Table/Sec. 4). */
export const DENSENET40_LAYERS_PER_BLOCK = 12;

/**
 * DenseNet-40 (Huang et al. 2017, the CIFAR "DenseNet (L = 40, k = 12)" without bottleneck or compression), growth k = `growth`:
 * stem Conv2d(c_in, 16k/12, 3, padding=1) (16 channels for k = 12); three dense blocks of 12 layers, each layer
 * x ← cat(x, Conv3×3(relu(BN(x)))) adding k channels; between blocks a transition BN → ReLU → Conv1×1 (same channels) → AvgPool2d(2);
 * then BN → ReLU → global average pool → Linear. Convolutions have no bias.
 *
 * state_dict names (PyTorch modules `conv1`, `dense{b}` = Sequential of layers with `bn`, `conv`, `trans{b}` with `bn`, `conv`,
 * final `bn`, `linear`):
 *   conv1.weight;
 *   dense{1,2,3}.{0..11}.bn.{weight,bias,running_mean,running_var,num_batches_tracked}, dense{B}.{i}.conv.weight;
 *   trans{1,2}.bn.*, trans{1,2}.conv.weight;
 *   bn.*; linear.{weight,bias}.
 */
export function densenet40Network(spec: DenseNetSpec): LayoutNetwork {
  const [cin] = spec.input;
  const k = spec.growth;
  const layout = new ParameterLayout();
  let c = Math.max(1, Math.round((16 * k) / 12));
  layout.conv('conv1', cin, c, 3, false);
  const transitions: number[] = [];
  for (let b = 1; b <= 3; b++) {
    for (let i = 0; i < DENSENET40_LAYERS_PER_BLOCK; i++) {
      layout.batchNorm(`dense${b}.${i}.bn`, c);
      layout.conv(`dense${b}.${i}.conv`, c, k, 3, false);
      c += k;
    }
    if (b < 3) {
      layout.batchNorm(`trans${b}.bn`, c);
      layout.conv(`trans${b}.conv`, c, c, 1, false);
      transitions.push(c);
    }
  }
  layout.batchNorm('bn', c);
  layout.linear('linear', c, spec.classes);
  return makeNetwork(spec, layout, (ctx, x) => {
    let y: tf.Tensor4D = ctx.conv('conv1', x, 1, 1);
    for (let b = 1; b <= 3; b++) {
      for (let i = 0; i < DENSENET40_LAYERS_PER_BLOCK; i++) {
        const p = `dense${b}.${i}`;
        y = channelConcat([y, ctx.conv(`${p}.conv`, relu(ctx.batchNorm(`${p}.bn`, y)), 1, 1)]);
      }
      if (b < 3) y = avgPool(ctx.conv(`trans${b}.conv`, relu(ctx.batchNorm(`trans${b}.bn`, y)), 1, 0), 2);
    }
    return ctx.linear('linear', globalAvgPool(relu(ctx.batchNorm('bn', y))));
  });
}
