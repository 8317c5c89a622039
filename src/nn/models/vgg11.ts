import * as tf from '@tensorflow/tfjs-core';
import type { VggSpec } from '../network.js';
import { ParameterLayout } from '../parameters.js';
import { makeNetwork, type LayoutNetwork } from '../modelContext.js';
import { flatten } from '../layers/flatten.js';
import { relu } from '../layers/activations.js';
import { maxPool } from '../layers/pooling.js';

/** VGG11 configuration (Simonyan & Zisserman 2015, config "A"): channel counts, 'M' = MaxPool2d(2). */
const VGG11: readonly (number | 'M')[] = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

/** Channels after a width multiplier: max(1, round(c · width)). */
export function scaledWidth(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

/**
 * VGG11 with BatchNorm, CIFAR form (as in github.com/kuangliu/pytorch-cifar `VGG('VGG11')`), channels × `width`:
 * `features = nn.Sequential(` for each number c: Conv2d(prev, c, 3, padding=1), BatchNorm2d(c), ReLU; for 'M': MaxPool2d(2) `)`,
 * then Flatten ((C, H, W) order) and `classifier = nn.Linear(C_last·H'·W', classes)` (H' = H/32: 1 for 32×32 inputs).
 *
 * state_dict names (Sequential indices advance by 3 per conv block and 1 per pool):
 *   features.0.{weight,bias} (conv), features.1.{weight,bias,running_mean,running_var,num_batches_tracked} (BN),
 *   features.4 / features.5 (second conv/BN, after the pool at 3), features.8/9, features.11/12, features.15/16,
 *   features.18/19, features.22/23, features.25/26; classifier.{weight,bias}.
 */
export function vgg11Network(spec: VggSpec): LayoutNetwork {
  const [cin, h, w] = spec.input;
  const layout = new ParameterLayout();
  const plan: ({ kind: 'conv'; index: number } | { kind: 'pool' })[] = [];
  let index = 0;
  let prev = cin;
  let hh = h;
  let ww = w;
  for (const item of VGG11) {
    if (item === 'M') {
      plan.push({ kind: 'pool' });
      hh = Math.floor(hh / 2);
      ww = Math.floor(ww / 2);
      index += 1;
    } else {
      const c = scaledWidth(item, spec.width);
      layout.conv(`features.${index}`, prev, c, 3, true);
      layout.batchNorm(`features.${index + 1}`, c);
      plan.push({ kind: 'conv', index });
      prev = c;
      index += 3;
    }
  }
  if (hh < 1 || ww < 1) {
    throw new RangeError(`vgg11 needs inputs of at least 32×32 (five 2×2 max-pools), received ${h}×${w}`);
  }
  layout.linear('classifier', prev * hh * ww, spec.classes);
  return makeNetwork(spec, layout, (ctx, x) => {
    let y: tf.Tensor4D = x;
    plan.forEach((step, k) => {
      if (step.kind === 'pool') {
        // ReLU of the conv before this pool, applied after it: maxpool∘relu = relu∘maxpool (both
        // monotone), and the ReLU and its derivatives then run on 4× fewer elements.
        y = plan[k - 1]?.kind === 'conv' ? relu(maxPool(y, 2)) : maxPool(y, 2);
        return;
      }
      y = ctx.batchNorm(`features.${step.index + 1}`, ctx.conv(`features.${step.index}`, y, 1, 1));
      if (plan[k + 1]?.kind !== 'pool') y = relu(y);
    });
    return ctx.linear('classifier', flatten(y));
  });
}
