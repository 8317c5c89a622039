import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { StageContext, StageKind, UpstreamArtifact } from '../../src/stages/registry.js';
import type { Manifest } from '../../src/store/manifest.js';
import type { RunRecord } from '../../src/store/runRecord.js';
import { writeArrowFile } from '../../src/store/arrowFile.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { decomposeStageKind, type LoadedProblem } from '../../src/stages/decompose-class-gradients/kind.js';
import { CLASS_GRADIENTS_FILE, DECOMPOSITION_FILE } from '../../src/stages/decompose-class-gradients/decompositionArtifact.js';
import type { DecompositionSummary } from '../../src/decompose/decomposition.js';
import { embedTsneStage, embedUmapStage } from '../../src/stages/embed/kinds.js';
import { EMBEDDING_FILE } from '../../src/stages/embed/embeddingArtifact.js';
import { reportHtmlStage, REPORT_DATA_FILE, REPORT_HTML_FILE } from '../../src/stages/report-html/kind.js';
import { newAjv } from '../../src/pipeline/ajvErrors.js';
import { REPORT_FRAGMENT_FILE } from '../../src/report/reportFragment.js';
import type { ReportData } from '../../src/report/reportData.js';
import { reportCommand } from '../../src/cli/commands/report.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { toDense } from '../../src/linalg/operatorAlgebra.js';
import { buildTinyNetwork, randomSplit } from '../curvature/tinyNetworks.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';

/**
 * The stage kinds decompose/class-gradients → embed/tsne, embed/umap → report/html run on
 * hand-made stage contexts (the engine's contract in src/stages/registry.ts), then
 * `specpipe report RUN` from a run record pointing at those artifacts.
 */
const SPEC: TinyNetSpec = {
  kind: 'tiny',
  name: 'mlp 5-8-4',
  input: [1, 1, 5],
  classes: 4,
  layers: [{ op: 'flatten' }, { op: 'dense', out: 8 }, { op: 'tanh' }, { op: 'dense', out: 4 }],
};

function fakeManifest(dir: string, files: Record<string, Manifest['files'][number]['role']>): Manifest {
  return {
    files: Object.entries(files).map(([path, role]) => ({ path, role, bytes: 0, sha256: '', mtimeMs: 0 })),
    key: dir,
  } as unknown as Manifest;
}

function upstreamOf(
  name: string,
  kind: string,
  dir: string,
  coords: Record<string, unknown>,
  files: Record<string, Manifest['files'][number]['role']>,
): UpstreamArtifact {
  return {
    stage: name.split('[')[0]!,
    name,
    kind,
    key: `key-${name}`,
    matrix: coords,
    coords,
    params: {},
    dir,
    manifest: fakeManifest(dir, files),
  };
}

function context<P>(
  root: string,
  name: string,
  params: P,
  needs: Record<string, UpstreamArtifact>,
  gathered: Record<string, UpstreamArtifact[]> = {},
  coords: Record<string, unknown> = {},
): StageContext<P> {
  const outDir = join(root, name.replace(/[^a-z0-9]+/gi, '_'));
  mkdirSync(outDir, { recursive: true });
  return {
    params,
    instance: { stage: name, name, key: `key-${name}`, matrix: coords, coords },
    needs,
    gathered,
    ancestors: [],
    outDir,
    seed: 7,
    backend: 'cpu',
    progress: () => {},
    log: () => {},
  };
}

/** Runs a kind as the executor does: params validated against its schema, defaults filled. */
async function runKind<P>(kind: StageKind<P>, ctx: StageContext<Partial<P>>) {
  const params = structuredClone(ctx.params) as Record<string, unknown>;
  assert.ok(newAjv().compile(kind.paramsSchema as Record<string, unknown>)(params), `${kind.kind} params are valid`);
  return (await kind.run({ ...ctx, params: params as P })) ?? {};
}

