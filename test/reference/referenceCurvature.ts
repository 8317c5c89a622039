import { DualTape } from './dualTape.js';
import { BN_EPSILON, convOutput, tinyLayout, type TinyLayer, type TinyNetSpec } from './tinyNetSpec.js';

/**
 * Float64 reference curvature of a tiny network on a few samples, by forward-over-reverse
 * dual-number AD (dualTape.ts) — independent of tfjs. Formulas (math.md §1–2):
 *   L = (1/N) Σ_i ℓ_i,  Hess v = ∇²L v,  G v = (1/N) Σ_i J_iᵀ Q_i J_i v,  H v = Hess v − G v,
 *   CE ℓ = log Σ_k e^{z_k} − z_y, Q = diag(p) − p pᵀ;  MSE ℓ = ½‖z − e_y‖², Q = I.
 */
export interface ReferenceProblem {
  readonly spec: TinyNetSpec;
  /** θ in tinyLayout(spec).params order, each tensor row-major. */
  readonly theta: Float64Array;
  /** Buffers in tinyLayout(spec).buffers order. */
  readonly buffers: Float64Array;
  /** Inputs NHWC, N × H × W × C. */
  readonly x: Float32Array;
  readonly labels: Int32Array;
  readonly loss: 'cross-entropy' | 'mse';
}

export interface ReferenceResult {
  readonly loss: number;
  readonly gradient: Float64Array;
  readonly hessianVector: Float64Array;
  readonly ggnVector: Float64Array;
  readonly residualVector: Float64Array;
  /** Logits row-major [N, C]. */
  readonly logits: Float64Array;
  /** J v per sample, row-major [N, C]. */
  readonly jacobianVector: Float64Array;
}

interface Act {
  readonly shape: readonly number[];
  readonly nodes: number[];
}

export class ReferenceCurvature {
  readonly #p: ReferenceProblem;
  readonly #tape = new DualTape();
  readonly #paramNodes: number[] = [];
  readonly #logitNodes: number[][] = [];
  readonly #lossNode: number;
  readonly size: number;

  /** Builds the tape with parameter tangents v (zero vector if omitted). */
  constructor(problem: ReferenceProblem, v?: Float64Array) {
    this.#p = problem;
    const layout = tinyLayout(problem.spec);
    const t = this.#tape;
    this.size = problem.theta.length;
    for (let j = 0; j < problem.theta.length; j++) this.#paramNodes.push(t.variable(problem.theta[j]!, v ? v[j]! : 0));
    // slice parameters / buffers per entry, in order
    let po = 0;
    const paramQueue = layout.params.map((e) => {
      const n = e.shape.reduce((a, b) => a * b, 1);
      const nodes = this.#paramNodes.slice(po, po + n);
      po += n;
      return nodes;
    });
    let bo = 0;
    const bufferQueue = layout.buffers.map((e) => {
      const n = e.shape.reduce((a, b) => a * b, 1);
      const vals = Array.from(problem.buffers.subarray(bo, bo + n));
      bo += n;
      return vals;
    });
    const [h, w, c] = problem.spec.input;
    const d = h * w * c;
    const n = problem.labels.length;
    const losses: number[] = [];
    for (let i = 0; i < n; i++) {
      let pi = 0;
      let bi = 0;
      const nextParam = (): number[] => paramQueue[pi++]!;
      const nextBuffer = (): number[] => bufferQueue[bi++]!;
      const input: Act = { shape: [h, w, c], nodes: Array.from(problem.x.subarray(i * d, (i + 1) * d), (x) => t.constant(x)) };
      const z = this.#run(problem.spec.layers, input, nextParam, nextBuffer);
      this.#logitNodes.push(z.nodes);
      losses.push(this.#sampleLoss(z.nodes, problem.labels[i]!));
    }
    this.#lossNode = t.scale(t.sum(losses), 1 / n);
  }

  #run(layers: readonly TinyLayer[], a: Act, nextParam: () => number[], nextBuffer: () => number[]): Act {
    for (const l of layers) a = this.#layer(l, a, nextParam, nextBuffer);
    return a;
  }

