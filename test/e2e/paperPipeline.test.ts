/**
 * Issue 6 end to end: a TINY variant of the default pipeline (pipelines/mnist-mlp.yaml shrunk through
 * --set: real MNIST digits, 4 and 8 per class, a 784-16-10 MLP, 2 epochs, few Lanczos steps) through
 * every stage kind — train, spectrum/slq of hessian, ggn, residual, deflated, a1, a2, b1, b2,
 * decompose/class-gradients, embed/tsne, embed/umap — to report/html; then the report opened in
 * headless Chromium: every figure rendered, no console errors, a screenshot kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { runJson, statuses, tempWorkspace } from '../pipeline/cliHarness.js';
import { CHROMIUM, HAVE_CHROMIUM, renderInChromium } from '../report/reportBrowser.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const DEFAULT = join(repoRoot, 'pipelines', 'mnist-mlp.yaml');

const TINY = [
  'data.with.train_per_class=8',
  'data.with.test_per_class=4',
  'train.matrix.train_per_class=[4, 8]',
  'train.with.model={ kind: mlp, hidden: [16] }',
  'train.with.epochs=2',
  'train.with.checkpoints=[0, 1, 2]',
  'spectra.with.lanczos_steps=8',
  'spectra.with.start_vectors=1',
  'spectra.with.top_k=3',
  'spectra.with.trace_matvecs=60',
  'bulk.with.lanczos_steps=8',
  'bulk.with.top_k=3',
  'bulk.with.deflate=3',
  'dynamics.matrix.checkpoint=[0, 1]',
  'dynamics.with.lanczos_steps=6',
  'dynamics.with.top_k=2',
  'dynamics.with.trace_matvecs=6',
  'decompose.matrix.checkpoint=[0, final]',
  'decompose.with.trace_matvecs=60',
  'pieces.with.lanczos_steps=6',
  'pieces.with.top_k=2',
  'embed.with.iterations=150',
  'umap.with.epochs=50',
  'small_data.with.train_per_class=8',
  'small_data.with.test_per_class=4',
  'small_train.with.train_per_class=8',
  'small_train.with.model={ kind: mlp, hidden: [4] }',
  'small_train.with.epochs=2',
  'small_spectra.with.lanczos_steps=12',
  'small_spectra.with.start_vectors=2',
  'small_bulk.with.lanczos_steps=12',
  'small_decompose.with.trace_matvecs=12',
  'small_pieces.with.lanczos_steps=8',
].flatMap((s) => ['--set', s]);

interface Frag {
  numbers?: { name: string; value: number | string; note?: string }[];
}

test('the paper pipeline (tiny) runs through report/html; pieces add up to G; the report renders in Chromium', async (t) => {
  const dir = tempWorkspace('specpipe-paper-');
  const run = await runJson([DEFAULT, ...TINY], { cwd: dir });
  assert.ok(
    run.stages.every((s) => s.status === 'executed'),
    JSON.stringify(statuses(run)),
  );
  const byName = new Map(run.stages.map((s) => [s.name, s]));
  // 1 data, 2 train, 12 spectra, 8 bulk, 2×2×3 dynamics, 2×3 decompose, 6×4 pieces, 6 t-SNE, 6 UMAP, 1 report;
  // the small net: data, train, 3 spectra, bulk, decompose, 4 pieces, validate
  assert.equal(run.stages.length, 1 + 2 + 12 + 8 + 12 + 6 + 24 + 6 + 6 + 1 + 12);

  // Artifacts on disk.
  const spec = byName.get('spectra[train_per_class=8,operator=hessian,split=train]')!;
  for (const f of [
    'spectrum.arrow',
    'density.arrow',
    'runs.arrow',
    'outliers.arrow',
    'log_density_positive.arrow',
    'report-fragment.json',
  ])
    assert.ok(existsSync(join(spec.artifacts, f)), `hessian spectrum: ${f}`);
  const out = readArrowFile(join(spec.artifacts, 'outliers.arrow')).columns;
  const values = Array.from(out['value'] as Float64Array);
  assert.equal(values.length, 3);
  assert.ok(values[0]! >= values[1]! && values[1]! >= values[2]!, `top-k descending: ${values}`);
  const train = byName.get('train[train_per_class=8]')!;
  assert.ok(existsSync(join(train.artifacts, 'report-fragment.json')), 'training curves fragment');
  const bulkName = 'bulk[train_per_class=8,operator=hessian,split=train]';
  const bulk = readArrowFile(join(byName.get(bulkName)!.artifacts, 'spectrum.arrow'));
  assert.equal(bulk.metadata['operator'], 'hessian-deflated');
  // Deflating the top 3 eigenpairs leaves a top eigenvalue below λ_1 of Hess.
  const bulkTop = Math.max(...(bulk.columns['nodes'] as Float64Array));
  assert.ok(bulkTop < values[0]! * 0.999, `deflated λ_max ${bulkTop} < λ_1 ${values[0]}`);

  // tr G (Hutch++ on the G operator) = tr A1 + tr A2 + tr B1 (exact, Gram) + tr B2 (Hutch++ on G − A1 − A2 − B1).
  const dec = byName.get('decompose[train_per_class=8,checkpoint=final,split=train]')!;
  const summary = JSON.parse(readFileSync(join(dec.artifacts, 'decomposition.json'), 'utf8')) as {
    pieces: Record<string, { trace: number; rank: number; rankBound: number }>;
    traceB2: { value: number; stderr: number };
  };
  assert.ok(summary.pieces['b1']!.rank <= 10 * 8, `rank B1 ${summary.pieces['b1']!.rank} ≤ C(C−2)`);
  const sumPieces =
    summary.pieces['a1']!.trace + summary.pieces['a2']!.trace + summary.pieces['b1']!.trace + summary.traceB2.value;
  const ggn = JSON.parse(
    readFileSync(join(byName.get('spectra[train_per_class=8,operator=ggn,split=train]')!.artifacts, 'manifest.json'), 'utf8'),
  ) as { metrics: Record<string, number> };
  const trG = ggn.metrics['trace_hutchpp']!;
  const tol = 4 * (ggn.metrics['trace_stderr']! + summary.traceB2.stderr) + 0.02 * trG;
  t.diagnostic(`tr G = ${trG} ± ${ggn.metrics['trace_stderr']}; Σ pieces = ${sumPieces} (tr B2 ± ${summary.traceB2.stderr})`);
  assert.ok(Math.abs(sumPieces - trG) <= tol, `tr A1 + tr A2 + tr B1 + tr B2 = ${sumPieces} vs tr G = ${trG} (tol ${tol})`);
  // The a1 piece's SLQ sees A1's exact top eigenvalue (the Gram matrix's).
  const a1 = byName.get('pieces[train_per_class=8,checkpoint=final,split=train,operator=a1]')!;
  const a1Out = readArrowFile(join(a1.artifacts, 'outliers.arrow')).columns['value'] as Float64Array;
  const exact = JSON.parse(readFileSync(join(dec.artifacts, 'decomposition.json'), 'utf8')).pieces.a1.eigenvalues[0] as number;
  assert.ok(Math.abs(a1Out[0]! - exact) <= 1e-4 * exact, `λ_1(A1): Lanczos ${a1Out[0]} vs Gram ${exact}`);

  // The report: artifacts and numbers.
  const report = byName.get('report')!;
  const htmlPath = join(report.artifacts, 'report.html');
  const html = readFileSync(htmlPath, 'utf8');
  assert.doesNotMatch(html, /<script/i);
  // The validation panel: the small net's checks and one row per estimate of it.
  const panel = html.slice(html.indexOf('<section id="validation">'), html.indexOf('<section id="numbers">'));
  assert.match(panel, /<h2>Validation against exact ground truth<\/h2>/);
  assert.match(panel, /P = 250 parameters, N = 80 samples/);
  assert.equal(panel.match(/<tr><td>small_/g)?.length, 11, 'rows: 3 spectra, bulk, 4 pieces, 3 Gram pieces');
  const frag = JSON.parse(readFileSync(join(spec.artifacts, 'report-fragment.json'), 'utf8')) as Frag;
  assert.ok(frag.numbers?.some((n) => n.name.startsWith('top-3 eigenvalues of hessian')));

  if (!HAVE_CHROMIUM) {
    t.skip(`${CHROMIUM} not installed: the browser check did not run`);
    return;
  }
  const shot = join(dir, 'report.png');
  const { errors, figures } = await renderInChromium(htmlPath, shot);
  assert.deepEqual(errors, [], 'no console errors');
  const ids = figures.map((f) => f.id);
  for (const id of [
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
  ])
    assert.ok(ids.includes(id), `figure ${id} present (${ids.join(', ')})`);
  for (const f of figures.filter((x) => x.id !== 'hierarchy')) {
    assert.equal(f.status, 'rendered', `${f.id} rendered (${f.missingText})`);
    assert.equal(f.svgs, 1, `${f.id} has its SVG`);
    assert.ok(f.markGroups > 0 && f.width > 100, `${f.id} has visible marks`);
  }
  assert.ok(statSync(shot).size > 10_000);
  t.diagnostic(`screenshot: ${shot}`);
});

test('the paper pipelines for other datasets validate (not run): stage kinds, instances, models', async () => {
  const { runCli } = await import('../pipeline/cliHarness.js');
  const expected: Record<string, { data: string; instances: number }> = {
    'fashion-sweep.yaml': { data: 'data/fashion-mnist', instances: 134 },
    'cifar10-vgg11.yaml': { data: 'data/cifar10', instances: 64 },
    'cifar100-resnet18.yaml': { data: 'data/cifar100', instances: 64 },
    'mnist-densenet40.yaml': { data: 'data/imagefolder', instances: 64 },
  };
  const files = Object.keys(expected).map((f) => join(repoRoot, 'pipelines', f));
  const r = await runCli(['validate', ...files], { cwd: tempWorkspace() });
  assert.equal(r.code, 0, r.stderr);
  for (const [f, e] of Object.entries(expected)) {
    assert.match(r.stdout, new RegExp(`${f.replace('.', '\\.')}: ok \\(\\d+ stages, ${e.instances} instances\\)`));
    const text = readFileSync(join(repoRoot, 'pipelines', f), 'utf8');
    assert.match(text, new RegExp(`uses: ${e.data}\\n`));
    for (const kind of ['train/sgd', 'spectrum/slq', 'decompose/class-gradients', 'embed/tsne', 'report/html'])
      assert.ok(text.includes(`uses: ${kind}`), `${f} uses ${kind}`);
  }
  // A missing dataset root is an error naming the path, at run time.
  const bad = await runCli(['run', files[1]!, '--set', 'data.with.root=/nonexistent/cifar', '--only', 'data'], {
    cwd: tempWorkspace(),
  });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /\/nonexistent\/cifar/);
});