test('decompose → embed (t-SNE, UMAP) → report/html stages, then `specpipe report RUN`', async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
  const root = mkdtempSync(join(tmpdir(), 'specpipe-stages-'));
  const network = buildTinyNetwork(SPEC);
  const { params, buffers } = network.init(3);
  const raw = randomSplit(SPEC, 24, 2);
  const data = { ...raw, labels: Int32Array.from({ length: 24 }, (_, i) => i % 4) };
  const loader = async (): Promise<LoadedProblem> => ({
    problem: { network, params, buffers, data, loss: 'cross-entropy' },
    execution: { batchSize: 8 },
    split: 'train',
    dispose: () => {},
  });
  const coords = { dataset: 'tiny', model: 'mlp', epoch: 2, train_per_class: 6 };

  // decompose/class-gradients with a test loader
  const decompose = decomposeStageKind(loader);
  const dctx = context(root, 'decompose[epoch=2]', { trace_matvecs: 45 }, {}, {}, coords);
  const dres = await runKind(decompose, dctx);
  for (const f of [CLASS_GRADIENTS_FILE, DECOMPOSITION_FILE, REPORT_FRAGMENT_FILE])
    assert.ok(existsSync(join(dctx.outDir, f)), `decompose wrote ${f}`);
  const summary = JSON.parse(readFileSync(join(dctx.outDir, DECOMPOSITION_FILE), 'utf8')) as DecompositionSummary;
  assert.equal(summary.pieces.a1.eigenvalues.length, 4);
  assert.equal(summary.pieces.b1.rank, 4 * 2, 'rank B1 = C(C−2) for a generic net');
  assert.equal(dres.metrics?.['rank_b1'], 8);
  // tr G = tr(A1+A2+B1) + tr B2 (Hutch++): against the dense trace of the engine's G
  const session = await Curvature.open({ network, params, buffers, data, loss: 'cross-entropy' }, { batchSize: 8 });
  const Gd = await toDense(session.operator('ggn'));
  let trG = 0;
  for (let i = 0; i < session.size; i++) trG += Gd[i * session.size + i]!;
  await session.close();
  assert.ok(
    summary.traceG !== undefined && Math.abs(summary.traceG - trG) <= 0.1 * trG,
    `tr G via pieces + Hutch++ ${summary.traceG} vs dense ${trG}`,
  );

  // embed/tsne and embed/umap from the decompose artifact
  const dUp = upstreamOf('decompose[epoch=2]', 'decompose/class-gradients', dctx.outDir, coords, {
    [CLASS_GRADIENTS_FILE]: 'table',
    [DECOMPOSITION_FILE]: 'data',
    [REPORT_FRAGMENT_FILE]: 'data',
  });
  const tctx = context(root, 'embed-tsne', { perplexity: 3 }, { decompose: dUp }, {}, coords);
  await runKind(embedTsneStage, tctx);
  const emb = JSON.parse(readFileSync(join(tctx.outDir, EMBEDDING_FILE), 'utf8')) as {
    points: { label: string; kind: string }[];
  };
  assert.equal(emb.points.length, 4 + 12);
  assert.ok(emb.points.some((p) => p.label === '2–3' && p.kind === 'cross'));
  const tctx2 = context(root, 'embed-tsne-again', { perplexity: 3 }, { decompose: dUp }, {}, coords);
  await runKind(embedTsneStage, tctx2);
  assert.equal(
    readFileSync(join(tctx2.outDir, EMBEDDING_FILE), 'utf8'),
    readFileSync(join(tctx.outDir, EMBEDDING_FILE), 'utf8'),
    'same seed ⇒ same embedding',
  );
  const uctx = context(root, 'embed-umap', { epochs: 100, n_neighbors: 5 }, { decompose: dUp }, {}, coords);
  await runKind(embedUmapStage, uctx);
  assert.ok(existsSync(join(uctx.outDir, 'embedding.arrow')));
  await assert.rejects(
    runKind(embedTsneStage, context(root, 'embed-orphan', {}, {})),
    /needs a decompose\/class-gradients stage/,
  );

  // a spectrum artifact without a fragment: the report derives the density from its measure
  const sdir = join(root, 'spectrum');
  mkdirSync(sdir);
  const nodes = Float64Array.from({ length: 60 }, (_, j) => (j < 56 ? 0.02 * j : 5 + j));
  const weights = Float64Array.from({ length: 60 }, (_, j) => (j < 56 ? (1 - 4e-3) / 56 : 1e-3));
  writeArrowFile(
    join(sdir, 'spectrum.arrow'),
    { nodes, weights },
    { operator: 'hessian', split: 'train', steps: '60', outliers: JSON.stringify([64, 63, 62, 61]) },
  );
  const sUp = upstreamOf(
    'spectra[operator=hessian,split=train]',
    'spectrum/slq',
    sdir,
    { ...coords, operator: 'hessian', split: 'train' },
    { 'spectrum.arrow': 'spectrum' },
  );

  // report/html gathering everything
  const tUp = upstreamOf('embed', 'embed/tsne', tctx.outDir, coords, {
    [EMBEDDING_FILE]: 'data',
    [REPORT_FRAGMENT_FILE]: 'data',
  });
  const rctx = context(root, 'report', { title: 'stage test' }, {}, { decompose: [dUp], embed: [tUp], spectra: [sUp] });
  const rres = await runKind(reportHtmlStage, rctx);
  assert.equal(rres.metrics?.['upstream'], 3);
  const rdata = JSON.parse(readFileSync(join(rctx.outDir, REPORT_DATA_FILE), 'utf8')) as ReportData;
  assert.equal(rdata.spectra?.length, 1);
  assert.deepEqual(rdata.spectra?.[0]?.outliers, [64, 63, 62, 61]);
  assert.equal(rdata.spectra?.[0]?.epoch, 2);
  assert.equal(rdata.exactEigenvalues?.length, 4);
  assert.equal(rdata.embeddings?.length, 1);
  const html = readFileSync(join(rctx.outDir, REPORT_HTML_FILE), 'utf8');
  for (const id of ['figure1', 'a1-vs-outliers', 'embedding'])
    assert.match(html, new RegExp(`data-figure="${id}" data-status="rendered"`), `${id} rendered`);
  // no piece was measured by SLQ: the pieces panel shows the exact eigenvalues alone, as stems
  assert.match(html, /data-figure="pieces" data-status="rendered"/);
  assert.match(html, /Stems: exact eigenvalues \(Gram matrices\), one per eigenvalue; no density was measured beside them/);
  // the hierarchy score in gradient space (from the class gradients) and in the t-SNE embedding
  assert.equal(rdata.hierarchy?.length, 1);
  assert.equal(rdata.hierarchy?.[0]?.space, 'gradients');
  assert.equal(rdata.hierarchy?.[0]?.total, SPEC.classes * (SPEC.classes - 1));
  assert.match(html, /data-space="gradients" data-hits="\d+" data-total="12"/);
  assert.match(html, /data-space="tsne" data-hits="\d+" data-total="12"/);
  assert.doesNotMatch(html, /No data|data-status="missing"/);

  // specpipe report RUN from a run record
  const runsDir = join(root, 'runs');
  mkdirSync(runsDir);
  // the record's instances are in its store (report refuses a run whose artifacts gc collected)
  const storeKey = (name: string): string => {
    const key = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(root, 'artifacts', key), { recursive: true });
    writeFileSync(join(root, 'artifacts', key, 'manifest.json'), JSON.stringify({ key, files: [] }));
    return key;
  };
  const stage = (name: string, kind: string, dir: string, c: Record<string, unknown>) => ({
    name,
    stage: name,
    kind,
    key: storeKey(name),
    status: 'executed',
    seconds: 1,
    artifacts: dir,
    matrix: c,
    coords: c,
    params: {},
    ingredients: {},
  });
  const record = {
    run: '20261130-120000-abcdef',
    pipeline: { name: 'tiny-demo', file: 'pipelines/tiny.yaml', sha256: '', overrides: ['train.with.epochs=2'] },
    store: join(root, 'artifacts'),
    backend: 'cpu',
    executor: 'local',
    started: '2026-11-30T12:00:00Z',
    finished: '2026-11-30T12:01:00Z',
    seconds: 60,
    counts: { executed: 3, cached: 0, failed: 0 },
    stages: [
      stage('decompose', 'decompose/class-gradients', dctx.outDir, coords),
      stage('embed', 'embed/tsne', tctx.outDir, coords),
      stage('spectra', 'spectrum/slq', sdir, { ...coords, operator: 'hessian', split: 'train' }),
    ],
  } as unknown as RunRecord;
  writeFileSync(join(sdir, 'manifest.json'), JSON.stringify(fakeManifest(sdir, { 'spectrum.arrow': 'spectrum' })));
  writeFileSync(join(runsDir, `${record.run}.json`), JSON.stringify(record));
  const out = join(root, 'from-run.html');
  assert.equal(await reportCommand(['last', '--runs', runsDir, '--out', out]), 0);
  const fromRun = readFileSync(out, 'utf8');
  assert.match(fromRun, /20261130-120000-abcdef/);
  assert.match(fromRun, /npx specpipe run pipelines\/tiny\.yaml --set train\.with\.epochs=2/);
  assert.match(fromRun, /data-figure="figure1" data-status="rendered"/);
  assert.match(fromRun, /data-figure="embedding" data-status="rendered"/);
  await assert.rejects(reportCommand(['nope', '--runs', runsDir]), /no run "nope"/);
  await assert.rejects(reportCommand([]), /give a RUN or --data F\.json/);
  assert.ok(readdirSync(root).length > 0);
  tf.dispose([...params, ...buffers]);
});