  #layer(l: TinyLayer, a: Act, nextParam: () => number[], nextBuffer: () => number[]): Act {
    const t = this.#tape;
    const s = a.shape;
    const ch = s[s.length - 1]!;
    switch (l.op) {
      case 'conv': {
        const wt = nextParam();
        const bias = nextParam();
        const [H, W] = [s[0]!, s[1]!];
        const oh = convOutput(H, l.k, l.stride, l.pad);
        const ow = convOutput(W, l.k, l.stride, l.pad);
        const out: number[] = [];
        for (let y = 0; y < oh.out; y++) {
          for (let x = 0; x < ow.out; x++) {
            for (let o = 0; o < l.out; o++) {
              const xs: number[] = [];
              const ws: number[] = [];
              for (let dy = 0; dy < l.k; dy++) {
                for (let dx = 0; dx < l.k; dx++) {
                  const iy = y * l.stride + dy - oh.before;
                  const ix = x * l.stride + dx - ow.before;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  for (let ci = 0; ci < ch; ci++) {
                    xs.push(a.nodes[(iy * W + ix) * ch + ci]!);
                    ws.push(wt[((dy * l.k + dx) * ch + ci) * l.out + o]!);
                  }
                }
              }
              out.push(t.add(t.dotProduct(xs, ws), bias[o]!));
            }
          }
        }
        return { shape: [oh.out, ow.out, l.out], nodes: out };
      }
      case 'dense': {
        const wt = nextParam();
        const bias = nextParam();
        const out: number[] = [];
        for (let o = 0; o < l.out; o++) {
          const ws = Array.from({ length: ch }, (_, k) => wt[k * l.out + o]!);
          out.push(t.add(t.dotProduct(a.nodes, ws), bias[o]!));
        }
        return { shape: [l.out], nodes: out };
      }
      case 'relu':
        return { shape: s, nodes: a.nodes.map((n) => t.relu(n)) };
      case 'tanh':
        return { shape: s, nodes: a.nodes.map((n) => t.tanh(n)) };
      case 'maxpool':
      case 'avgpool': {
        const [H, W] = [s[0]!, s[1]!];
        const oh = convOutput(H, l.k, l.stride, 'valid').out;
        const ow = convOutput(W, l.k, l.stride, 'valid').out;
        const out: number[] = [];
        for (let y = 0; y < oh; y++) {
          for (let x = 0; x < ow; x++) {
            for (let c = 0; c < ch; c++) {
              const win: number[] = [];
              for (let dy = 0; dy < l.k; dy++)
                for (let dx = 0; dx < l.k; dx++) win.push(a.nodes[((y * l.stride + dy) * W + x * l.stride + dx) * ch + c]!);
              out.push(l.op === 'maxpool' ? t.selectMax(win) : t.scale(t.sum(win), 1 / win.length));
            }
          }
        }
        return { shape: [oh, ow, ch], nodes: out };
      }
      case 'gap': {
        const hw = a.nodes.length / ch;
        const out: number[] = [];
        for (let c = 0; c < ch; c++) out.push(t.scale(t.sum(Array.from({ length: hw }, (_, j) => a.nodes[j * ch + c]!)), 1 / hw));
        return { shape: [ch], nodes: out };
      }
      case 'flatten':
        return { shape: [a.nodes.length], nodes: a.nodes };
      case 'flattenChw': {
        const hw = a.nodes.length / ch;
        const out: number[] = [];
        for (let c = 0; c < ch; c++) for (let j = 0; j < hw; j++) out.push(a.nodes[j * ch + c]!);
        return { shape: [a.nodes.length], nodes: out };
      }
      case 'bn':
      case 'bnFused': {
        const gamma = nextParam();
        const beta = nextParam();
        const mean = nextBuffer();
        const variance = nextBuffer();
        // eval mode: y = (x − μ)/√(σ² + ε) · γ + β with running μ, σ² (constants)
        const out = a.nodes.map((n, j) => {
          const c = j % ch;
          const centred = t.scale(t.add(n, t.constant(-mean[c]!)), 1 / Math.sqrt(variance[c]! + BN_EPSILON));
          return t.add(t.mul(centred, gamma[c]!), beta[c]!);
        });
        return { shape: s, nodes: out };
      }
      case 'dropout':
        return a;
      case 'residual': {
        const b = this.#run(l.body, a, nextParam, nextBuffer);
        return { shape: s, nodes: a.nodes.map((n, j) => t.add(n, b.nodes[j]!)) };
      }
      case 'concat': {
        const b = this.#run(l.body, a, nextParam, nextBuffer);
        const cb = b.shape[b.shape.length - 1]!;
        const pixels = a.nodes.length / ch;
        const out: number[] = [];
        for (let j = 0; j < pixels; j++) {
          for (let c = 0; c < ch; c++) out.push(a.nodes[j * ch + c]!);
          for (let c = 0; c < cb; c++) out.push(b.nodes[j * cb + c]!);
        }
        return { shape: [...s.slice(0, -1), ch + cb], nodes: out };
      }
    }
  }

  #sampleLoss(z: readonly number[], y: number): number {
    const t = this.#tape;
    if (this.#p.loss === 'mse') {
      const diffs = z.map((n, k) => t.add(n, t.constant(k === y ? -1 : 0)));
      return t.scale(t.dotProduct(diffs, diffs), 0.5);
    }
    const m = Math.max(...z.map((n) => t.val[n]!));
    const lse = t.add(t.log(t.sum(z.map((n) => t.exp(t.add(n, t.constant(-m)))))), t.constant(m));
    return t.sub(lse, z[y]!);
  }

  /** Logits row-major [N, C]. */
  logits(): Float64Array {
    return Float64Array.from(this.#logitNodes.flat(), (n) => this.#tape.val[n]!);
  }

  /** ∇L (real parts) and ∇²L v (tangent parts). */
  gradientAndHessianVector(): { gradient: Float64Array; hessianVector: Float64Array } {
    const r = this.#tape.reverse(new Map([[this.#lossNode, [1, 0] as const]]), this.#paramNodes);
    return { gradient: r.val, hessianVector: r.dot };
  }

  /** Σ_i J_iᵀ u_i for per-sample logit cotangents u (row-major [N, C]). */
  cotangentProduct(u: ArrayLike<number>): Float64Array {
    const seeds = new Map<number, readonly [number, number]>();
    const c = this.#p.spec.classes;
    this.#logitNodes.forEach((zs, i) => zs.forEach((n, k) => seeds.set(n, [u[i * c + k]!, 0])));
    return this.#tape.reverse(seeds, this.#paramNodes).val;
  }

  /** Everything at once for the tangent v the tape was built with. */
  result(): ReferenceResult {
    const t = this.#tape;
    const c = this.#p.spec.classes;
    const n = this.#logitNodes.length;
    const logits = this.logits();
    const jv = Float64Array.from(this.#logitNodes.flat(), (node) => t.dot[node]!);
    const w = new Float64Array(n * c);
    for (let i = 0; i < n; i++) {
      if (this.#p.loss === 'mse') {
        for (let k = 0; k < c; k++) w[i * c + k] = jv[i * c + k]! / n;
        continue;
      }
      const z = logits.subarray(i * c, (i + 1) * c);
      const m = Math.max(...z);
      const e = Array.from(z, (x) => Math.exp(x - m));
      const s = e.reduce((a, b) => a + b, 0);
      const p = e.map((x) => x / s);
      let pu = 0;
      for (let k = 0; k < c; k++) pu += p[k]! * jv[i * c + k]!;
      for (let k = 0; k < c; k++) w[i * c + k] = (p[k]! * jv[i * c + k]! - p[k]! * pu) / n;
    }
    const ggnVector = this.cotangentProduct(w);
    const { gradient, hessianVector } = this.gradientAndHessianVector();
    const residualVector = hessianVector.map((x, j) => x - ggnVector[j]!);
    return { loss: t.val[this.#lossNode]!, gradient, hessianVector, ggnVector, residualVector, logits, jacobianVector: jv };
  }
}

/** Reference products along v. */
export function referenceProducts(problem: ReferenceProblem, v: Float64Array): ReferenceResult {
  return new ReferenceCurvature(problem, v).result();
}
