import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KrylovBasis, krylovBasisKernels, randomVector, type BasisPrecision } from '../../src/linalg/krylovBasis.js';
import { lanczos } from '../../src/linalg/lanczos.js';
import { diagonalOperator } from '../../src/linalg/operatorAlgebra.js';
import { Rng } from '../../src/util/random.js';

/** Runs f with SPECPIPE_NO_NATIVE set to `value` (undefined: unset), restoring it afterwards. */
async function withNoNative<T>(value: string | undefined, f: () => T | Promise<T>): Promise<T> {
  const saved = process.env.SPECPIPE_NO_NATIVE;
  if (value === undefined) delete process.env.SPECPIPE_NO_NATIVE;
  else process.env.SPECPIPE_NO_NATIVE = value;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.SPECPIPE_NO_NATIVE;
    else process.env.SPECPIPE_NO_NATIVE = saved;
  }
}

const nativeAvailable = await withNoNative(undefined, () => krylovBasisKernels());
const skipNative = nativeAvailable.native ? false : `native kernels unavailable: ${nativeAvailable.reason}`;

/** A basis of `rows` random rows of length n (not orthonormal: the kernels do not care), spanning several blocks. */
function randomBasis(n: number, rows: number, precision: BasisPrecision, seed: number): KrylovBasis {
  const rng = new Rng(seed);
  const V = new KrylovBasis(n, precision);
  for (let i = 0; i < rows; i++) {
    const v = randomVector(n, 'gaussian', rng);
    for (let k = 0; k < n; k++) v[k] = v[k]! / Math.sqrt(n);
    V.push(v);
  }
  return V;
}

/** Plain float64 reference: c_i = v_iᵀw over rows [from, to), w − Σ c_i v_i. */
function referenceSweep(V: KrylovBasis, w: Float64Array, from: number, to: number): { c: Float64Array; w: Float64Array } {
  const c = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const r = V.get(i);
    let s = 0;
    for (let k = 0; k < w.length; k++) s += r[k]! * w[k]!;
    c[i - from] = s;
  }
  const out = new Float64Array(w);
  for (let i = from; i < to; i++) {
    const r = V.get(i);
    for (let k = 0; k < w.length; k++) out[k] = out[k]! - c[i - from]! * r[k]!;
  }
  return { c, w: out };
}

function maxRelativeDifference(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!), Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return scale === 0 ? worst : worst / scale;
}

for (const precision of ['float32', 'float64'] as const) {
  test(
    `KrylovBasis (${precision}): native and JavaScript sweeps and combinations agree to 1e-12 and match a float64 reference`,
    { skip: skipNative },
    async () => {
      // n spans two 16384-entry chunks and is not a multiple of 4; 61 rows span blocks of 8, 16, 32 and 64 rows.
      const n = 20003;
      const V = randomBasis(n, 61, precision, 7);
      const w0 = randomVector(n, 'gaussian', new Rng(8));
      for (const [from, to] of [
        [0, 61],
        [5, 40],
        [23, 24],
        [60, 61],
      ] as const) {
        const wNative = new Float64Array(w0);
        const wJs = new Float64Array(w0);
        const cNative = await withNoNative(undefined, () => V.orthogonalize(wNative, from, to));
        const cJs = await withNoNative('1', () => V.orthogonalize(wJs, from, to));
        assert.ok(maxRelativeDifference(cNative, cJs) <= 1e-12, `coefficients [${from}, ${to})`);
        assert.ok(maxRelativeDifference(wNative, wJs) <= 1e-12, `swept vector [${from}, ${to})`);
        const ref = referenceSweep(V, w0, from, to);
        assert.ok(maxRelativeDifference(cNative, ref.c) <= 1e-12, `coefficients vs reference [${from}, ${to})`);
        assert.ok(maxRelativeDifference(wNative, ref.w) <= 1e-12, `swept vector vs reference [${from}, ${to})`);
      }
      const s = randomVector(61, 'gaussian', new Rng(9));
      s[3] = 0; // zero coefficients are skipped by the JavaScript loop, multiplied by the C one
      for (const len of [61, 37, 1]) {
        const coeff = s.subarray(0, len);
        const yNative = await withNoNative(undefined, () => V.combine(coeff));
        const yJs = await withNoNative('1', () => V.combine(coeff));
        assert.ok(maxRelativeDifference(yNative, yJs) <= 1e-12, `combine over ${len} rows`);
        const yRef = new Float64Array(n);
        for (let i = 0; i < len; i++) {
          const r = V.get(i);
          for (let k = 0; k < n; k++) yRef[k] = yRef[k]! + coeff[i]! * r[k]!;
        }
        assert.ok(maxRelativeDifference(yNative, yRef) <= 1e-12, `combine over ${len} rows vs reference`);
      }
    },
  );
}

