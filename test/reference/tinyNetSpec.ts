/**
 * Tiny test networks described as data, interpreted twice: by tfjs ops (test/curvature/tinyNetworks.ts)
 * and by the float64 dual-number reference (test/reference/referenceCurvature.ts). Layouts follow
 * tfjs: NHWC activations, conv kernels [k, k, in, out], dense [in, out].
 */
export type TinyLayer =
  | { readonly op: 'conv'; readonly out: number; readonly k: number; readonly stride: number; readonly pad: 'same' | 'valid' }
  | { readonly op: 'dense'; readonly out: number }
  | { readonly op: 'relu' }
  | { readonly op: 'tanh' }
  | { readonly op: 'maxpool'; readonly k: number; readonly stride: number }
  | { readonly op: 'avgpool'; readonly k: number; readonly stride: number }
  /** Global average pool over H, W. */
  | { readonly op: 'gap' }
  | { readonly op: 'flatten' }
  /** Flatten in PyTorch's (C, H, W) order. */
  | { readonly op: 'flattenChw' }
  /** BatchNorm in eval mode from elementary ops: (x − μ)·rsqrt(σ² + ε)·γ + β. */
  | { readonly op: 'bn' }
  /** The same BatchNorm through tf.batchNorm (the FusedBatchNorm kernel). */
  | { readonly op: 'bnFused' }
  /** Identity in analysis (eval mode). */
  | { readonly op: 'dropout' }
  /** x + body(x). */
  | { readonly op: 'residual'; readonly body: readonly TinyLayer[] }
  /** concat([x, body(x)], channels) — DenseNet's channel concatenation. */
  | { readonly op: 'concat'; readonly body: readonly TinyLayer[] };

export interface TinyNetSpec {
  readonly kind: 'tiny';
  readonly name: string;
  /** Input [H, W, C]. */
  readonly input: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly TinyLayer[];
}

export const BN_EPSILON = 1e-5;

export interface TinyEntry {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Activation shape: [H, W, C] or [D]. */
export type ActShape = readonly number[];

export function convOutput(h: number, k: number, stride: number, pad: 'same' | 'valid'): { out: number; before: number } {
  if (pad === 'same') {
    const out = Math.ceil(h / stride);
    const total = Math.max(0, (out - 1) * stride + k - h);
    return { out, before: Math.floor(total / 2) };
  }
  return { out: Math.ceil((h - k + 1) / stride), before: 0 };
}

/** Parameters and buffers in order, with the activation shape after each layer. */
export function tinyLayout(spec: TinyNetSpec): { params: TinyEntry[]; buffers: TinyEntry[] } {
  const params: TinyEntry[] = [];
  const buffers: TinyEntry[] = [];
  let counter = 0;
  const walk = (layers: readonly TinyLayer[], shape: ActShape): ActShape => {
    for (const l of layers) shape = step(l, shape);
    return shape;
  };
  const step = (l: TinyLayer, s: ActShape): ActShape => {
    const id = counter++;
    const ch = s[s.length - 1]!;
    switch (l.op) {
      case 'conv': {
        params.push({ name: `${id}.weight`, shape: [l.k, l.k, ch, l.out] }, { name: `${id}.bias`, shape: [l.out] });
        return [convOutput(s[0]!, l.k, l.stride, l.pad).out, convOutput(s[1]!, l.k, l.stride, l.pad).out, l.out];
      }
      case 'dense':
        if (s.length !== 1) throw new Error('dense needs a flat input');
        params.push({ name: `${id}.weight`, shape: [ch, l.out] }, { name: `${id}.bias`, shape: [l.out] });
        return [l.out];
      case 'maxpool':
      case 'avgpool':
        return [convOutput(s[0]!, l.k, l.stride, 'valid').out, convOutput(s[1]!, l.k, l.stride, 'valid').out, ch];
      case 'gap':
        return [ch];
      case 'flatten':
      case 'flattenChw':
        return [s.reduce((a, b) => a * b, 1)];
      case 'bn':
      case 'bnFused':
        params.push({ name: `${id}.weight`, shape: [ch] }, { name: `${id}.bias`, shape: [ch] });
        buffers.push({ name: `${id}.running_mean`, shape: [ch] }, { name: `${id}.running_var`, shape: [ch] });
        return s;
      case 'residual': {
        const out = walk(l.body, s);
        if (out.join() !== s.join()) throw new Error(`residual body changes shape ${s} → ${out}`);
        return s;
      }
      case 'concat': {
        const out = walk(l.body, s);
        return [...s.slice(0, -1), ch + out[out.length - 1]!];
      }
      default:
        return s;
    }
  };
  const out = walk(spec.layers, spec.input);
  if (out.length !== 1 || out[0] !== spec.classes)
    throw new Error(`tiny net ${spec.name} ends in shape ${out}, expected [${spec.classes}]`);
  return { params, buffers };
}
