import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport } from '../../src/report/renderReport.js';
import { validateReportData } from '../../src/report/reportData.js';
import { fitPowerLaw, fitSemicircle, semicircleDensity } from '../../src/report/spectrumFits.js';
import { prefixSvgIds } from '../../src/report/vegaSvg.js';
import { reportCommand } from '../../src/cli/commands/report.js';
import { syntheticReportData } from './syntheticReportData.js';
import { CHROMIUM, HAVE_CHROMIUM, renderInChromium } from './reportBrowser.js';

test('power-law and semicircle fits recover known parameters, and each wins on its own data', () => {
  const grid = Array.from({ length: 60 }, (_, i) => 10 ** (-3 + (3 * i) / 59));
  const pl = fitPowerLaw(
    grid,
    grid.map((x) => 2 * x ** -1.5),
  );
  assert.ok(
    pl !== null && Math.abs(pl.exponent - 1.5) < 1e-10 && Math.abs(pl.log10Amplitude - Math.log10(2)) < 1e-10 && pl.r2 > 0.999999,
  );
  // semicircle data: the moment-matched semicircle is the truth
  const lin = Array.from({ length: 801 }, (_, i) => -2 + (4 * i) / 800);
  const sc = lin.map((x) => semicircleDensity(x, 0, 2));
  const logGrid = Array.from({ length: 50 }, (_, i) => 10 ** (-2 + (2.25 * i) / 49)).filter((x) => x < 1.99);
  const logDensity = logGrid.map((x) => semicircleDensity(x, 0, 2));
  const fit = fitSemicircle(lin, sc, logGrid, logDensity);
  assert.ok(fit !== null && Math.abs(fit.center) < 1e-3 && Math.abs(fit.radius - 2) < 1e-2, JSON.stringify(fit));
  assert.ok(fit.r2 > 0.99, `semicircle on semicircle data: R² = ${fit.r2}`);
  const plOnSc = fitPowerLaw(logGrid, logDensity)!;
  assert.ok(plOnSc.r2 < fit.r2, 'the semicircle fits semicircle data better than a power law');
  // power-law data: the power law wins
  const powDensity = logGrid.map((x) => 0.1 * x ** -1.2);
  const scOnPow = fitSemicircle(
    lin,
    lin.map((x) => 0.1 * Math.abs(x || 1e-3) ** -1.2),
    logGrid,
    powDensity,
  )!;
  assert.ok(fitPowerLaw(logGrid, powDensity)!.r2 > scOnPow.r2);
});

test('SVG ids are prefixed so inlined figures keep their own clip paths', () => {
  const svg = '<svg><clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"></g><use href="#clip1"/></svg>';
  assert.equal(
    prefixSvgIds(svg, 'f3'),
    '<svg><clipPath id="f3-clip1"><rect/></clipPath><g clip-path="url(#f3-clip1)"></g><use href="#f3-clip1"/></svg>',
  );
});

test('report data validation names the path and the value', () => {
  assert.throws(() => validateReportData({ title: 3 }, 'F.json'), /F\.json: title must be a string, received 3/);
  assert.throws(
    () => validateReportData({ title: 't', spectra: [{ operator: 'hessian', split: 'val', grid: [], density: [] }] }, 'F.json'),
    /spectra\[0\]\.split must be "train" or "test", received "val"/,
  );
  assert.throws(
    () =>
      validateReportData(
        { title: 't', spectra: [{ operator: 'hessian', split: 'train', grid: [1, 2], density: [1] }] },
        'F.json',
      ),
    /spectra\[0\]\.density must be an array of numbers of the grid's length 2/,
  );
  assert.doesNotThrow(() => validateReportData(JSON.parse(JSON.stringify(syntheticReportData()))));
});

test('empty report data renders a page that says there is nothing to draw', async () => {
  const html = await renderReport({ title: 'empty' });
  assert.match(html, /nothing to draw/);
  assert.doesNotMatch(html, /<figure/);
  assert.match(html, /No numbers recorded/);
  assert.doesNotMatch(html, /<svg/);
});

test(
  'HTML report from synthetic data: every figure renders in headless Chromium, no console errors, panels without data left out',
  { skip: !HAVE_CHROMIUM && `${CHROMIUM} not installed` },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'specpipe-report-'));
    const dataPath = join(dir, 'data.json');
    const htmlPath = join(dir, 'report.html');
    const data = syntheticReportData();
    writeFileSync(dataPath, JSON.stringify(data));
    // through the CLI command (specpipe report --data F.json --out F.html)
    const code = await reportCommand(['--data', dataPath, '--out', htmlPath]);
    assert.equal(code, 0);
    const html = readFileSync(htmlPath, 'utf8');
    assert.doesNotMatch(html, /<script/i, 'self-contained, no scripts');
    assert.doesNotMatch(html, /(src|href)="https?:/i, 'no external resources');
    // derived numbers: A1 (0.97·outliers) vs G (0.98·outliers) ⇒ max relative gap 1/98; fits of H's log-spectrum (ρ ∝ λ^−0.7 e^{−λ/2g})
    assert.match(
      html,
      /max_k \|λ_k\(A1\) − λ_k\(G\)\| \/ λ_k\(G\), k ≤ 10 \[train, epoch 10, train_per_class=200\]<\/td><td class="num">0\.0102</,
    );
    assert.match(html, /power-law exponent α of H's log-spectrum over [^<]* \[train\]<\/td><td class="num">0\.\d+</);

    const shot = join(dir, 'report.png');
    const { errors, figures } = await renderInChromium(htmlPath, shot);
    assert.deepEqual(errors, [], 'no console errors');
    const main = figures.filter((f) => f.section === 'case-0');
    const expectedIds = [
      'figure1',
      'attribution-train',
      'attribution-test',
      'log-spectrum-h',
      'pieces',
      'a1-vs-outliers',
      'embedding',
      'hierarchy',
      'dynamics-hessian',
      'dynamics-g-vs-h',
      'dynamics-b1-b2',
      'dynamics-scalars',
      'training',
    ];
    assert.deepEqual(
      main.map((f) => f.id),
      expectedIds,
    );
    for (const f of main.filter((x) => x.id !== 'hierarchy')) {
      assert.equal(f.status, 'rendered', `${f.id} rendered`);
      assert.equal(f.svgs, 1, `${f.id} has its SVG`);
      assert.ok(f.markGroups > 0 && f.markItems > 0, `${f.id} has marks (${f.markGroups} groups, ${f.markItems} items)`);
      assert.ok(f.width > 100, `${f.id} has a visible width (${f.width}px)`);
    }
    const emb = main.find((f) => f.id === 'embedding')!;
    assert.equal(emb.symbols, 10 + 90, 'embedding draws every g_c and g_cc′');
    // the second case has only a train Hessian: Figure 1 alone, no empty placeholders anywhere
    const second = figures.filter((f) => f.section === 'case-1');
    assert.deepEqual(
      second.map((f) => [f.id, f.status]),
      [['figure1', 'rendered']],
    );
    assert.doesNotMatch(html, /No data/);
    assert.ok(statSync(shot).size > 10_000);
    t.diagnostic(`screenshot: ${shot}`);
  },
);

