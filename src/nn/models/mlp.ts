import type { MlpSpec } from '../network.js';
import { ParameterLayout, shapeSize } from '../parameters.js';
import { makeNetwork, type LayoutNetwork } from '../modelContext.js';
import { flatten } from '../layers/flatten.js';
import { activate } from '../layers/activations.js';

/**
 * Multilayer perceptron, PyTorch `nn.Sequential(nn.Flatten(), nn.Linear(d, h1), act, nn.Linear(h1, h2), act, …, nn.Linear(hk, C))`.
 * state_dict names: the i-th Linear (0-based) sits at Sequential index 1 + 2i → "1.weight", "1.bias", "3.weight", …
 */
export function mlpNetwork(spec: MlpSpec): LayoutNetwork {
  const layout = new ParameterLayout();
  const sizes = [shapeSize(spec.input), ...spec.hidden, spec.classes];
  for (let i = 0; i + 1 < sizes.length; i++) layout.linear(String(1 + 2 * i), sizes[i]!, sizes[i + 1]!);
  return makeNetwork(spec, layout, (ctx, x) => {
    let h = flatten(x);
    for (let i = 0; i + 1 < sizes.length; i++) {
      h = ctx.linear(String(1 + 2 * i), h);
      if (i + 2 < sizes.length) h = activate(h, spec.activation);
    }
    return h;
  });
}
