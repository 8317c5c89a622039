/**
 * A float64 reference of the PyTorch modules specpipe's nets claim to be, written directly from PyTorch's
 * definitions in NCHW layout with PyTorch-layout weights (Linear [out, in], Conv2d [out, in, kh, kw]) —
 * independent of specpipe's NHWC/tfjs code. Used to prove that a state_dict in PyTorch layout gives PyTorch's logits.
 */

/** An NCHW activation of one sample: [C][H][W] flattened. */
export interface Act {
  c: number;
  h: number;
  w: number;
  v: Float64Array;
}

export type StateDict = Record<string, { shape: number[]; data: Float64Array }>;

export function get(sd: StateDict, name: string): Float64Array {
  const t = sd[name];
  if (t === undefined) throw new Error(`reference: missing ${name}`);
  return t.data;
}

/** nn.Conv2d(cin, cout, k, stride, padding): y[o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v] x[c, s·i+u−p, s·j+v−p]. */
export function conv(
  x: Act,
  w: Float64Array,
  b: Float64Array | undefined,
  cout: number,
  k: number,
  stride: number,
  pad: number,
): Act {
  const ho = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const v = new Float64Array(cout * ho * wo);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        let s = b === undefined ? 0 : b[o]!;
        for (let c = 0; c < x.c; c++)
          for (let u = 0; u < k; u++) {
            const y = stride * i + u - pad;
            if (y < 0 || y >= x.h) continue;
            for (let q = 0; q < k; q++) {
              const xx = stride * j + q - pad;
              if (xx < 0 || xx >= x.w) continue;
              s += w[((o * x.c + c) * k + u) * k + q]! * x.v[(c * x.h + y) * x.w + xx]!;
            }
          }
        v[(o * ho + i) * wo + j] = s;
      }
  return { c: cout, h: ho, w: wo, v };
}

/** nn.BatchNorm2d in eval mode: (x − running_mean)/√(running_var + 1e-5)·weight + bias. */
export function bnEval(x: Act, sd: StateDict, prefix: string): Act {
  const g = get(sd, `${prefix}.weight`),
    b = get(sd, `${prefix}.bias`),
    m = get(sd, `${prefix}.running_mean`),
    va = get(sd, `${prefix}.running_var`);
  const v = new Float64Array(x.v.length);
  const hw = x.h * x.w;
  for (let c = 0; c < x.c; c++)
    for (let j = 0; j < hw; j++) v[c * hw + j] = ((x.v[c * hw + j]! - m[c]!) / Math.sqrt(va[c]! + 1e-5)) * g[c]! + b[c]!;
  return { ...x, v };
}

export function reluAct(x: Act): Act {
  return { ...x, v: x.v.map((t) => Math.max(t, 0)) };
}

/** nn.MaxPool2d(2) / nn.AvgPool2d(2). */
export function pool2(x: Act, kind: 'max' | 'avg'): Act {
  const ho = Math.floor(x.h / 2),
    wo = Math.floor(x.w / 2);
  const v = new Float64Array(x.c * ho * wo);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        const a = [0, 1].flatMap((u) => [0, 1].map((q) => x.v[(c * x.h + 2 * i + u) * x.w + 2 * j + q]!));
        v[(c * ho + i) * wo + j] = kind === 'max' ? Math.max(...a) : a.reduce((s, t) => s + t, 0) / 4;
      }
  return { c: x.c, h: ho, w: wo, v };
}

export function globalAvg(x: Act): Float64Array {
  const hw = x.h * x.w;
  const out = new Float64Array(x.c);
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    for (let j = 0; j < hw; j++) s += x.v[c * hw + j]!;
    out[c] = s / hw;
  }
  return out;
}

/** nn.Linear: y = W x + b with W [out, in]. */
export function linear(x: Float64Array, w: Float64Array, b: Float64Array | undefined, out: number): Float64Array {
  const inF = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b === undefined ? 0 : b[o]!;
    for (let i = 0; i < inF; i++) s += w[o * inF + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

export function addAct(a: Act, b: Act): Act {
  return { ...a, v: a.v.map((t, i) => t + b.v[i]!) };
}

export function catAct(a: Act, b: Act): Act {
  const v = new Float64Array(a.v.length + b.v.length);
  v.set(a.v);
  v.set(b.v, a.v.length);
  return { c: a.c + b.c, h: a.h, w: a.w, v };
}

/** Converts a batch of NCHW float64 samples to the NHWC float32 array specpipe's forward takes. */
export function toNhwc(samples: readonly Act[]): Float32Array {
  const first = samples[0]!;
  const { c, h, w } = first;
  const out = new Float32Array(samples.length * c * h * w);
  samples.forEach((s, n) => {
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((n * h + y) * w + x) * c + ch] = s.v[(ch * h + y) * w + x]!;
  });
  return out;
}
