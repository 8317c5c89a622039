/**
 * `specpipe init` (minimal template) run end to end in a temp store, then `specpipe export` in CSV,
 * JSON and Arrow, checked against the artifacts' own readers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBuiltinCli, runJson, tempWorkspace } from '../pipeline/cliHarness.js';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { SPECTRUM_FILES } from '../../src/stages/spectrum-slq/spectrumArtifact.js';
import { TRAIN_METRICS_FILE } from '../../src/stages/train-sgd/trainArtifact.js';

const dir = tempWorkspace('specpipe-export-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runBuiltinCli(args, dir);

function csv(path: string): { header: string[]; rows: string[][] } {
  const [head, ...rest] = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: head!.split(','), rows: rest.map((l) => l.split(',')) };
}

test('the minimal template runs end to end; export writes its spectra, traces and history as CSV, JSON and Arrow', async () => {
  const init = await cli(['init', '--template', 'minimal']);
  assert.equal(init.code, 0, init.stderr);
  const run = await runJson(['pipeline.yaml'], { cwd: dir });
  assert.deepEqual(
    run.stages.map((s) => [s.name, s.status]),
    [
      ['data', 'executed'],
      ['train', 'executed'],
      ['spectrum', 'executed'],
    ],
  );
  const spectrumDir = run.stages.find((s) => s.name === 'spectrum')!.artifacts;
  const trainDir = run.stages.find((s) => s.name === 'train')!.artifacts;

  // CSV, every instance.
  const r = await cli(['export', 'last', '--out', 'out-csv']);
  assert.equal(r.code, 0, r.stderr);
  const out = join(dir, 'out-csv');
  assert.equal(
    r.stdout,
    [
      'train/history.csv',
      'spectrum/density.csv',
      'spectrum/ritz.csv',
      'spectrum/quadratures.csv',
      'spectrum/outliers.csv',
      'traces.csv',
    ]
      .map((f) => join(out, f) + '\n')
      .join(''),
  );
  assert.equal(r.stderr, `exported 6 files of run ${run.run} (csv) to ${out}\n`);

  const density = readArrowFile(join(spectrumDir, SPECTRUM_FILES.density)).columns;
  const d = csv(join(out, 'spectrum', 'density.csv'));
  assert.deepEqual(d.header, ['x', 'y']);
  assert.deepEqual(
    d.rows.map((row) => Number(row[1])),
    Array.from(density['y'] as Float64Array),
    'the density, to the last digit',
  );
  const ritz = csv(join(out, 'spectrum', 'ritz.csv'));
  assert.deepEqual(ritz.header, ['nodes', 'weights']);
  assert.equal(ritz.rows.length, 8, '8 Lanczos steps × 1 start vector');
  assert.ok(Math.abs(ritz.rows.reduce((s, row) => s + Number(row[1]), 0) - 1) < 1e-9, 'weights sum to 1');
  const quadratures = csv(join(out, 'spectrum', 'quadratures.csv'));
  assert.deepEqual(quadratures.header, ['run', 'nodes', 'weights']);
  assert.deepEqual(
    quadratures.rows.map((row) => row[1]),
    ritz.rows.map((row) => row[0]),
    'one start vector: its quadrature is the measure',
  );
  const outliers = csv(join(out, 'spectrum', 'outliers.csv'));
  assert.deepEqual(outliers.header, ['value', 'residual', 'converged']);
  assert.equal(outliers.rows.length, 3);
  assert.ok(Number(outliers.rows[0]![0]) >= Number(outliers.rows[1]![0]), 'descending');
  const history = csv(join(out, 'train', 'history.csv'));
  assert.deepEqual(history.header.slice(0, 6), ['epoch', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'seconds']);
  assert.deepEqual(
    history.rows.map((row) => row[0]),
    ['1'],
  );
  const traces = csv(join(out, 'traces.csv'));
  assert.deepEqual(traces.header, ['instance', 'kind', 'quantity', 'value', 'stderr', 'method', 'seed']);
  assert.deepEqual(new Set(traces.rows.map((row) => row[6])), new Set(['0']), 'the pipeline seed of every instance');
  assert.deepEqual(
    traces.rows.map((row) => [row[0], row[1], row[2], row[5]]),
    [
      ['spectrum', 'spectrum/slq', 'tr ggn', 'slq'],
      ['spectrum', 'spectrum/slq', 'tr ggn', 'hutch++'],
    ],
  );
  const hutch = traces.rows[1]!;
  assert.ok(Number(hutch[3]) > 0 && Number(hutch[4]) >= 0, `tr G = ${hutch[3]} ± ${hutch[4]} (G is PSD)`);

  // JSON, one stage; --json lists the files.
  const j = await cli(['export', run.run.slice(0, 12), 'spectrum', '--format', 'json', '--out', 'out-json', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const listing = JSON.parse(j.stdout) as { run: string; files: string[]; skipped: unknown[] };
  assert.equal(listing.run, run.run);
  assert.deepEqual(
    listing.files.map((f) => f.slice(join(dir, 'out-json').length + 1)),
    ['spectrum/density.json', 'spectrum/ritz.json', 'spectrum/quadratures.json', 'spectrum/outliers.json', 'traces.json'],
  );
  const rows = JSON.parse(readFileSync(join(dir, 'out-json', 'spectrum', 'outliers.json'), 'utf8')) as {
    value: number;
    residual: number;
    converged: number;
  }[];
  assert.deepEqual(
    rows.map((x) => x.value),
    outliers.rows.map((row) => Number(row[0])),
  );
  assert.ok(!existsSync(join(dir, 'out-json', 'train')), 'only the named stage');

  // Arrow, the training history equals the artifact's.
  const a = await cli(['export', 'last', 'train', '--format', 'arrow', '--out', 'out-arrow']);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(readdirSync(join(dir, 'out-arrow')), ['train']);
  const exported = readArrowFile(join(dir, 'out-arrow', 'train', 'history.arrow'));
  const original = readArrowFile(join(trainDir, TRAIN_METRICS_FILE));
  assert.deepEqual(exported.columns, original.columns);
  assert.equal(exported.metadata['instance'], 'train');

  // Papyan's decomposition: exact traces of A1, A2, B1 and Hutch++'s of B2 with its error bar; they add up to tr G.
  writeFileSync(
    join(dir, 'decompose.yaml'),
    readFileSync(join(dir, 'pipeline.yaml'), 'utf8') +
      '  decompose:\n    uses: decompose/class-gradients\n    needs: [train]\n    with: { trace_matvecs: 6 }\n',
  );
  const second = await runJson(['decompose.yaml'], { cwd: dir });
  assert.deepEqual(
    second.stages.map((s) => s.status),
    ['cached', 'cached', 'cached', 'executed'],
  );
  const dx = await cli(['export', 'last', 'decompose', '--out', 'out-dec']);
  assert.equal(dx.code, 0, dx.stderr);
  assert.equal(dx.stdout, join(dir, 'out-dec', 'traces.csv') + '\n', 'a decomposition has traces only');
  const pieces = csv(join(dir, 'out-dec', 'traces.csv')).rows;
  assert.deepEqual(
    pieces.map((row) => [row[0], row[2], row[5]]),
    [
      ['decompose', 'tr A1', 'exact'],
      ['decompose', 'tr A2', 'exact'],
      ['decompose', 'tr B1', 'exact'],
      ['decompose', 'tr B2', 'hutch++'],
    ],
  );
  assert.deepEqual(
    pieces.slice(0, 3).map((row) => row[4]),
    ['0', '0', '0'],
  );
  const sum = pieces.reduce((s, row) => s + Number(row[3]), 0);
  const [trG, trGerr, b2err] = [Number(hutch[3]), Number(hutch[4]), Number(pieces[3]![4])];
  assert.ok(b2err > 0, `tr B2 has an error bar: ${b2err}`);
  assert.ok(Math.abs(sum - trG) <= 4 * (trGerr + b2err), `tr A1 + tr A2 + tr B1 + tr B2 = ${sum} vs tr G = ${trG} ± ${trGerr}`);

  // Errors name what was wrong.
  const bad = await cli(['export', 'last', 'spectra']);
  assert.deepEqual(bad, {
    code: 1,
    stdout: '',
    stderr: `specpipe export: run ${second.run} has no stage or instance "spectra" (stages: data, train, spectrum, decompose)\n`,
  });
  const fmt = await cli(['export', 'last', '--format', 'xlsx']);
  assert.deepEqual(fmt, {
    code: 2,
    stdout: '',
    stderr: 'specpipe export: --format: expected csv, json, arrow, received "xlsx"\n',
  });
});