test('KrylovBasis: SPECPIPE_NO_NATIVE=1 falls back to the JavaScript kernels with the reason', async () => {
  await withNoNative('1', () => {
    const k = krylovBasisKernels();
    assert.equal(k.native, false);
    assert.match(k.native ? '' : k.reason, /SPECPIPE_NO_NATIVE=1/);
    const V = randomBasis(300, 20, 'float32', 3);
    const w = randomVector(300, 'gaussian', new Rng(4));
    const ref = referenceSweep(V, w, 0, 20);
    const c = V.orthogonalize(w);
    assert.ok(maxRelativeDifference(c, ref.c) <= 1e-12);
    assert.ok(maxRelativeDifference(w, ref.w) <= 1e-12);
  });
  if (nativeAvailable.native)
    await withNoNative(undefined, () =>
      assert.equal(krylovBasisKernels().native, true, 'unsetting the variable brings the library back'),
    );
});

test('KrylovBasis: rows are views into blocks; popping a row frees its slot for the next push; bytes count stored rows', () => {
  const n = 10;
  const V = new KrylovBasis(n, 'float32');
  const rng = new Rng(5);
  const vs = Array.from({ length: 30 }, () => randomVector(n, 'gaussian', rng));
  vs.forEach((v) => V.push(v));
  assert.equal(V.length, 30);
  assert.equal(V.bytes, 30 * n * 4);
  assert.ok(V.reservedBytes >= V.bytes && V.reservedBytes <= 2 * V.bytes, `${V.reservedBytes} B reserved`);
  V.rows.pop();
  const replacement = randomVector(n, 'gaussian', rng);
  const stored = V.push(replacement);
  assert.equal(V.length, 30);
  assert.deepEqual(Array.from(V.get(29)), Array.from(new Float32Array(replacement)));
  assert.deepEqual(Array.from(stored), Array.from(new Float32Array(replacement)));
  assert.deepEqual(Array.from(V.get(28)), Array.from(new Float32Array(vs[28]!)), 'neighbours untouched');
  V.clear();
  assert.equal(V.length, 0);
  V.push(vs[0]!);
  assert.deepEqual(Array.from(V.get(0)), Array.from(new Float32Array(vs[0]!)));
});

test(
  'Lanczos with full reorthogonalisation: native and JavaScript bookkeeping give the same recurrence to 1e-12',
  { skip: skipNative },
  async () => {
    const n = 3000;
    const d = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 3 + (i % 7));
    const native = await withNoNative(undefined, () => lanczos(diagonalOperator(d), { steps: 60, seed: 3 }));
    const js = await withNoNative('1', () => lanczos(diagonalOperator(d), { steps: 60, seed: 3 }));
    assert.equal(native.steps, 60);
    assert.ok(maxRelativeDifference(native.alpha, js.alpha) <= 1e-12);
    assert.ok(maxRelativeDifference(native.beta, js.beta) <= 1e-12);
  },
);

test(
  'KrylovBasis: the native sweeps give the same bits on 1, 2 and 3 threads (SPECPIPE_BASIS_THREADS), and match JavaScript',
  { skip: skipNative },
  async () => {
    // 9 chunks of w; blocks of 8 and 16 rows hold ≥ 2^20 entries, so the threaded path runs.
    const n = 140001;
    const V = randomBasis(n, 24, 'float32', 11);
    const w0 = randomVector(n, 'gaussian', new Rng(12));
    const s = randomVector(24, 'gaussian', new Rng(13));
    const saved = process.env.SPECPIPE_BASIS_THREADS;
    try {
      const results = [1, 2, 3].map((t) => {
        process.env.SPECPIPE_BASIS_THREADS = String(t);
        const w = new Float64Array(w0);
        const c = V.orthogonalize(w, 2, 24);
        return { c, w, y: V.combine(s) };
      });
      for (const r of results.slice(1)) {
        assert.deepEqual(r.c, results[0]!.c, 'coefficients');
        assert.deepEqual(r.w, results[0]!.w, 'swept vector');
        assert.deepEqual(r.y, results[0]!.y, 'combination');
      }
      const wJs = new Float64Array(w0);
      const cJs = await withNoNative('1', () => V.orthogonalize(wJs, 2, 24));
      assert.ok(maxRelativeDifference(results[1]!.c, cJs) <= 1e-12);
      assert.ok(maxRelativeDifference(results[1]!.w, wJs) <= 1e-12);
      process.env.SPECPIPE_BASIS_THREADS = 'two';
      assert.throws(
        () => V.orthogonalize(new Float64Array(w0)),
        /SPECPIPE_BASIS_THREADS must be a positive integer, received "two"/,
      );
    } finally {
      if (saved === undefined) delete process.env.SPECPIPE_BASIS_THREADS;
      else process.env.SPECPIPE_BASIS_THREADS = saved;
    }
  },
);
