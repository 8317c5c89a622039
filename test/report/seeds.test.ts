/**
 * Seeds end to end: a tiny MLP trained from 3 seeds (test/report/fixtures/seeds-tiny.yaml, seconds),
 * its Hessian and G per seed, and the report: the numbers table shows mean ± sd (n = 3) computed
 * from the instances' artifacts, figures say what their band is, `export` and `show` name each
 * instance's seed; an unseeded report passes through the seed grouping unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson, tempWorkspace } from '../pipeline/cliHarness.js';
import type { Manifest } from '../../src/store/manifest.js';
import type { ReportData } from '../../src/report/reportData.js';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { groupSeeds, meanSd, withSeed } from '../../src/report/seedGroups.js';
import { mergeFragments } from '../../src/report/reportFragment.js';
import { renderReport } from '../../src/report/renderReport.js';
import { logSpectrumFits, overlaySpec, scalarsSpec } from '../../src/report/reportSpecs.js';
import { syntheticReportData } from './syntheticReportData.js';
import { sharedKernel } from '../../src/report/sharedKernel.js';
import { smoothedDensity } from '../../src/linalg/slq.js';

const FIXTURE = join(import.meta.dirname, '..', '..', '..', 'test', 'report', 'fixtures', 'seeds-tiny.yaml');

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

/** The numbers table's rows: quantity → value cell (HTML entities of the renderer undone). */
function numbersTable(html: string): Map<string, string> {
  const table = html.slice(html.indexOf('<section id="numbers">'));
  const rows = new Map<string, string>();
  for (const m of table.matchAll(/<tr><td>[^<]*<\/td><td>([^<]*)<\/td><td class="num">([^<]*)<\/td>/g))
    rows.set(m[1]!.replace(/&amp;/g, '&'), m[2]!);
  return rows;
}

