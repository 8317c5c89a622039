import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SpecpipeError } from '../util/errors.js';
import type { Dataset } from '../data/dataset.js';
import type { StageContext, UpstreamArtifact } from './registry.js';

/** File name of a data stage's artifact: safetensors in data/tensors form (images, labels, test_images, test_labels; metadata "classes"). */
export const DATASET_FILE = 'dataset.safetensors';
/** Training curves of train/sgd. */
export const TRAIN_METRICS_FILE = 'metrics.arrow';

export function checkpointFile(epoch: number): string {
  return `checkpoint-epoch-${epoch}.safetensors`;
}

/** Writes a Dataset as the data/tensors safetensors form. */
export async function writeDatasetFile(path: string, data: Dataset): Promise<void> {
  const { writeSafetensors } = await import('../store/safetensors.js');
  const split = (
    s: Dataset['train'],
  ): {
    images: { dtype: 'F32'; shape: number[]; data: Float32Array };
    labels: { dtype: 'I64'; shape: number[]; data: BigInt64Array };
  } => ({
    images: { dtype: 'F32', shape: [...s.shape], data: s.images },
    labels: { dtype: 'I64', shape: [s.shape[0]], data: BigInt64Array.from(s.labels, (l) => BigInt(l)) },
  });
  const tr = split(data.train);
  const te = split(data.test);
  writeSafetensors(
    path,
    { images: tr.images, labels: tr.labels, test_images: te.images, test_labels: te.labels },
    { classes: JSON.stringify(data.classes), source: data.name },
  );
}

/**
 * The data artifact upstream of a stage: a `needs` artifact holding dataset.safetensors, else one
 * found by following the needs' own upstream keys (a spectrum stage needs only `train`; the data
 * its net was trained on is the train artifact's upstream). Artifacts are siblings in the store.
 */
export function findDatasetArtifact(ctx: StageContext<unknown>): { dir: string; path: string } {
  const seen = new Set<string>();
  const queue: { dir: string; manifest?: UpstreamArtifact['manifest'] }[] = Object.values(ctx.needs).map((u) => ({
    dir: u.dir,
    manifest: u.manifest,
  }));
  while (queue.length > 0) {
    const { dir, manifest } = queue.shift()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const path = join(dir, DATASET_FILE);
    if (existsSync(path)) return { dir, path };
    const up = manifest?.upstream ?? {};
    for (const k of Object.values(up)) {
      if (typeof k === 'string') queue.push({ dir: join(dirname(dir), k) });
      else for (const kk of Object.values(k)) queue.push({ dir: join(dirname(dir), kk) });
    }
    if (manifest === undefined) {
      // Read the manifest of an ancestor found by key.
      try {
        const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as UpstreamArtifact['manifest'];
        for (const k of Object.values(m.upstream)) {
          if (typeof k === 'string') queue.push({ dir: join(dirname(dir), k) });
        }
      } catch {
        /* not an artifact */
      }
    }
  }
  throw new SpecpipeError(
    'no-dataset',
    `${ctx.instance.name}: none of its upstream artifacts holds ${DATASET_FILE}; add a data stage (data/mnist, data/fashion-mnist, data/tensors) to its needs or its ancestors' needs`,
  );
}