test('the four stage kinds register and their params schemas compile (ajv, defaults filled)', async () => {
  const { decomposeClassGradientsStage } = await import('../../src/stages/decompose-class-gradients/kind.js');
  const { registerStageKind, getStageKind } = await import('../../src/stages/registry.js');
  const ajv = newAjv();
  for (const kind of [decomposeClassGradientsStage, embedTsneStage, embedUmapStage, reportHtmlStage] as StageKind[]) {
    registerStageKind(kind, { replace: true });
    assert.equal(getStageKind(kind.kind), kind);
    const validate = ajv.compile(kind.paramsSchema as Record<string, unknown>);
    const params: Record<string, unknown> = {};
    assert.ok(validate(params), `${kind.kind}: {} is valid`);
    assert.equal(validate({ no_such_param: 1 }), false, `${kind.kind}: unknown params rejected`);
  }
  const v = ajv.compile(decomposeClassGradientsStage.paramsSchema as Record<string, unknown>);
  const p: Record<string, unknown> = {};
  v(p);
  assert.deepEqual(p, { split: 'train', trace_matvecs: 30, b2_bottom_matvecs: 60, batch_size: 256, checkpoint: 'final' });
  assert.equal(v({ classes: [3] }), false, 'a class subset needs ≥ 2 classes');
});
