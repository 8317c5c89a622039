import { loadSchema } from '../../util/schemaFiles.js';
import type { embedClassGradients } from '../../embed/embedGradients.js';
import { REPORT_FRAGMENT_FILE, tagsFromCoords } from '../../report/reportFragment.js';
import type { StageContext, StageKind } from '../registry.js';
import { decompositionArtifact } from '../decompose-class-gradients/decompositionArtifact.js';
import { EMBEDDING_FILE, EMBEDDING_TABLE_FILE, writeEmbeddingArtifact } from './embeddingArtifact.js';
import type { EmbedTsneParams, EmbedUmapParams } from './params.js';

/**
 * Embeds the class means g_c and cross-class means g_cc' of the upstream decomposition
 * (Papyan's Figure 2), seeded by the pipeline seed, tagged as the decomposition was.
 */
async function runEmbedding(ctx: StageContext<unknown>, options: Parameters<typeof embedClassGradients>[1]) {
  const embed = (await import('../../embed/embedGradients.js')).embedClassGradients;
  const d = decompositionArtifact(ctx, 'add a decompose/class-gradients stage to its needs');
  const e = embed(await d.classGradients(), options);
  const tags = (await d.seriesTags()) ?? tagsFromCoords(ctx.instance.coords, d.upstream.params);
  const roles = await writeEmbeddingArtifact(ctx.outDir, e, tags, d.upstream.coords['split'] ?? d.upstream.params['split']);
  return { points: e.points.length, kl: e.kl, roles };
}

const outputs = { [EMBEDDING_FILE]: 'data', [EMBEDDING_TABLE_FILE]: 'table', [REPORT_FRAGMENT_FILE]: 'data' };

/** `embed/tsne`: t-SNE of g_c and g_cc'. */
export const embedTsneStage: StageKind<EmbedTsneParams> = {
  kind: 'embed/tsne',
  version: 3,
  description: "t-SNE of the class means g_c and cross-class means g_cc' (Papyan's Figure 2)",
  usesBackend: false,
  outputs,
  paramsSchema: loadSchema('stages/embed-tsne.schema.json'),
  async run(ctx) {
    const p = ctx.params;
    const r = await runEmbedding(ctx, {
      method: 'tsne',
      seed: ctx.seed,
      ...(p.perplexity !== undefined && { perplexity: p.perplexity }),
      iterations: p.iterations,
      ...(p.learning_rate !== undefined && { learningRate: p.learning_rate }),
      includeOwn: p.include_own,
    });
    return { metrics: { points: r.points, ...(r.kl !== null && { kl: r.kl }) }, roles: r.roles };
  },
};

/** `embed/umap`: UMAP (umap-js) of g_c and g_cc'. */
export const embedUmapStage: StageKind<EmbedUmapParams> = {
  kind: 'embed/umap',
  version: 3,
  description: "UMAP (umap-js) of the class means g_c and cross-class means g_cc'",
  usesBackend: false,
  outputs,
  paramsSchema: loadSchema('stages/embed-umap.schema.json'),
  async run(ctx) {
    const p = ctx.params;
    const r = await runEmbedding(ctx, {
      method: 'umap',
      seed: ctx.seed,
      ...(p.n_neighbors !== undefined && { nNeighbors: p.n_neighbors }),
      minDist: p.min_dist,
      nEpochs: p.epochs,
      includeOwn: p.include_own,
    });
    return { metrics: { points: r.points }, roles: r.roles };
  },
};