test('density curves: nothing below the resolution floor, segments break there, long grids thinned keeping peaks', async () => {
  const { resolvedRows, MAX_PLOT_POINTS } = await import('../../src/report/floorRegion.js');
  const grid = Array.from({ length: 1024 }, (_, i) => i / 1023);
  const density = grid.map((x, i) => (i === 777 ? 5 : Math.exp(-x * 40)));
  density[10] = Number.NaN;
  const floor = 1e-9;
  const rows = resolvedRows(grid, density, floor);
  assert.ok(rows.length <= MAX_PLOT_POINTS && rows.length >= 100, `${rows.length} rows`);
  assert.equal(Math.max(...rows.map((r) => r.y)), 5, 'the narrow peak survives thinning');
  assert.ok(
    rows.every((r) => Number.isFinite(r.y) && r.y >= floor),
    'no point below the floor',
  );
  // exp(−40x) < 1e-9 from x ≈ 0.518: the isolated peak at x = 777/1023 is its own segment
  const peak = rows.find((r) => r.y === 5)!;
  assert.ok(
    rows.filter((r) => r.seg === peak.seg).every((r) => r.x > 0.7),
    'the peak is not joined to the decay',
  );
  assert.deepEqual(
    resolvedRows([0, 1, 2], [1, 0, 2], 1e-3).map((r) => [r.x, r.seg]),
    [
      [0, 1],
      [2, 2],
    ],
  );
});

test('spectrumSeriesFromSlq: a real SLQ + log-spectrum of a known spectrum feeds Figure 1 and the H panel', async () => {
  const { slqDensity } = await import('../../src/linalg/slq.js');
  const { logSpectrumDensity } = await import('../../src/linalg/logSpectrum.js');
  const { diagonalOperator } = await import('../../src/linalg/operatorAlgebra.js');
  const { spectrumSeriesFromSlq } = await import('../../src/report/spectrumSeries.js');
  const { Rng } = await import('../../src/util/random.js');
  const rng = new Rng(2);
  // 400 bulk eigenvalues in [0, 1] plus 3 outliers at 20, 30, 40; a symmetric "H"
  const d = Float64Array.from({ length: 403 }, (_, i) => (i < 400 ? rng.uniform() : 20 + 10 * (i - 400)));
  const h = Float64Array.from({ length: 400 }, () => rng.normal() * 0.3);
  const slq = await slqDensity(diagonalOperator(d), { steps: 40, startVectors: 2, seed: 1, gridSize: 300 });
  const slqH = await slqDensity(diagonalOperator(h), { steps: 40, startVectors: 2, seed: 1, gridSize: 300 });
  const tags = { dataset: 'known', model: 'diag', epoch: 1 };
  const hess = spectrumSeriesFromSlq(slq, { operator: 'hessian', split: 'train', tags, outliers: [20, 40, 30], trace: 100 });
  assert.deepEqual(hess.outliers, [40, 30, 20]);
  const res = spectrumSeriesFromSlq(slqH, {
    operator: 'residual',
    split: 'train',
    tags,
    logSpectrum: logSpectrumDensity(slqH.measure, { steps: 40 }),
  });
  assert.ok(
    res.logSpectrum !== undefined && res.logSpectrum.grid.length > 10 && (res.logSpectrum.negativeGrid?.length ?? 0) > 10,
  );
  const data = validateReportData(JSON.parse(JSON.stringify({ title: 'known spectra', spectra: [hess, res] })));
  const html = await renderReport(data);
  for (const id of ['figure1', 'attribution-train', 'log-spectrum-h'])
    assert.match(html, new RegExp(`data-figure="${id}" data-status="rendered"`));
  // the density integrates to ≈ 1 and all but the outliers’ share (3/403) sits near the bulk [0, 1]
  let mass = 0;
  let bulk = 0;
  for (let i = 1; i < hess.grid.length; i++) {
    const w = (hess.grid[i]! - hess.grid[i - 1]!) * hess.density[i]!;
    mass += w;
    if (hess.grid[i]! <= 5) bulk += w; // the kernel (σ ≈ 0.4 here) smears the bulk [0, 1] a little
  }
  assert.ok(Math.abs(mass - 1) < 0.05 && bulk > 0.95, `mass ${mass}, bulk ${bulk}`);
});
