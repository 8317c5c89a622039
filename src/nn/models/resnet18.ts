import * as tf from '@tensorflow/tfjs-core';
import type { ResNetSpec } from '../network.js';
import { ParameterLayout } from '../parameters.js';
import { makeNetwork, type LayoutNetwork } from '../modelContext.js';
import { relu } from '../layers/activations.js';
import { globalAvgPool } from '../layers/pooling.js';
import { residualAdd } from '../layers/merge.js';
import { scaledWidth } from './vgg11.js';

/**
 * ResNet18, CIFAR variant (He et al. 2016; layout of github.com/kuangliu/pytorch-cifar `ResNet18()`): 3×3 stem, no max-pool,
 * four stages of two BasicBlocks with 64, 128, 256, 512 channels (× `width`) and strides 1, 2, 2, 2, global average pool, linear.
 * BasicBlock: out = relu(bn1(conv1(x))); out = bn2(conv2(out)); out = relu(out + shortcut(x)), where shortcut is the identity,
 * or Sequential(Conv2d 1×1 stride s, BatchNorm2d) when the stride or channel count changes. Convolutions have no bias.
 * (kuangliu uses avg_pool2d(4), equal to the global average for 32×32 inputs; specpipe uses the global average for any size.)
 *
 * state_dict names:
 *   conv1.weight, bn1.{weight,bias,running_mean,running_var,num_batches_tracked},
 *   layer{1..4}.{0,1}.conv1.weight, layer{L}.{B}.bn1.*, layer{L}.{B}.conv2.weight, layer{L}.{B}.bn2.*,
 *   layer{2,3,4}.0.shortcut.0.weight (1×1 conv), layer{2,3,4}.0.shortcut.1.* (BN)  [and layer1.0 if the stem width differs],
 *   linear.{weight,bias}.
 */
export function resnet18Network(spec: ResNetSpec): LayoutNetwork {
  const [cin] = spec.input;
  const layout = new ParameterLayout();
  const stem = scaledWidth(64, spec.width);
  layout.conv('conv1', cin, stem, 3, false);
  layout.batchNorm('bn1', stem);
  const blocks: { prefix: string; stride: number; shortcut: boolean }[] = [];
  let prev = stem;
  [64, 128, 256, 512].forEach((base, stage) => {
    const c = scaledWidth(base, spec.width);
    for (let b = 0; b < 2; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const prefix = `layer${stage + 1}.${b}`;
      layout.conv(`${prefix}.conv1`, prev, c, 3, false);
      layout.batchNorm(`${prefix}.bn1`, c);
      layout.conv(`${prefix}.conv2`, c, c, 3, false);
      layout.batchNorm(`${prefix}.bn2`, c);
      const shortcut = stride !== 1 || prev !== c;
      if (shortcut) {
        layout.conv(`${prefix}.shortcut.0`, prev, c, 1, false);
        layout.batchNorm(`${prefix}.shortcut.1`, c);
      }
      blocks.push({ prefix, stride, shortcut });
      prev = c;
    }
  });
  layout.linear('linear', prev, spec.classes);
  return makeNetwork(spec, layout, (ctx, x) => {
    let y: tf.Tensor4D = relu(ctx.batchNorm('bn1', ctx.conv('conv1', x, 1, 1)));
    for (const { prefix, stride, shortcut } of blocks) {
      let out = relu(ctx.batchNorm(`${prefix}.bn1`, ctx.conv(`${prefix}.conv1`, y, stride, 1)));
      out = ctx.batchNorm(`${prefix}.bn2`, ctx.conv(`${prefix}.conv2`, out, 1, 1));
      const skip = shortcut ? ctx.batchNorm(`${prefix}.shortcut.1`, ctx.conv(`${prefix}.shortcut.0`, y, stride, 0)) : y;
      y = relu(residualAdd(out, skip));
    }
    return ctx.linear('linear', globalAvgPool(y));
  });
}