/** "17.35 ± 4.502 (n = 3)" → [17.35, 4.502, 3]. */
function parseSpread(cell: string): [number, number, number] {
  const m = /^(\S+) ± (\S+) \(n = (\d+)\)$/.exec(cell);
  assert.ok(m !== null, `a "mean ± sd (n = k)" cell, received ${JSON.stringify(cell)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Agreement to the 4 significant digits the table prints. */
function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 6e-4 * Math.abs(expected) + 1e-12, `${what}: table ${actual}, artifacts ${expected}`);
}

test('seeds: [0, 1, 2] runs each seed, and the report gives mean ± sd with n = 3 from the artifacts', async () => {
  const dir = tempWorkspace('specpipe-seeds-');
  const run = await runJson([FIXTURE], { cwd: dir });
  const byName = new Map(run.stages.map((s) => [s.name, s]));
  assert.deepEqual(
    run.stages.map((s) => [s.name, s.status]),
    [
      ['data', 'executed'],
      ['train[seed=0]', 'executed'],
      ['train[seed=1]', 'executed'],
      ['train[seed=2]', 'executed'],
      ['spectrum[seed=0,operator=hessian]', 'executed'],
      ['spectrum[seed=0,operator=ggn]', 'executed'],
      ['spectrum[seed=1,operator=hessian]', 'executed'],
      ['spectrum[seed=1,operator=ggn]', 'executed'],
      ['spectrum[seed=2,operator=hessian]', 'executed'],
      ['spectrum[seed=2,operator=ggn]', 'executed'],
      ['report', 'executed'],
    ],
  );
  // Each seed trained its own net: the manifests record the seed, the histories differ.
  const seeds = [0, 1, 2];
  const trains = seeds.map((s) => byName.get(`train[seed=${s}]`)!.artifacts);
  assert.deepEqual(
    trains.map((d) => manifestOf(d).seed),
    seeds,
  );
  const histories = trains.map((d) => readArrowFile(join(d, 'metrics.arrow')).columns);
  assert.notDeepEqual(histories[0]!['train_loss'], histories[1]!['train_loss']);

  const reportDir = byName.get('report')!.artifacts;
  const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
  const rows = numbersTable(html);
  const where = (split: string) => `[mnist, mlp, epoch 2, ${split}]`;
  for (const op of ['hessian', 'ggn']) {
    const manifests = seeds.map((s) => manifestOf(byName.get(`spectrum[seed=${s},operator=${op}]`)!.artifacts));
    for (const [quantity, metric] of [
      [`λ_max (SLQ) of ${op} ${where('train')}`, 'top_eigenvalue'],
      [`tr ${op} (Hutch++, 9 products) ${where('train')}`, 'trace_hutchpp'],
    ] as const) {
      const cell = rows.get(quantity);
      assert.ok(cell !== undefined, `row "${quantity}" in ${[...rows.keys()].join(' | ')}`);
      const [mean, sd, n] = parseSpread(cell);
      const expected = meanSd(manifests.map((m) => m.metrics[metric]!));
      assert.equal(n, 3);
      close(mean, expected.mean, `${quantity} mean`);
      close(sd, expected.sd, `${quantity} sd`);
      assert.ok(expected.sd > 0, 'the seeds differ');
    }
  }
  // The final accuracies, from the training histories.
  for (const [split, column] of [
    ['test', 'test_acc'],
    ['train', 'train_acc'],
  ] as const) {
    const [mean, sd, n] = parseSpread(rows.get(`final ${split} accuracy ${where(split)}`)!);
    const finals = histories.map((h) => (h[column] as Float64Array).at(-1)!);
    const expected = meanSd(finals);
    assert.equal(n, 3);
    close(mean, expected.mean, `${split} accuracy mean`);
    close(sd, expected.sd, `${split} accuracy sd`);
  }

  // Figures with seeds say what they show.
  const caption = (id: string): string =>
    new RegExp(`<figure id="c0-${id}"[^>]*data-status="rendered">.*?<figcaption>(.*?)</figcaption>`, 's').exec(html)?.[1] ?? '';
  assert.match(caption('figure1'), /Mean density over n = 3 seeds .*coloured band: pointwise min–max across the seeds/);
  assert.match(caption('attribution-train'), /n = 3 seeds/);
  // reportfix draws scalars only where they were measured at several checkpoints; here the spectra are of
  // the final checkpoint only, so λ_max and the traces are in the numbers table (mean ± sd above), not a figure
  assert.doesNotMatch(html, /data-figure="dynamics-scalars"/);
  assert.match(caption('training'), /shaded band ±1 sd across seeds\.$/);

  // The report's data keeps every seed's items, tagged; the grouping happens when rendering.
  const data = JSON.parse(readFileSync(join(reportDir, 'report-data.json'), 'utf8')) as ReportData;
  assert.deepEqual(
    data.spectra!.map((s) => [s.operator, s.seed]),
    [
      ['hessian', 0],
      ['ggn', 0],
      ['hessian', 1],
      ['ggn', 1],
      ['hessian', 2],
      ['ggn', 2],
    ],
  );
  const grouped = groupSeeds(data).spectra!;
  assert.equal(grouped.length, 2);
  const hess = grouped.find((s) => s.operator === 'hessian')!;
  assert.equal(hess.seedBand!.n, 3);
  for (let i = 0; i < hess.grid.length; i++)
    assert.ok(
      hess.seedBand!.lo[i]! <= hess.density[i]! + 1e-15 && hess.density[i]! <= hess.seedBand!.hi[i]! + 1e-15,
      `band at ${i}`,
    );
  const traces = data.spectra!.filter((s) => s.operator === 'hessian').map((s) => s.trace!);
  close(hess.trace!, meanSd(traces).mean, 'mean trace');
  // The figures draw it: a band layer under the mean curves (reportfix's density panel: floor, one
  // kernel width; each seed re-smoothed at that width), error bars on the scalars; one seed alone draws none.
  type Layer = { mark: { type: string }; data?: { values: { lo?: number; hi?: number }[] } };
  const overlay = overlaySpec(grouped, 'Hess vs G');
  const layers = (overlay.spec as unknown as { layer: Layer[] }).layer;
  const types = layers.map((l) => l.mark.type);
  const area = types.indexOf('area');
  assert.ok(area >= 0 && area < types.indexOf('line'), types.join(', '));
  const bandRows = layers[area]!.data!.values;
  assert.ok(bandRows.length > 0 && bandRows.every((r) => r.lo! <= r.hi!));
  assert.match(overlay.notes.join(' '), /Seeds \(n = 3\): every seed's SLQ measure smoothed at σ = \S+ before their mean/);
  const single = overlaySpec(
    data.spectra!.filter((s) => s.seed === 0),
    'one seed',
  );
  assert.deepEqual(
    (single.spec as unknown as { layer: Layer[] }).layer.filter((l) => l.mark.type === 'area'),
    [],
  );
  const scalars = scalarsSpec(
    [
      { name: 'λ_max', epoch: 0, value: 1, spread: { n: 3, sd: 0.25 } },
      { name: 'λ_max', epoch: 2, value: 3, spread: { n: 3, sd: 0.5 } },
    ],
    's',
  ) as unknown as {
    concat: { layer?: { mark: { type: string } }[]; data: { values: { lo?: number; hi?: number }[] } }[];
  };
  assert.deepEqual(
    scalars.concat[0]!.layer?.map((l) => l.mark.type),
    ['line', 'rule'],
  );
  assert.deepEqual([scalars.concat[0]!.data.values[1]!.lo, scalars.concat[0]!.data.values[1]!.hi], [2.5, 3.5]);

  // export: a seed column in traces and the seed in every instance's directory name.
  const ex = await runCli(['export', 'last', 'spectrum', '--out', 'out'], { cwd: dir, process: true });
  assert.equal(ex.code, 0, ex.stderr);
  const lines = readFileSync(join(dir, 'out', 'traces.csv'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(lines[0], 'instance,kind,quantity,value,stderr,method,seed');
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(',').at(-1)),
    ['0', '0', '0', '0', '1', '1', '1', '1', '2', '2', '2', '2'],
  );
  assert.ok(ex.stdout.includes(join('out', 'spectrum.seed=1,operator=ggn', 'density.csv')), ex.stdout);
  // show: an instance's seed.
  const show = await runCli(['show', 'spectrum[seed=2,operator=ggn]'], { cwd: dir });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^spectrum\[seed=2,operator=ggn\] /);
  assert.match(show.stdout, /, seed 2, computed /);
});

test('an unseeded report passes through the seed grouping unchanged', () => {
  const data: ReportData = {
    title: 't',
    spectra: [
      { operator: 'hessian', split: 'train', epoch: 1, grid: [0, 1], density: [1, 0] },
      { operator: 'hessian', split: 'train', epoch: 1, grid: [0, 2], density: [0.5, 0] },
    ],
    numbers: [
      { name: 'x', value: 1 },
      { name: 'x', value: 2 },
    ],
    scalars: [{ name: 'λ', value: 3 }],
    training: [{ epoch: 1, split: 'train', loss: 1 }],
  };
  assert.deepEqual(groupSeeds(data), data);
});

test('meanSd is the sample mean and the n − 1 standard deviation', () => {
  assert.deepEqual(meanSd([2, 4, 9]), { mean: 5, sd: Math.sqrt((9 + 1 + 16) / 2) });
  assert.deepEqual(meanSd([7]), { mean: 7, sd: 0 });
});

test('numbers the report derives (log-spectrum fits) are computed per seed, then given as mean ± sd', async () => {
  // The same synthetic run per seed, H's log-spectrum tilted by λ^(−0.1·seed) so that each seed has its own exponent.
  const tilted = (seed: number): ReportData => {
    const d = syntheticReportData();
    return {
      ...d,
      spectra: d.spectra!.map((x) =>
        x.operator !== 'residual' || x.logSpectrum === undefined
          ? x
          : {
              ...x,
              logSpectrum: {
                ...x.logSpectrum,
                density: x.logSpectrum.density.map((y, i) => y * x.logSpectrum!.grid[i]! ** (-0.1 * seed)),
              },
            },
      ),
    };
  };
  const perSeed = [1, 2, 3].map((s) => ({ seed: s, data: tilted(s) }));
  const data = mergeFragments(
    { title: 'seeded' },
    perSeed.map(({ seed, data: { title: _, ...f } }) => withSeed(f, seed)),
  );
  const html = await renderReport(data);
  const rows = numbersTable(html);
  const name = [...rows.keys()].find((k) => k.includes('power-law exponent α'));
  assert.ok(name !== undefined, [...rows.keys()].join(' | '));
  const split = /\[(train|test)\]$/.exec(name)![1];
  // Each seed's own fit, at the snapshot the panel shows (largest sample size, latest epoch).
  const alphas = perSeed.map(({ data: d }) => {
    const h = d.spectra!.filter((x) => x.operator === 'residual' && x.split === split);
    const spc = Math.max(...h.map((x) => x.samplesPerClass ?? 0));
    const epoch = Math.max(...h.filter((x) => x.samplesPerClass === spc).map((x) => x.epoch ?? 0));
    return logSpectrumFits(h.find((x) => x.samplesPerClass === spc && x.epoch === epoch)!).powerLaw!.exponent;
  });
  const [mean, sd, n] = parseSpread(rows.get(name)!);
  const expected = meanSd(alphas);
  assert.equal(n, 3);
  close(mean, expected.mean, 'α mean');
  close(sd, expected.sd, 'α sd');
  assert.ok(expected.sd > 0, `the seeds' exponents differ: ${alphas.join(', ')}`);
});

