import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsne } from '../../src/embed/tsne.js';
import { umap } from '../../src/embed/umap.js';
import { squaredDistancesOf, gradientPoints } from '../../src/embed/gradientPoints.js';
import { embedClassGradients } from '../../src/embed/embedGradients.js';
import { classGradients, classMean, crossClassMean } from '../../src/decompose/classGradients.js';
import { Rng } from '../../src/util/random.js';
import { tinyModel, jacobianTransposeProduct } from '../decompose/denseReference.js';

/** k well-separated Gaussian clusters in R^dim (centres 20 apart, unit spread). */
function clusters(k: number, perCluster: number, dim: number, seed: number): { rows: Float64Array[]; labels: number[] } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: k }, () => Float64Array.from({ length: dim }, () => 20 * rng.normal()));
  const rows: Float64Array[] = [];
  const labels: number[] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < perCluster; i++) {
      rows.push(centres[c]!.map((x) => x + rng.normal()));
      labels.push(c);
    }
  }
  return { rows, labels };
}

/** Every point's nearest neighbour in the embedding has its label, and cluster diameters are below the gaps between cluster centroids. */
function assertSeparated(coords: Float64Array, labels: number[], what: string): void {
  const n = labels.length;
  const d = (i: number, j: number): number =>
    Math.hypot(coords[2 * i]! - coords[2 * j]!, coords[2 * i + 1]! - coords[2 * j + 1]!);
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && (best < 0 || d(i, j) < d(i, best))) best = j;
    assert.equal(
      labels[best],
      labels[i],
      `${what}: point ${i} (cluster ${labels[i]}) has its nearest neighbour in cluster ${labels[best]}`,
    );
  }
  let maxWithin = 0;
  let minBetween = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (labels[i] === labels[j]) maxWithin = Math.max(maxWithin, d(i, j));
      else minBetween = Math.min(minBetween, d(i, j));
    }
  }
  assert.ok(
    minBetween > maxWithin * 0.5 && minBetween > 0,
    `${what}: clusters not separated (closest pair across clusters ${minBetween}, widest cluster ${maxWithin})`,
  );
}

test('t-SNE keeps well-separated clusters separated; same seed ⇒ same embedding, other seed ⇒ different', () => {
  const { rows, labels } = clusters(5, 20, 50, 1);
  const D = squaredDistancesOf(rows);
  const a = tsne(D, { seed: 3 });
  const b = tsne(D, { seed: 3 });
  const c = tsne(D, { seed: 4 });
  assertSeparated(a.coordinates, labels, 't-SNE');
  assert.deepEqual(Array.from(a.coordinates), Array.from(b.coordinates));
  assert.notDeepEqual(Array.from(a.coordinates), Array.from(c.coordinates));
  assert.ok(a.kl !== null && a.kl >= 0 && a.kl < 1.5, `KL(P‖Q) = ${a.kl}`);
});

test('UMAP (umap-js, exact kNN) keeps well-separated clusters separated; same seed ⇒ same embedding', () => {
  const { rows, labels } = clusters(4, 25, 30, 2);
  const D = squaredDistancesOf(rows);
  const a = umap(D, { seed: 5, nEpochs: 200 });
  const b = umap(D, { seed: 5, nEpochs: 200 });
  const c = umap(D, { seed: 6, nEpochs: 200 });
  assertSeparated(a.coordinates, labels, 'UMAP');
  assert.deepEqual(Array.from(a.coordinates), Array.from(b.coordinates));
  assert.notDeepEqual(Array.from(a.coordinates), Array.from(c.coordinates));
});

test('gradient points: labels "c" and "c–c\'", distances from the Gram equal explicit distances of g_c, g_cc\'', async () => {
  const m = tinyModel(2, 4, 25, 4);
  const batches = [0, 1, 2, 3].map((c) => {
    const idx = m.labels.flatMap((l, i) => (l === c ? [i] : []));
    const probabilities = new Float64Array(idx.length * 4);
    idx.forEach((i, r) => probabilities.set(m.probs[i]!, r * 4));
    return { trueClass: c, probabilities, batch: idx };
  });
  const cg = await classGradients(batches, async (idx: number[], us) => us.map((u) => jacobianTransposeProduct(m, idx, u)), {
    numClasses: 4,
    paramCount: 25,
  });
  const set = gradientPoints(cg);
  assert.equal(set.points.length, 4 + 12);
  assert.deepEqual(
    set.points.slice(0, 5).map((p) => p.label),
    ['0', '1', '2', '3', '0–1'],
  );
  const explicit = set.points.map((p) => (p.kind === 'class' ? classMean(cg, p.c) : crossClassMean(cg, p.c, p.cp)));
  const D = squaredDistancesOf(explicit);
  for (let i = 0; i < D.length; i++)
    assert.ok(Math.abs(D[i]! - set.squaredDistances[i]!) <= 1e-9 * Math.max(1, D[i]!), `distance entry ${i}`);
  const withOwn = gradientPoints(cg, { includeOwn: true, classNames: ['a', 'b', 'c', 'd'] });
  assert.equal(withOwn.points.length, 20);
  assert.ok(withOwn.points.some((p) => p.kind === 'own' && p.label === 'b–b'));
  const e = embedClassGradients(cg, { method: 'tsne', seed: 1, perplexity: 4 });
  assert.equal(e.points.length, 16);
  assert.ok(e.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
});
