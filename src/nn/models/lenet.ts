import type { LenetSpec } from '../network.js';
import { ParameterLayout } from '../parameters.js';
import { makeNetwork, type LayoutNetwork } from '../modelContext.js';
import { flatten } from '../layers/flatten.js';
import { relu } from '../layers/activations.js';
import { maxPool } from '../layers/pooling.js';

/**
 * LeNet-style CNN, PyTorch
 * `nn.Sequential(Conv2d(c_in, c1, k, padding=k//2), ReLU, MaxPool2d(2), Conv2d(c1, c2, k, padding=k//2), ReLU, MaxPool2d(2),
 *                Flatten, Linear(c2·⌊H/4⌋·⌊W/4⌋, hidden), ReLU, Linear(hidden, C))`
 * → state_dict names "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias".
 * The Flatten is PyTorch's (C, H, W) order (layers/flatten.ts), so "7.weight" is PyTorch's matrix as is.
 */
export function lenetNetwork(spec: LenetSpec): LayoutNetwork {
  const [cin, h, w] = spec.input;
  const [c1, c2] = spec.channels;
  const k = spec.kernel;
  const pad = Math.floor(k / 2);
  // Spatial size after a 'same'-padded conv (odd k keeps H) and MaxPool2d(2): ⌊(H + 2p − k + 1 − 2)/2⌋ + 1.
  const after = (s: number): number => Math.floor((s + 2 * pad - k + 1 - 2) / 2) + 1;
  const h4 = after(after(h));
  const w4 = after(after(w));
  const layout = new ParameterLayout();
  layout.conv('0', cin, c1, k, true);
  layout.conv('3', c1, c2, k, true);
  layout.linear('7', c2 * h4 * w4, spec.hidden);
  layout.linear('9', spec.hidden, spec.classes);
  // ReLU after the pool: maxpool∘relu = relu∘maxpool exactly (both monotone; the same first
  // argmax wherever the ReLU's derivative is non-zero), and the ReLU's forward, derivative and
  // second-order terms then run on 4× fewer elements.
  return makeNetwork(spec, layout, (ctx, x) => {
    let y = relu(maxPool(ctx.conv('0', x, 1, pad), 2));
    y = relu(maxPool(ctx.conv('3', y, 1, pad), 2));
    return ctx.linear('9', relu(ctx.linear('7', flatten(y))));
  });
}
