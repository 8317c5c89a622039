import { join } from 'node:path';
import type { Dataset } from '../../data/dataset.js';
import type { StageContext, UpstreamArtifact } from '../registry.js';
import { requireArtifact } from '../upstream.js';

/**
 * The artifact contract of every `data/*` kind: dataset.safetensors in the data/tensors form
 * (images F32 [N,C,H,W], labels I64 [N], test_images, test_labels; metadata "classes", "source").
 */
export const DATASET_FILE = 'dataset.safetensors';

/** Writes a Dataset as the data/tensors safetensors form into a stage's output directory. */
export async function writeDatasetArtifact(outDir: string, data: Dataset): Promise<void> {
  const { writeSafetensors } = await import('../../store/safetensors.js');
  const split = (s: Dataset['train']) => ({
    images: { dtype: 'F32' as const, shape: [...s.shape], data: s.images },
    labels: { dtype: 'I64' as const, shape: [s.shape[0]], data: BigInt64Array.from(s.labels, (l) => BigInt(l)) },
  });
  const tr = split(data.train);
  const te = split(data.test);
  writeSafetensors(
    join(outDir, DATASET_FILE),
    { images: tr.images, labels: tr.labels, test_images: te.images, test_labels: te.labels },
    { classes: JSON.stringify(data.classes), source: data.name },
  );
}

/** A data/* artifact as a stage reads it. */
export interface DatasetArtifact {
  readonly upstream: UpstreamArtifact;
  /** The source tag: the kind without "data/" ("mnist", "fashion-mnist", "cifar10", …). */
  readonly source: string;
  read(): Promise<Dataset>;
}

/** The nearest data/* artifact upstream of a stage (through its needs and their ancestors). */
export function datasetArtifact(ctx: StageContext<unknown>): DatasetArtifact {
  const upstream = requireArtifact(
    ctx,
    'data/',
    'add a data stage (data/mnist, data/fashion-mnist, data/tensors, …) to its needs or its ancestors’ needs',
  );
  return {
    upstream,
    source: upstream.kind.replace(/^data\//, ''),
    read: async () => (await import('../../data/tensorsFile.js')).loadTensorsFile(join(upstream.dir, DATASET_FILE)),
  };
}
