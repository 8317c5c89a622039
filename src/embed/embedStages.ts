import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext, StageKind, UpstreamArtifact } from '../stages/registry.js';
import { writeArrowFile } from '../store/arrowFile.js';
import { decodeClassGradients } from '../decompose/classGradientsArrow.js';
import { CLASS_GRADIENTS_FILE } from '../decompose/decomposeArtifact.js';
import { REPORT_FRAGMENT_FILE, tagsFromCoords, type ReportFragment } from '../report/reportFragment.js';
import type { SeriesTags } from '../report/reportData.js';
import { SpecpipeError } from '../util/errors.js';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { EmbedTsneParams } from '../params/embed-tsne.generated.js';
import type { EmbedUmapParams } from '../params/embed-umap.generated.js';
import { embedClassGradients, type GradientEmbedding } from './embedGradients.js';

/**
 * Stage kinds `embed/tsne` and `embed/umap`: Papyan's Figure 2 from an upstream
 * `decompose/class-gradients` artifact (its class-gradients.arrow). Writes embedding.json (the
 * GradientEmbedding), embedding.arrow (columns x, y, c, cp, kind, label; role table) and the report
 * fragment. Seeded by the pipeline seed.
 */
export const EMBEDDING_FILE = 'embedding.json';

/** Params of embed/tsne and embed/umap (generated from their schemas); Partial: tests run them with params as written. */
type TsneParams = Partial<EmbedTsneParams>;
type UmapParams = Partial<EmbedUmapParams>;

function classGradientsUpstream(ctx: StageContext<unknown>): UpstreamArtifact {
  const all = [...Object.values(ctx.needs), ...Object.values(ctx.gathered).flat()];
  const hit = all.find((a) => existsSync(join(a.dir, CLASS_GRADIENTS_FILE)));
  if (hit === undefined) {
    throw new SpecpipeError(
      'embed-needs-decompose',
      `${ctx.instance.name}: needs a decompose/class-gradients stage (an upstream artifact with ${CLASS_GRADIENTS_FILE}); upstream: ${all.map((a) => `${a.name} (${a.kind})`).join(', ') || 'none'}`,
    );
  }
  return hit;
}

function writeEmbedding(ctx: StageContext<unknown>, upstream: UpstreamArtifact, e: GradientEmbedding): void {
  writeFileSync(join(ctx.outDir, EMBEDDING_FILE), JSON.stringify(e) + '\n');
  writeArrowFile(
    join(ctx.outDir, 'embedding.arrow'),
    {
      x: Float64Array.from(e.points, (p) => p.x),
      y: Float64Array.from(e.points, (p) => p.y),
      c: Int32Array.from(e.points, (p) => p.c),
      cp: Int32Array.from(e.points, (p) => p.cp),
      kind: e.points.map((p) => p.kind),
      label: e.points.map((p) => p.label),
    },
    { method: e.method, seed: String(e.seed) },
  );
  const split = upstream.coords['split'] ?? upstream.params['split'];
  const fragment: ReportFragment = {
    embeddings: [
      {
        ...embeddingTags(ctx, upstream),
        method: e.method,
        ...(split === 'train' || split === 'test' ? { split } : {}),
        points: e.points,
      },
    ],
  };
  writeFileSync(join(ctx.outDir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment) + '\n');
}

/** The decomposition's own report tags (dataset, model, epoch, samples per class), else the matrix coordinates'. */
function embeddingTags(ctx: StageContext<unknown>, upstream: UpstreamArtifact): SeriesTags {
  try {
    const f = JSON.parse(readFileSync(join(upstream.dir, REPORT_FRAGMENT_FILE), 'utf8')) as ReportFragment;
    const e = f.exactEigenvalues?.[0];
    if (e !== undefined) {
      const { dataset, model, epoch, samplesPerClass } = e;
      return {
        ...(dataset !== undefined && { dataset }),
        ...(model !== undefined && { model }),
        ...(epoch !== undefined && { epoch }),
        ...(samplesPerClass !== undefined && { samplesPerClass }),
      };
    }
  } catch {
    /* no fragment: fall back to the coordinates */
  }
  return tagsFromCoords(ctx.instance.coords, upstream.params);
}

export const embedTsneStage: StageKind<TsneParams> = {
  kind: 'embed/tsne',
  version: 2,
  description: "t-SNE of the class means g_c and cross-class means g_cc' (Papyan's Figure 2)",
  usesBackend: false,
  outputs: { [EMBEDDING_FILE]: 'data', 'embedding.arrow': 'table', [REPORT_FRAGMENT_FILE]: 'data' },
  paramsSchema: loadSchema('stages/embed-tsne.schema.json'),
  async run(ctx) {
    const up = classGradientsUpstream(ctx as StageContext<unknown>);
    const cg = decodeClassGradients(readFileSync(join(up.dir, CLASS_GRADIENTS_FILE)), join(up.dir, CLASS_GRADIENTS_FILE));
    const p = ctx.params;
    const e = embedClassGradients(cg, {
      method: 'tsne',
      seed: ctx.seed,
      ...(p.perplexity !== undefined && { perplexity: p.perplexity }),
      ...(p.iterations !== undefined && { iterations: p.iterations }),
      ...(p.learning_rate !== undefined && { learningRate: p.learning_rate }),
      includeOwn: p.include_own ?? false,
    });
    writeEmbedding(ctx as StageContext<unknown>, up, e);
    return { metrics: { points: e.points.length, ...(e.kl !== null && { kl: e.kl }) }, roles: { 'embedding.arrow': 'table' } };
  },
};

export const embedUmapStage: StageKind<UmapParams> = {
  kind: 'embed/umap',
  version: 2,
  description: "UMAP (umap-js) of the class means g_c and cross-class means g_cc'",
  usesBackend: false,
  outputs: { [EMBEDDING_FILE]: 'data', 'embedding.arrow': 'table', [REPORT_FRAGMENT_FILE]: 'data' },
  paramsSchema: loadSchema('stages/embed-umap.schema.json'),
  async run(ctx) {
    const up = classGradientsUpstream(ctx as StageContext<unknown>);
    const cg = decodeClassGradients(readFileSync(join(up.dir, CLASS_GRADIENTS_FILE)), join(up.dir, CLASS_GRADIENTS_FILE));
    const p = ctx.params;
    const e = embedClassGradients(cg, {
      method: 'umap',
      seed: ctx.seed,
      ...(p.n_neighbors !== undefined && { nNeighbors: p.n_neighbors }),
      ...(p.min_dist !== undefined && { minDist: p.min_dist }),
      ...(p.epochs !== undefined && { nEpochs: p.epochs }),
      includeOwn: p.include_own ?? false,
    });
    writeEmbedding(ctx as StageContext<unknown>, up, e);
    return { metrics: { points: e.points.length }, roles: { 'embedding.arrow': 'table' } };
  },
};
