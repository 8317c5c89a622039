import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GradientEmbedding } from '../../embed/embedGradients.js';
import { REPORT_FRAGMENT_FILE, type ReportFragment } from '../../report/reportFragment.js';
import type { SeriesTags } from '../../report/reportData.js';
import type { ArtifactRole } from '../registry.js';

/**
 * The artifact contract of `embed/tsne` and `embed/umap`: embedding.json (the GradientEmbedding),
 * embedding.arrow (columns x, y, c, cp, kind, label; metadata method, seed) and the report fragment.
 */
export const EMBEDDING_FILE = 'embedding.json';
export const EMBEDDING_TABLE_FILE = 'embedding.arrow';

/** Writes an embedding of the class gradients; `split` is the decomposition's split, tags its report tags. */
export async function writeEmbeddingArtifact(
  outDir: string,
  e: GradientEmbedding,
  tags: SeriesTags,
  split: unknown,
): Promise<Record<string, ArtifactRole>> {
  const { writeArrowFile } = await import('../../store/arrowFile.js');
  writeFileSync(join(outDir, EMBEDDING_FILE), JSON.stringify(e) + '\n');
  writeArrowFile(
    join(outDir, EMBEDDING_TABLE_FILE),
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
  const fragment: ReportFragment = {
    embeddings: [{ ...tags, method: e.method, ...(split === 'train' || split === 'test' ? { split } : {}), points: e.points }],
  };
  writeFileSync(join(outDir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment) + '\n');
  return { [EMBEDDING_TABLE_FILE]: 'table' };
}