test("a seeded pipeline renders with the report's drawing (floor, one kernel per overlay) and the band across seeds", async () => {
  const dir = tempWorkspace('specpipe-seeds-drawing-');
  const run = await runJson([FIXTURE], { cwd: dir });
  const reportDir = run.stages.find((s) => s.name === 'report')!.artifacts;
  const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
  const caption = (id: string): string =>
    new RegExp(`<figure id="c0-${id}"[^>]*data-status="rendered">.*?<figcaption>(.*?)</figcaption>`, 's').exec(html)?.[1] ?? '';
  // Hess vs G: one shared kernel width, the resolution floor, the band across the 3 seeds named with n
  const attribution = caption('attribution-train');
  assert.match(attribution, /All curves smoothed with one Gaussian kernel, σ = \S+ in λ units/);
  assert.match(attribution, /Shaded: below resolution, density &lt; \S+/);
  assert.match(attribution, /Seeds \(n = 3\): every seed's SLQ measure smoothed at σ = \S+ before their mean and min–max band/);
  assert.match(attribution, /Mean density over n = 3 seeds .*coloured band: pointwise min–max across the seeds/);
  assert.match(attribution, /not the start-vector band of one run/);
  // Figure 1 (one curve per panel): the seeds' mean at one width, the floor, the band across seeds
  assert.match(caption('figure1'), /Seeds \(n = 3\): every seed's SLQ measure smoothed at σ = /);
  assert.match(caption('figure1'), /Shaded: below resolution/);
  assert.match(html, /below resolution/);

  // The overlay's spec: floor rectangle, an area layer of the seed band before the mean curves.
  const data = JSON.parse(readFileSync(join(reportDir, 'report-data.json'), 'utf8')) as ReportData;
  assert.ok(data.spectra!.every((s) => s.measure !== undefined && s.seed !== undefined && s.axes?.['seed'] === undefined));
  const grouped = groupSeeds(data).spectra!;
  assert.equal(grouped.length, 2, 'the seeds are one group per operator (seed is no legend axis)');
  type Layer = { mark: { type: string }; data?: { values: Record<string, number | string>[] } };
  const overlay = overlaySpec(grouped, 'Hess vs G');
  const layers = (overlay.spec as unknown as { layer: Layer[] }).layer;
  const types = layers.map((l) => l.mark.type);
  assert.equal(types[0], 'rect', 'the below-resolution band first');
  const area = types.indexOf('area');
  assert.ok(area > 0 && area < types.indexOf('line'), types.join(', '));
  const band = layers[area]!.data!.values;
  assert.deepEqual([...new Set(band.map((r) => r['curve']))].sort(), ['G', 'Hess']);

  // Consistency at the shared width: the mean curve is the mean of the seeds re-smoothed at σ, inside their min–max.
  const shared = sharedKernel(grouped);
  assert.ok(shared.sigma !== undefined);
  const seedsOfHess = data.spectra!.filter((s) => s.operator === 'hessian');
  const hess = shared.curves.find((c) => c.series.operator === 'hessian')!;
  const grid = Float64Array.from(hess.grid);
  const per = seedsOfHess.map((s) =>
    smoothedDensity(
      { nodes: Float64Array.from(s.measure!.nodes), weights: Float64Array.from(s.measure!.weights) },
      grid,
      shared.sigma!,
    ),
  );
  let peak = 0;
  for (const d of hess.density) peak = Math.max(peak, d);
  for (let i = 0; i < grid.length; i++) {
    const mean = (per[0]![i]! + per[1]![i]! + per[2]![i]!) / 3;
    assert.ok(Math.abs(hess.density[i]! - mean) <= 1e-9 * peak, `mean at ${i}`);
    assert.ok(
      hess.seedBand!.lo[i]! <= hess.density[i]! + 1e-12 * peak && hess.density[i]! <= hess.seedBand!.hi[i]! + 1e-12 * peak,
    );
    assert.equal(hess.seedBand!.hi[i], Math.max(per[0]![i]!, per[1]![i]!, per[2]![i]!));
  }
});
