/**
 * What the report's figures encode, read back from their Vega-Lite specs: the resolution floor,
 * one kernel width per overlay, exact low-rank spectra as stems, dynamics as small multiples and on
 * a log epoch axis, the log-spectrum fits over the resolved bulk with α's interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SpectrumSeries } from '../../src/report/reportData.js';
import { densityPanel } from '../../src/report/densityPanel.js';
import { oneEigenvaluePeak } from '../../src/report/floorRegion.js';
import { sharedKernel } from '../../src/report/sharedKernel.js';
import { piecesSpec } from '../../src/report/pieceSpecs.js';
import { dynamicsSpectraSpec, scalarsSpec } from '../../src/report/reportSpecs.js';
import { fitBulk } from '../../src/report/bulkFits.js';
import { fitPowerLaw } from '../../src/report/spectrumFits.js';
import { linearGrid, smoothedDensity } from '../../src/linalg/slq.js';
import { logSpectrumDensity } from '../../src/linalg/logSpectrum.js';
import { renderReport } from '../../src/report/renderReport.js';

type Layer = {
  data?: { values: Record<string, number | string>[] };
  mark: { type: string } | string;
  encoding?: Record<string, unknown>;
};

/** A series smoothed from a measure at width σ, as a spectrum stage writes it. */
function series(
  operator: string,
  nodes: number[],
  weights: number[],
  sigma: number,
  extra: Partial<SpectrumSeries> = {},
): SpectrumSeries {
  const lo = Math.min(...nodes) - 5 * sigma;
  const hi = Math.max(...nodes) + 5 * sigma;
  const grid = linearGrid(lo, hi, 512);
  const density = smoothedDensity({ nodes: Float64Array.from(nodes), weights: Float64Array.from(weights) }, grid, sigma);
  return {
    operator,
    split: 'train',
    grid: Array.from(grid),
    density: Array.from(density),
    measure: { nodes, weights },
    sigma,
    parameters: 1000,
    ...extra,
  };
}

const markType = (l: Layer): string => (typeof l.mark === 'string' ? l.mark : l.mark.type);

test('floor: no curve point below it, a shaded band from the axis bottom up to it, the caption states it; one eigenvalue of mass 1/P stays above it', () => {
  // a bulk at 0 and one isolated eigenvalue (mass 1/P) at 10: the gap between them is kernel tail
  const s = series('hessian', [0, 0.1, 10], [0.5, 0.499, 0.001], 0.2);
  const p = densityPanel({ title: 't', curves: [{ label: 'Hess', series: s, color: '#000' }], width: 300, height: 200 });
  const floor = 0.01 * oneEigenvaluePeak(1000, 0.2);
  assert.ok(Math.abs(p.floor.value - floor) / floor < 1e-12);
  const layers = (p.spec as { layer: Layer[] }).layer;
  const line = layers.find((l) => markType(l) === 'line')!;
  const ys = line.data!.values.map((r) => r['y'] as number);
  assert.ok(
    ys.every((y) => y >= floor),
    'nothing drawn below the floor',
  );
  assert.ok(Math.min(...s.density) < floor * 1e-3, 'the raw curve does dive below it');
  // the isolated eigenvalue is its own segment, not joined to the bulk across the gap
  const segs = new Set(line.data!.values.map((r) => r['seg']));
  assert.equal(segs.size, 2);
  const rect = layers.find((l) => markType(l) === 'rect')!;
  assert.deepEqual(rect.data!.values[0], { x0: s.grid[0], x1: s.grid[511], y0: floor / 100, y1: floor });
  assert.match(p.notes.join(' '), new RegExp(`below resolution, density < ${floor.toExponential(1).replace('+', '\\+')}`));
  assert.ok(Math.max(...ys.filter((_, i) => (line.data!.values[i]!['x'] as number) > 5)) > 50 * floor);
});

test('shared kernel: overlaid curves are re-smoothed at the widest width σ, so two equal point masses get equal heights', () => {
  // two operators, each one point mass; their own widths differ by 10× (a narrow and a wide range)
  const a = series('ggn', [0], [1], 0.1);
  const b = series('residual', [5], [1], 1);
  assert.ok(Math.max(...a.density) / Math.max(...b.density) > 9, 'as measured, heights differ 10×');
  const k = sharedKernel([a, b]);
  assert.equal(k.sigma, 1);
  const [ca, cb] = k.curves;
  const peak = 1 / Math.sqrt(2 * Math.PI);
  assert.ok(Math.abs(Math.max(...ca!.density) - peak) / peak < 1e-3);
  assert.ok(Math.abs(Math.max(...cb!.density) - peak) / peak < 1e-3);
  assert.deepEqual(ca!.grid, cb!.grid, 'one grid');
  assert.match(k.note, /one Gaussian kernel, σ = 1\.0 in λ units/);
  // without measures nothing can be re-smoothed, and the note says heights do not compare
  const { measure: _m, ...bare } = a;
  assert.match(sharedKernel([bare, b]).note, /own kernel \(σ = 0\.10, 1\.0\).*do not compare/);
});

