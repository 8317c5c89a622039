/**
 * Reports for any pipeline, driven through the CLI as a user would: the minimal template, a tiny
 * Fashion-MNIST pipeline with its own matrix axis (lr) and a report stage, and `specpipe report
 * RUN_A RUN_B` over two runs that differ by a learning rate. Each present stage kind contributes
 * its figures, nothing is drawn as "No data", legends use the pipeline's axes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBuiltinCli, tempWorkspace } from '../pipeline/cliHarness.js';
import { validateReportData } from '../../src/report/reportData.js';

const dir = tempWorkspace('specpipe-report-pipelines-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const repoRoot = join(import.meta.dirname, '..', '..', ...(import.meta.url.endsWith('.js') ? ['..'] : []));
const cli = (args: string[]) => runBuiltinCli(args, dir);

interface RunOut {
  readonly run: string;
  readonly stages: { name: string; status: string; artifacts: string }[];
}

async function run(file: string, ...extra: string[]): Promise<RunOut> {
  const r = await cli(['run', file, '--store', 'store/artifacts', '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as RunOut;
}

/** data-figure ids of the rendered figures, in order. */
function figureIds(html: string): string[] {
  return [...html.matchAll(/<figure id="[^"]*" data-figure="([^"]+)" data-status="rendered"/g)].map((m) => m[1]!);
}

/** The text Vega wrote into the SVG of one figure. */
function figureText(html: string, id: string): string {
  const start = html.indexOf(`data-figure="${id}"`);
  assert.ok(start >= 0, `figure ${id} present`);
  const end = html.indexOf('</figure>', start);
  return [...html.slice(start, end).matchAll(/>([^<>]+)</g)].map((m) => m[1]).join('\n');
}

test('minimal pipeline: the spectrum stage contributes its density (floor stated, top-k marked), train its curves; no "No data", no "samples/class"', async () => {
  copyFileSync(join(repoRoot, 'pipelines', 'minimal.yaml'), join(dir, 'minimal.yaml'));
  const r = await run('minimal.yaml');
  const rep = await cli(['report', 'last', '--store', 'store/artifacts', '--out', 'minimal.html']);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, new RegExp(`^specpipe report: wrote minimal\\.html \\(\\d+ KiB\\) from run ${r.run}\\n$`));
  const html = readFileSync(join(dir, 'minimal.html'), 'utf8');
  assert.deepEqual(figureIds(html), ['spectrum-ggn', 'training']);
  assert.doesNotMatch(html, /No data|data-status="missing"/);
  assert.doesNotMatch(html, /samples\/class/, 'the pipeline sets no sample-size axis');
  const g = figureText(html, 'spectrum-ggn');
  assert.match(g, /train G \(top 3 eigenvalues ▼\)/);
  assert.match(g, /below resolution/);
  // the caption states the floor from the artifact's P and σ
  const P = Number(/with P = (\d+)/.exec(html)?.[1]);
  const sigma = Number(/σ = ([\d.e-]+)\)/.exec(html)?.[1]);
  const floor = Number(/density &lt; ([\d.e+-]+) \(1\/100 of one eigenvalue/.exec(html)?.[1]);
  assert.ok(P > 1000 && sigma > 0, `P ${P}, σ ${sigma}`);
  assert.ok(Math.abs(floor - 0.01 / (P * sigma * Math.sqrt(2 * Math.PI))) / floor < 0.06, `floor ${floor}`);
});

