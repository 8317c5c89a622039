import assert from 'node:assert/strict';
import type { Curvature } from '../../src/curvature/curvatureOperators.js';
import { Rng } from '../../src/util/random.js';

/** max_i |a_i − b_i| / max_i |b_i|: how far a product is from its reference, relative to the reference's scale. */
export function maxRelativeDifference(a: Float64Array, b: Float64Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    n = Math.max(n, Math.abs(b[i]!));
  }
  return d / n;
}

export type ProductProbe = Record<string, Float64Array>;

/**
 * Every full-data product of a curvature session at fixed seeded inputs (one v, `cotangentSets`
 * cotangent sets): Hess·v, G·v, H·v, H·[w v] as a block, gradient, logits and each weighted cotangent product. Sessions
 * over the same problem, however their products are split, must give the same probe.
 */
export function productProbe(
  size: number,
  samples: number,
  classes: number,
  cotangentSets = 2,
): (c: Curvature) => Promise<ProductProbe> {
  const rng = new Rng(2);
  const v = Float64Array.from({ length: size }, () => rng.normal());
  const w = Float64Array.from({ length: size }, () => rng.normal());
  const cot = Array.from({ length: cotangentSets }, () => Float64Array.from({ length: samples * classes }, () => rng.normal()));
  return async (c) => {
    const cotangents = await c.weightedCotangentProduct(cot);
    const out: ProductProbe = {
      hessian: await c.operator('hessian').matvec(v),
      ggn: await c.operator('ggn').matvec(v),
      residual: await c.operator('residual').matvec(v),
      // a block of two (SLQ's lockstep start vectors): each vector's product as if alone
      ...Object.fromEntries((await c.operator('residual').matmat([w, v])).map((p, k) => [`residualBlock${k}`, p])),
      gradient: await c.fullGradient(),
      logits: await c.perSampleLogits(),
    };
    cotangents.forEach((p, k) => (out[`cotangent${k}`] = p));
    assert.ok(maxRelativeDifference(out.residualBlock1!, out.residual!) <= 1e-12, 'a vector in a block = the same vector alone');
    return out;
  };
}

/** Asserts `got` has every product of `expected`, each within `tolerance` (maxRelativeDifference). */
export function assertProbesAgree(got: ProductProbe, expected: ProductProbe, what: string, tolerance = 1e-12): void {
  assert.deepEqual(Object.keys(got), Object.keys(expected));
  for (const key of Object.keys(expected)) {
    const e = maxRelativeDifference(got[key]!, expected[key]!);
    assert.ok(e <= tolerance, `${what}, ${key}: max relative difference ${e}`);
  }
}