test('pieces: A1 and B1 drawn as stems at their exact eigenvalues, as tall as one eigenvalue smoothed at the panel width; B2 and G as curves', () => {
  const b2 = series('b2', [0, 0.05, 0.1], [0.4, 0.4, 0.2], 0.05);
  const g = series('ggn', [0, 0.1, 3, 4], [0.5, 0.498, 0.001, 0.001], 0.08);
  const a1 = [4, 3, 0.5];
  const b1 = [0.9, 0.7];
  const f = piecesSpec(
    [b2, g],
    [
      { piece: 'a1', split: 'train', values: a1 },
      { piece: 'b1', split: 'train', values: b1 },
      { piece: 'a1+a2+b1', split: 'train', values: [9] },
    ],
    't',
  );
  const layers = (f.spec as unknown as { layer: Layer[] }).layer;
  const stems = layers.find((l) => markType(l) === 'rule' && l.data!.values.some((r) => r['curve'] === 'A1 exact'))!;
  const byPiece = (name: string) =>
    stems
      .data!.values.filter((r) => r['curve'] === name)
      .map((r) => r['x'] as number)
      .sort((x, y) => y - x);
  assert.deepEqual(byPiece('A1 exact'), a1);
  assert.deepEqual(byPiece('B1 exact'), b1);
  assert.equal(byPiece('A1+A2+B1 exact').length, 0, 'the sum is not drawn twice');
  const h = oneEigenvaluePeak(1000, 0.08);
  for (const r of stems.data!.values) assert.ok(Math.abs((r['y1'] as number) - h) / h < 1e-12);
  const line = layers.find((l) => markType(l) === 'line')!;
  assert.deepEqual([...new Set(line.data!.values.map((r) => r['curve']))], ['B2 (SLQ)', 'G (SLQ)']);
  assert.match(f.notes.join(' '), /Stems: exact eigenvalues/);
});

test('dynamics: a panel per epoch in order with sequential colours; scalars on a log axis of epoch + 1', () => {
  const ss = [30, 0, 10, 3].map((epoch) => series('hessian', [0, epoch + 1], [0.99, 0.01], 0.05 * (epoch + 1), { epoch }));
  const d = dynamicsSpectraSpec(ss, 'dyn');
  const rows = (d.spec as { vconcat: { hconcat: { title: { text: string }; layer: Layer[] }[] }[] }).vconcat;
  assert.equal(rows.length, 1);
  assert.deepEqual(
    rows[0]!.hconcat.map((p) => p.title.text),
    ['epoch 0', 'epoch 3', 'epoch 10', 'epoch 30'],
  );
  const colors = rows[0]!.hconcat.map((p) => {
    const line = p.layer.find((l) => markType(l) === 'line')!;
    return (line.encoding!['color'] as { scale: { range: string[] } }).scale.range[0];
  });
  assert.equal(new Set(colors).size, 4);
  assert.deepEqual(colors, ['#440154', '#2a788e', '#22a884', '#bddf26'], 'viridis, dark → light');
  const sc = scalarsSpec(
    [0, 3, 10, 30].map((epoch) => ({ name: 'λ_max(Hess)', epoch, value: epoch })),
    's',
  ) as {
    concat: {
      data: { values: { epoch1: number }[] };
      encoding: { x: { field: string; scale: { type: string } }; y: { scale: { type?: string } } };
    }[];
  };
  const panel = sc.concat[0]!;
  assert.equal(panel.encoding.x.field, 'epoch1');
  assert.equal(panel.encoding.x.scale.type, 'log');
  assert.deepEqual(
    panel.data.values.map((r) => r.epoch1),
    [1, 4, 11, 31],
  );
  assert.equal(panel.encoding.y.scale.type, undefined, 'a value 0 (epoch 0) keeps a linear value axis');
});

