import * as tf from '@tensorflow/tfjs-core';
import type { MaxPoolRouteAdjoint } from './maxPoolRoute.js';
import { TANH_GRAD_KERNEL, TANH_GRAD2_KERNEL } from '../backend/native/elementwiseKernels.js';
import { tanhGrad, tanhGrad2, tanhGrad3 } from './tanhDerivatives.js';

/**
 * Gradient rules for every kernel specpipe's layers and losses use, written so that tfjs's
 * reverse mode can be applied to them again (Hess·v = ∇_θ[(∇_θ ℓ)·v]).
 *
 * Why a full set: the Node builds of @tensorflow/tfjs-core (tf-core.node.js, the only entry
 * Node loads) register NO gradients at all — tfjs's gradient configs ship only in the per-file
 * ESM tree that the @tensorflow/tfjs union package imports, and that tree cannot be loaded by
 * Node directly (extensionless imports). So specpipe registers its own, ported from tfjs 4.22
 * (Apache-2.0, tfjs-core/src/gradients/*) with these second-order corrections:
 * - no rule reads a kernel's saved *output*: tfjs saves outputs as clones recorded on the tape
 *   before the producing kernel's node, so an outer gradient cannot see y's dependence on x and
 *   grad-of-grad is silently wrong (tanh MLP: relative error 1.4, issue 3). Tanh, Sigmoid, Exp,
 *   Softmax, LogSoftmax, Max and Min save their input and recompute y.
 * - rules for kernels that only appear inside gradients (Conv2DBackpropFilter, MaxPoolGrad,
 *   AvgPoolGrad) and zero rules for piecewise-constant kernels (comparisons, Step, Floor, …).
 */
type Saved = tf.Tensor[];
type Attrs = Record<string, unknown>;
type Rule = (dy: tf.Tensor, saved: Saved, attrs: Attrs) => Record<string, () => tf.Tensor>;

function rule(kernelName: string, inputsToSave: string[], gradFunc: Rule, outputsToSave?: boolean[]): tf.GradConfig {
  return {
    kernelName,
    inputsToSave,
    ...(outputsToSave ? { outputsToSave } : {}),
    gradFunc: (dy, saved, attrs) => gradFunc(dy as tf.Tensor, saved as Saved, attrs as unknown as Attrs),
  };
}

/** Sums `g` over the axes broadcasting expanded, back to `shape`. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
}

function zeroRule(kernelName: string, inputs: string[]): tf.GradConfig {
  return rule(kernelName, inputs, (_dy, saved) => {
    const out: Record<string, () => tf.Tensor> = {};
    inputs.forEach((name, k) => {
      out[name] = () => tf.zeros(saved[k]!.shape, 'float32');
    });
    return out;
  });
}

const f32 = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

type Pair = [number, number] | number;
type Pad = 'valid' | 'same' | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

function reductionGradShape(x: tf.Tensor, axis: unknown): number[] {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return shape;
}

/** Gradient of max/min reductions: dy routed to every position equal to the extremum (tfjs's rule). */
function extremumRule(kernelName: 'Max' | 'Min'): tf.GradConfig {
  return rule(kernelName, ['x'], (dy, [x], attrs) => ({
    x: () => {
      const axes = kernelName === 'Max' ? attrs['reductionIndices'] : attrs['axis'];
      const keep = reductionGradShape(x!, axes);
      const ax = tf.util.parseAxisParam(axes as number | number[], x!.shape);
      const y = kernelName === 'Max' ? tf.max(x!, ax, true) : tf.min(x!, ax, true);
      return tf.mul(tf.reshape(dy, keep), tf.cast(tf.equal(x!, y), 'float32'));
    },
  }));
}