test('a tiny Fashion-MNIST pipeline with its own axis lr and a report stage: each stage kind contributes, legends say lr', async () => {
  writeFileSync(
    join(dir, 'fashion.yaml'),
    `name: fashion-tiny
seed: 0
stages:
  data:
    uses: data/fashion-mnist
    with: { train_per_class: 8, test_per_class: 4 }
  train:
    uses: train/sgd
    needs: [data]
    matrix: { lr: [0.05, 0.2] }
    with: { model: { kind: mlp, hidden: [8] }, epochs: 2, batch_size: 20, checkpoints: [0, 2] }
  spectrum:
    uses: spectrum/slq
    needs: [train]
    matrix: { operator: [hessian, ggn] }
    with: { lanczos_steps: 8, start_vectors: 2, top_k: 2 }
  report:
    uses: report/html
    gather: [train, spectrum]
`,
  );
  const r = await run('fashion.yaml');
  const report = r.stages.find((s) => s.name === 'report')!;
  const html = readFileSync(join(report.artifacts, 'report.html'), 'utf8');
  const data = validateReportData(JSON.parse(readFileSync(join(report.artifacts, 'report-data.json'), 'utf8')));
  assert.doesNotMatch(html, /No data|data-status="missing"|samples\/class/);
  // spectrum → Figure 1 (its Hessian, band from 2 start vectors) and Hess vs G; train → its curves
  assert.deepEqual(figureIds(html), ['figure1', 'attribution-train', 'training']);
  assert.match(html, /Band: mean ± t\(0\.975, 1\) standard errors over 2 start vectors/);
  assert.match(html, /All curves smoothed with one Gaussian kernel, σ = /);
  // every series carries the pipeline's axis; the training legend names it and both values
  assert.deepEqual([...new Set(data.spectra!.map((s) => s.axes?.['lr']))].sort(), [0.05, 0.2]);
  const t = figureText(html, 'training');
  assert.match(t, /\blr\b/);
  assert.match(t, /lr=0\.05/);
  assert.match(t, /lr=0\.2/);
  // the main panels name the variant they show
  assert.match(html, /Attribution \(train, epoch 2, lr=0\.05\)/);
});

test('specpipe report RUN_A RUN_B: the same figures of two runs side by side, columns and titles naming the runs', async () => {
  const a = await run('minimal.yaml');
  const b = await run('minimal.yaml', '--set', 'train.with.lr=0.2');
  const rep = await cli(['report', a.run, b.run, '--store', 'store/artifacts', '--out', 'cmp.html']);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, new RegExp(`^specpipe report: wrote cmp\\.html \\(\\d+ KiB\\) from runs ${a.run} and ${b.run}\\n$`));
  const html = readFileSync(join(dir, 'cmp.html'), 'utf8');
  assert.match(html, /<section id="case-0" data-compare="2">/);
  // G of both runs overlaid at one kernel width, the legend naming the runs
  const overlay = figureText(html, 'compare-ggn-train');
  assert.ok(overlay.includes(a.run) && overlay.includes(b.run), overlay);
  assert.match(html, /G \(train\) of each run overlaid, a colour per run\. All curves smoothed with one Gaussian kernel/);
  const rows = [...html.matchAll(/<div class="compare" data-figure-row="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(rows, ['spectrum-ggn', 'training']);
  for (const id of rows) {
    const row = html.slice(
      html.indexOf(`data-figure-row="${id}"`),
      html.indexOf('</div></div>', html.indexOf(`data-figure-row="${id}"`)),
    );
    const cells = [...row.matchAll(/<div class="cell" data-run="([^"]+)"><figure/g)].map((m) => m[1]);
    assert.deepEqual(cells, [a.run, b.run], `${id}: a column per run`);
  }
  assert.match(figureText(html, 'spectrum-ggn'), new RegExp(`${a.run} — mnist · mlp — train G`));
  assert.ok(html.includes(`${b.run} — mnist · mlp — train G`));
  // numbers name their run; lr differs, so λ_max differs between the columns
  const lmax = (run: string) =>
    Number(new RegExp(`${run}: λ_max \\(SLQ\\) of ggn [^<]*</td><td class="num">([^<]+)<`).exec(html)?.[1]);
  assert.ok(Number.isFinite(lmax(a.run)) && Number.isFinite(lmax(b.run)) && lmax(a.run) !== lmax(b.run));
  // the same run twice is refused with the reason
  const same = await cli(['report', a.run, a.run, '--store', 'store/artifacts']);
  assert.equal(same.code, 2);
  assert.match(same.stderr, /the runs to compare must differ/);
  assert.ok(!existsSync(join(dir, `report-${a.run}-vs-${a.run}.html`)));
});