test('log-spectrum fit: over the resolved bulk only (not across the gap to near-null Ritz values), α with a bootstrap interval covering the truth, the semicircle on the same range', () => {
  // bulk: 400 Ritz values at the quantiles of ρ ∝ λ^−1.5 on [1e-3, 1e-1]; plus near-null values ~1e-6 holding 30% of the mass
  const alpha = 1.5;
  const [a, b] = [1e-3, 1e-1];
  const n = 400;
  const bulk = Array.from({ length: n }, (_, i) => {
    const u = (i + 0.5) / n; // inverse CDF of λ^−1.5 on [a, b]
    return (a ** (1 - alpha) + u * (b ** (1 - alpha) - a ** (1 - alpha))) ** (1 / (1 - alpha));
  });
  const nullish = [1e-6, 2e-6, 3e-6, 5e-6];
  const nodes = [...nullish, ...bulk];
  const weights = [...nullish.map(() => 0.3 / nullish.length), ...bulk.map(() => 0.7 / n)];
  const ls = logSpectrumDensity(
    { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights) },
    { steps: 200, gridSize: 512 },
  );
  const input = {
    logGrid: Array.from(ls.positive.x),
    logDensity: Array.from(ls.positive.y),
    sigma: 2e-4,
    measure: { nodes, weights },
    steps: 200,
  };
  const fits = fitBulk(input, 3);
  assert.ok(fits.range.lo > 4e-4 && fits.range.lo < 1.2e-3, `from above 2σ, inside the bulk: ${fits.range.lo}`);
  assert.ok(fits.range.hi < Math.max(...bulk) && fits.range.hi > 0.08, `${fits.range.hi}`);
  const pl = fits.powerLaw!;
  assert.ok(Math.abs(pl.exponent - alpha) < 0.2, `α = ${pl.exponent}`);
  assert.ok(pl.interval[0] < pl.exponent && pl.exponent < pl.interval[1], JSON.stringify(pl.interval));
  assert.ok(pl.interval[0] < alpha && alpha < pl.interval[1], `interval ${JSON.stringify(pl.interval)} vs α = ${alpha}`);
  assert.ok(pl.interval[1] - pl.interval[0] < 0.5, 'and says something');
  assert.match(pl.intervalMethod, /^α ± 1\.96 × the standard deviation of a bootstrap over Ritz values \(200 resamples\)$/);
  assert.ok(fits.semicircle !== null && fits.semicircle.r2 < pl.r2, 'on power-law data the semicircle fits worse');
  // the old fit, across the gap from the near-null values, is far off
  const across = fitPowerLaw(input.logGrid, input.logDensity)!;
  assert.ok(Math.abs(across.exponent - alpha) > Math.abs(pl.exponent - alpha) + 0.2, `across the gap α = ${across.exponent}`);
});

test('hierarchy table: embedding scores at every snapshot and split, beside gradient-space scores given by the decompositions', async () => {
  const points = [
    { kind: 'class' as const, c: 0, cp: 0, label: '0', x: 0, y: 0 },
    { kind: 'class' as const, c: 1, cp: 1, label: '1', x: 10, y: 0 },
    { kind: 'cross' as const, c: 0, cp: 1, label: '0–1', x: 1, y: 0 },
    { kind: 'cross' as const, c: 1, cp: 0, label: '1–0', x: 2, y: 0 },
  ];
  const html = await renderReport({
    title: 't',
    embeddings: [
      { epoch: 3, method: 'tsne', split: 'train', points },
      { epoch: 3, method: 'tsne', split: 'test', points: points.map((p) => (p.kind === 'cross' ? { ...p, x: 9 - p.x } : p)) },
    ],
    hierarchy: [{ epoch: 3, split: 'train', space: 'gradients', hits: 2, total: 2, chance: 0.5 }],
  });
  const cells = [...html.matchAll(/<td class="num" data-space="(\w+)" data-hits="(\d+)" data-total="(\d+)">/g)].map((m) =>
    m.slice(1).join(' '),
  );
  // rows train (gradients 2/2, t-SNE 1/2: 1–0 at x = 2 is nearer g_0), then test (t-SNE: 0–1 at 8 nearer g_1, 1–0 at 7 nearer g_1 → 1/2)
  assert.deepEqual(cells, ['gradients 2 2', 'tsne 1 2', 'tsne 1 2']);
  assert.match(html, /<th>chance 1\/C<\/th>/);
});

test("numbers: A1's λ_C/λ_{C−1} from its exact eigenvalues at every checkpoint and split", async () => {
  const html = await renderReport({
    title: 't',
    exactEigenvalues: [
      { epoch: 0, piece: 'a1', split: 'train', values: [5, 4, 3, 2] },
      { epoch: 3, piece: 'a1', split: 'train', values: [5, 4, 3, 0.003] },
      { epoch: 3, piece: 'a1', split: 'test', values: [5, 4, 3, 0.3] },
    ],
  });
  const ratio = (where: string) =>
    Number(new RegExp(`λ_4\\(A1\\) / λ_3\\(A1\\) \\(exact\\) \\[${where}\\]</td><td class="num">([^<]+)<`).exec(html)?.[1]);
  assert.equal(ratio('epoch 0, train'), Number((2 / 3).toPrecision(4)));
  assert.equal(ratio('epoch 3, train'), 0.001);
  assert.equal(ratio('epoch 3, test'), 0.1);
});