/** Every gradient rule specpipe registers (see the module comment). */
export function gradientConfigs(routeMaxPool: MaxPoolRouteAdjoint): tf.GradConfig[] {
  return [
    // ----- elementwise binary (broadcasting) -----
    rule('Add', ['a', 'b'], (dy, [a, b]) => ({ a: () => unbroadcast(dy, a!.shape), b: () => unbroadcast(dy, b!.shape) })),
    rule('Sub', ['a', 'b'], (dy, [a, b]) => ({ a: () => unbroadcast(dy, a!.shape), b: () => unbroadcast(tf.neg(dy), b!.shape) })),
    rule('Multiply', ['a', 'b'], (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, f32(b!)), a!.shape),
      b: () => unbroadcast(tf.mul(dy, f32(a!)), b!.shape),
    })),
    rule('RealDiv', ['a', 'b'], (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy, f32(b!)), a!.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy, f32(a!)), tf.square(f32(b!)))), b!.shape),
    })),
    rule('SquaredDifference', ['a', 'b'], (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, tf.mul(tf.scalar(2), tf.sub(a!, b!))), a!.shape),
      b: () => unbroadcast(tf.mul(dy, tf.mul(tf.scalar(2), tf.sub(b!, a!))), b!.shape),
    })),
    rule('Pow', ['a', 'b'], (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, tf.mul(f32(b!), tf.pow(a!, tf.sub(f32(b!), tf.scalar(1))))), a!.shape),
      b: () => {
        const logA = tf.where(tf.greater(a!, 0), tf.log(a!), tf.zerosLike(a!));
        return unbroadcast(tf.mul(dy, tf.mul(tf.pow(a!, b!), logA)), b!.shape);
      },
    })),
    rule('Maximum', ['a', 'b'], (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, tf.cast(tf.greaterEqual(a!, b!), 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy, tf.cast(tf.less(a!, b!), 'float32')), b!.shape),
    })),
    rule('Minimum', ['a', 'b'], (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, tf.cast(tf.lessEqual(a!, b!), 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy, tf.cast(tf.greater(a!, b!), 'float32')), b!.shape),
    })),
    {
      kernelName: 'AddN',
      saveAllInputs: true,
      gradFunc: (dy, saved) => {
        const out: Record<string, () => tf.Tensor> = {};
        (saved as Saved).forEach((_, i) => {
          out[i] = () => tf.clone(dy as tf.Tensor);
        });
        return out;
      },
    },
    // ----- elementwise unary -----
    rule('Neg', [], (dy) => ({ x: () => tf.neg(dy) })),
    rule('Identity', [], (dy) => ({ x: () => f32(dy) })),
    rule('Cast', [], (dy) => ({ x: () => tf.clone(dy) })),
    rule('Square', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.mul(f32(x!), tf.scalar(2))) })),
    rule('Sqrt', ['x'], (dy, [x]) => ({ x: () => tf.div(dy, tf.mul(tf.sqrt(f32(x!)), tf.scalar(2))) })),
    // d/dx x^(−1/2) = −½ x^(−3/2) = −½ rsqrt(x)³
    rule('Rsqrt', ['x'], (dy, [x]) => ({
      x: () => {
        const r = tf.rsqrt(x!);
        return tf.mul(dy, tf.mul(tf.scalar(-0.5), tf.mul(r, tf.square(r))));
      },
    })),
    rule('Reciprocal', ['x'], (dy, [x]) => ({ x: () => tf.div(dy, tf.neg(tf.square(x!))) })),
    rule('Abs', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.step(f32(x!), -1)) })),
    rule('Log', ['x'], (dy, [x]) => ({ x: () => tf.div(dy, f32(x!)) })),
    rule('Log1p', ['x'], (dy, [x]) => ({ x: () => tf.div(dy, tf.add(x!, tf.scalar(1))) })),
    rule('Exp', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.exp(x!)) })),
    rule('Expm1', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.exp(x!)) })),
    // dy·(1 − tanh²x): one fused kernel where registered, else Multiply(dy, Sub(1, Square(Tanh(x)))) (tanhDerivatives.ts)
    rule('Tanh', ['x'], (dy, [x]) => ({ x: () => tanhGrad(dy, x!) })),
    // The fused kernels' own rules (only reached where they are registered): see tanhDerivatives.ts.
    rule(TANH_GRAD_KERNEL, ['dy', 'x'], (g, [dy, x]) => ({ dy: () => tanhGrad(g, x!), x: () => tanhGrad2(g, dy!, x!) })),
    rule(TANH_GRAD2_KERNEL, ['g', 'dy', 'x'], (h, [g, dy, x]) => ({
      g: () => tanhGrad2(h, dy!, x!),
      dy: () => tanhGrad2(h, g!, x!),
      x: () => tanhGrad3(h, g!, dy!, x!),
    })),
    rule('Sigmoid', ['x'], (dy, [x]) => ({
      x: () => {
        const s = tf.sigmoid(x!);
        return tf.mul(dy, tf.mul(s, tf.sub(tf.scalar(1), s)));
      },
    })),
    rule('Softplus', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.sigmoid(x!)) })),
    rule('Relu', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.cast(tf.step(x!), 'float32')) })),
    rule('Relu6', ['x'], (dy, [x]) => ({
      x: () => tf.mul(dy, tf.cast(tf.mul(tf.cast(tf.lessEqual(x!, 6), 'float32'), tf.step(x!)), 'float32')),
    })),
    rule('LeakyRelu', ['x'], (dy, [x], attrs) => ({
      x: () => tf.where(tf.greater(x!, 0), dy, tf.mul(dy, tf.scalar(attrs['alpha'] as number))),
    })),
    rule('ClipByValue', ['x'], (dy, [x], attrs) => ({
      x: () =>
        tf.where(
          tf.logicalAnd(tf.greaterEqual(x!, attrs['clipValueMin'] as number), tf.lessEqual(x!, attrs['clipValueMax'] as number)),
          dy,
          tf.zerosLike(dy),
        ),
    })),
    rule('Select', ['condition'], (dy, [condition]) => ({
      condition: () => tf.cast(tf.zerosLike(condition!), 'float32'),
      t: () => tf.mul(dy, tf.cast(condition!, dy.dtype)),
      e: () => tf.mul(dy, tf.cast(tf.logicalNot(condition!), dy.dtype)),
    })),
    // ----- softmax family -----
    // softmax: dx = y ⊙ (dy − Σ_dim dy ⊙ y), y recomputed from the logits
    rule('Softmax', ['logits'], (dy, [logits], attrs) => ({
      logits: () => {
        const dim = attrs['dim'] as number;
        const y = tf.softmax(logits!, dim);
        const dyY = tf.mul(dy, y);
        return tf.sub(dyY, tf.mul(tf.sum(dyY, [dim], true), y));
      },
    })),
    // log-softmax: dx = dy − softmax(x) Σ_axis dy
    rule('LogSoftmax', ['logits'], (dy, [logits], attrs) => ({
      logits: () => {
        const axis = attrs['axis'] as number;
        return tf.sub(dy, tf.mul(tf.sum(dy, axis, true), tf.softmax(logits!, axis)));
      },
    })),
    // ----- reductions -----
    rule('Sum', ['x'], (dy, [x], attrs) => ({
      x: () => tf.mul(tf.reshape(dy, reductionGradShape(x!, attrs['axis'])), tf.ones(x!.shape, 'float32')),
    })),
    rule('Mean', ['x'], (dy, [x], attrs) => ({
      x: () => {
        const keep = reductionGradShape(x!, attrs['axis']);
        const reduceSize = tf.util.sizeFromShape(x!.shape) / tf.util.sizeFromShape(keep);
        return tf.div(tf.mul(tf.reshape(dy, keep), tf.ones(x!.shape, 'float32')), tf.scalar(reduceSize));
      },
    })),
    extremumRule('Max'),
    extremumRule('Min'),
    // ----- shape -----
    rule('Reshape', ['x'], (dy, [x]) => ({ x: () => tf.reshape(dy, x!.shape) })),
    rule('ExpandDims', ['input'], (dy, [input]) => ({ input: () => tf.reshape(dy, input!.shape) })),
    rule('Squeeze', ['x'], (dy, [x]) => ({ x: () => tf.reshape(dy, x!.shape) })),
    rule('Transpose', [], (dy, _s, attrs) => ({
      x: () => tf.transpose(dy, tf.backend_util.getUndoAxesPermutation(attrs['perm'] as number[])),
    })),
    {
      kernelName: 'Concat',
      saveAllInputs: true,
      gradFunc: (dy, saved, attrs) => {
        const shapes = (saved as Saved).map((t) => t.shape);
        const axis = tf.util.parseAxisParam((attrs as unknown as { axis: number }).axis, shapes[0]!)[0]!;
        const parts = tf.split(
          dy as tf.Tensor,
          shapes.map((s) => s[axis]!),
          axis,
        );
        return parts.map((t) => () => t) as unknown as Record<string, () => tf.Tensor>;
      },
    },
    rule('SplitV', [], (dy, _s, attrs) => ({ x: () => tf.concat(dy as unknown as tf.Tensor[], attrs['axis'] as number) })),
    {
      kernelName: 'Pack',
      saveAllInputs: true,
      gradFunc: (dy, _saved, attrs) => {
        const parts = tf.unstack(dy as tf.Tensor, (attrs as unknown as { axis: number }).axis);
        return parts.map((t) => () => t) as unknown as Record<string, () => tf.Tensor>;
      },
    },
    rule('Unpack', [], (dy, _s, attrs) => ({ value: () => tf.stack(dy as unknown as tf.Tensor[], attrs['axis'] as number) })),
    rule('Slice', ['x'], (dy, [x], attrs) => ({
      x: () => {
        const [begin, size] = tf.slice_util.parseSliceParams(x!, attrs['begin'] as number[], attrs['size'] as number[]);
        return tf.pad(
          dy,
          begin!.map((b, i) => [b, x!.shape[i]! - b - size![i]!] as [number, number]),
        );
      },
    })),
    rule('PadV2', ['x'], (dy, [x], attrs) => ({
      x: () =>
        tf.slice(
          dy,
          (attrs['paddings'] as [number, number][]).map((p) => p[0]),
          x!.shape,
        ),
    })),
    rule('Tile', ['x'], (dy, [x], attrs) => ({
      x: () => {
        // Σ over the reps copies: reshape dy to [r0, s0, r1, s1, …] and sum the rep axes.
        const reps = attrs['reps'] as number[];
        const split: number[] = [];
        x!.shape.forEach((s, i) => split.push(reps[i]!, s));
        return tf.sum(
          tf.reshape(dy, split),
          reps.map((_, i) => 2 * i),
        );
      },
    })),
    rule('BroadcastTo', [], (dy, _s, attrs) => ({
      x: () => {
        const inShape = attrs['inputShape'] as number[];
        const outShape = attrs['shape'] as number[];
        const axes: number[] = [];
        outShape.forEach((s, i) => {
          if (inShape[i] !== s) axes.push(i);
        });
        return tf.reshape(axes.length > 0 ? tf.sum(dy, axes, true) : dy, inShape);
      },
    })),
    rule('OneHot', ['indices'], (_dy, [indices]) => ({ indices: () => tf.zeros(indices!.shape, 'float32') })),
    // ----- linear algebra -----
    // C = op(A) op(B): dA and dB are products with dy (tfjs BatchMatMul_grad, all four transpose cases)
    rule('BatchMatMul', ['a', 'b'], (dy, [a, b], attrs) => {
      const ta = attrs['transposeA'] as boolean;
      const tb = attrs['transposeB'] as boolean;
      if (!ta && !tb) return { a: () => tf.matMul(dy, b!, false, true), b: () => tf.matMul(a!, dy, true, false) };
      if (!ta && tb) return { a: () => tf.matMul(dy, b!, false, false), b: () => tf.matMul(dy, a!, true, false) };
      if (ta && !tb) return { a: () => tf.matMul(b!, dy, false, true), b: () => tf.matMul(a!, dy, false, false) };
      return { a: () => tf.matMul(b!, dy, true, true), b: () => tf.matMul(dy, a!, true, true) };
    }),
    // ----- convolution -----
    rule('Conv2D', ['x', 'filter'], (dy, [x, filter], attrs) => {
      const dilations = attrs['dilations'] as Pair;
      if (!tf.backend_util.tupleValuesAreOne(dilations)) {
        throw new Error(`gradient of conv2d: dilations other than 1 are not supported, received ${String(dilations)}`);
      }
      const strides = attrs['strides'] as Pair;
      const pad = attrs['pad'] as Pad;
      const fmt = attrs['dataFormat'] as 'NHWC' | 'NCHW';
      return {
        x: () =>
          tf.conv2dTranspose(
            dy as tf.Tensor4D,
            filter as tf.Tensor4D,
            x!.shape as [number, number, number, number],
            strides,
            pad,
          ),
        filter: () =>
          conv2dBackpropFilter(
            x as tf.Tensor4D,
            dy as tf.Tensor4D,
            filter!.shape as [number, number, number, number],
            strides,
            pad,
            fmt,
          ),
      };
    }),
    // dx = conv2DBackpropInput(dy, W) is bilinear: ∂/∂dy ⟨ddx, dx⟩ = conv2d(ddx, W), ∂/∂W = backpropFilter(ddx, dy)
    rule('Conv2DBackpropInput', ['dy', 'filter'], (ddx, [dy, filter], attrs) => {
      const strides = attrs['strides'] as Pair;
      const pad = attrs['pad'] as Pad;
      const fmt = attrs['dataFormat'] as 'NHWC' | 'NCHW';
      const rounding = attrs['dimRoundingMode'] as Rounding;
      return {
        dy: () => tf.conv2d(ddx as tf.Tensor4D, filter as tf.Tensor4D, strides, pad, fmt, 1, rounding),
        filter: () =>
          conv2dBackpropFilter(
            ddx as tf.Tensor4D,
            dy as tf.Tensor4D,
            filter!.shape as [number, number, number, number],
            strides,
            pad,
            fmt,
            rounding,
          ),
      };
    }),
    // dW = backpropFilter(x, dy) is bilinear: ∂/∂x ⟨ddW, dW⟩ = backpropInput(dy, ddW), ∂/∂dy = conv2d(x, ddW)
    rule('Conv2DBackpropFilter', ['x', 'dy'], (ddw, [x, dy], attrs) => {
      const strides = attrs['strides'] as Pair;
      const pad = attrs['pad'] as Pad;
      const fmt = attrs['dataFormat'] as 'NHWC' | 'NCHW';
      const rounding = attrs['dimRoundingMode'] as Rounding;
      return {
        x: () =>
          tf.conv2dTranspose(
            dy as tf.Tensor4D,
            ddw as tf.Tensor4D,
            x!.shape as [number, number, number, number],
            strides,
            pad,
            rounding,
          ),
        dy: () => tf.conv2d(x as tf.Tensor4D, ddw as tf.Tensor4D, strides, pad, fmt, 1, rounding),
      };
    }),
    // ----- pooling -----
    rule(
      'MaxPool',
      ['x'],
      (dy, [x, y], attrs) => ({
        x: () => maxPoolGradKernel(dy, x!, y!, attrs),
      }),
      [true],
    ),
    // MaxPoolGrad routes dy to each window's first maximum: linear in dy, piecewise constant in x.
    rule('MaxPoolGrad', ['dy', 'input', 'output'], (ddx, [, input, output], attrs) => ({
      dy: () =>
        routeMaxPool(
          ddx as tf.Tensor4D,
          input as tf.Tensor4D,
          output as tf.Tensor4D,
          attrs['filterSize'] as Pair,
          attrs['strides'] as Pair,
          attrs['pad'] as Pad,
          attrs['dimRoundingMode'] as Rounding,
        ),
      input: () => tf.zerosLike(input!),
      output: () => tf.zerosLike(output!),
    })),
    rule('AvgPool', ['x'], (dy, [x], attrs) => ({
      x: () => avgPoolGradKernel(dy, x!, attrs),
    })),
    // AvgPoolGrad is AvgPool's transpose (linear in dy): ∂/∂dy ⟨ddx, AvgPoolGrad(dy)⟩ = avgPool(ddx).
    // Exact for 'valid' padding (every specpipe model). With 'same' padding tfjs's own AvgPoolGrad
    // divides by the full window while AvgPool divides by the in-image count, so tfjs's first-order
    // avg-pool gradient is already off at the borders there.
    rule('AvgPoolGrad', ['dy', 'input'], (ddx, [, input], attrs) => ({
      dy: () => tf.avgPool(ddx as tf.Tensor4D, attrs['filterSize'] as Pair, attrs['strides'] as Pair, attrs['pad'] as Pad),
      input: () => tf.zerosLike(input!),
    })),
    // ----- batch norm (tf.batchNorm) -----
    rule('FusedBatchNorm', ['x', 'mean', 'variance', 'scale'], (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const eps = attrs['varianceEpsilon'] as number;
      const s = scale ?? tf.scalar(1);
      const inv = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      const xc = tf.sub(x, mean);
      return {
        x: () => tf.mul(tf.mul(dy, inv), s),
        mean: () => unbroadcast(tf.neg(tf.mul(tf.mul(dy, s), inv)), mean.shape),
        variance: () =>
          unbroadcast(tf.mul(tf.mul(tf.mul(dy, s), xc), tf.mul(tf.scalar(-0.5), tf.mul(inv, tf.square(inv)))), variance.shape),
        scale: () => unbroadcast(tf.mul(dy, tf.mul(xc, inv)), (scale ?? mean).shape),
        offset: () => unbroadcast(dy, mean.shape),
      };
    }),
    // ----- piecewise constant: zero gradient -----
    zeroRule('Step', ['x']),
    zeroRule('Sign', ['x']),
    zeroRule('Floor', ['x']),
    zeroRule('Ceil', ['x']),
    zeroRule('Round', ['x']),
    zeroRule('ZerosLike', ['x']),
    zeroRule('OnesLike', ['x']),
    zeroRule('Equal', ['a', 'b']),
    zeroRule('NotEqual', ['a', 'b']),
    zeroRule('Less', ['a', 'b']),
    zeroRule('LessEqual', ['a', 'b']),
    zeroRule('Greater', ['a', 'b']),
    zeroRule('GreaterEqual', ['a', 'b']),
    zeroRule('LogicalAnd', ['a', 'b']),
    zeroRule('LogicalOr', ['a', 'b']),
    zeroRule('LogicalNot', ['x']),
  ];
}

export type { MaxPoolRouteAdjoint };

function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: Pair,
  pad: Pad,
  dataFormat: 'NHWC' | 'NCHW',
  dimRoundingMode?: Rounding,
): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides,
    pad,
    dataFormat,
    dimRoundingMode,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

function maxPoolGradKernel(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, attrs: Attrs): tf.Tensor {
  return tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, {
    filterSize: attrs['filterSize'],
    strides: attrs['strides'],
    pad: attrs['pad'],
    dimRoundingMode: attrs['dimRoundingMode'],
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function avgPoolGradKernel(dy: tf.Tensor, x: tf.Tensor, attrs: Attrs): tf.Tensor {
  return tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, {
    filterSize: attrs['filterSize'],
    strides: attrs['strides'],
    pad: attrs['pad'],
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
