import { isAbsolute, join, resolve } from 'node:path';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { DataSourceSpec } from '../data/sources.js';
import type { StageContext, StageKind } from './registry.js';
import { DATASET_FILE, writeDatasetFile } from './stageFiles.js';

/**
 * Data stage kinds for image datasets a user has on disk (src/data/cifar.ts, src/data/imageFolder.ts):
 * `data/cifar10`, `data/cifar100` (binary versions) and `data/imagefolder` (ROOT/{train,val}/<class>/*).
 * `root` is made absolute against the pipeline file's directory; the files themselves are not hashed
 * (they are large and fixed), so a changed dataset under the same root needs a new `root` or seed.
 */
interface ImageDataParams {
  root: string;
  train_per_class?: number;
  test_per_class?: number;
  classes?: number | string[];
  image_size?: number;
}

function absoluteRoot(params: ImageDataParams, env: { readonly baseDir: string }): ImageDataParams {
  return { ...params, root: isAbsolute(params.root) ? params.root : resolve(env.baseDir, params.root) };
}

async function runImageData(ctx: StageContext<ImageDataParams>, spec: DataSourceSpec) {
  const { loadDataSource } = await import('../data/sources.js');
  const p = ctx.params;
  ctx.progress({ done: 0, total: 1, unit: 'load' });
  const data = await loadDataSource(spec, {
    seed: ctx.seed,
    ...(p.train_per_class !== undefined && { trainPerClass: p.train_per_class }),
    ...(p.test_per_class !== undefined && { testPerClass: p.test_per_class }),
    ...(p.classes !== undefined && { classes: p.classes }),
    ...(p.image_size !== undefined && { imageSize: p.image_size }),
  });
  await writeDatasetFile(join(ctx.outDir, DATASET_FILE), data);
  ctx.progress({ done: 1, total: 1, unit: 'load' });
  const [, c, h, w] = data.train.shape;
  return {
    metrics: { train_samples: data.train.shape[0], test_samples: data.test.shape[0], classes: data.classes.length, channels: c, height: h, width: w },
    roles: { [DATASET_FILE]: 'data' as const },
  };
}

/** `data/cifar10`: CIFAR-10 binary version (cifar-10-batches-bin or its parent). */
export const dataCifar10Stage: StageKind<ImageDataParams> = {
  kind: 'data/cifar10',
  version: 1,
  description: 'CIFAR-10 (binary version) from a directory on disk, optional balanced subsets.',
  paramsSchema: loadSchema('stages/data-cifar10.schema.json'),
  usesBackend: false,
  outputs: { [DATASET_FILE]: 'images F32 [N,3,32,32] in [0,1], labels, test_images, test_labels; metadata classes' },
  resolveParams: absoluteRoot,
  run: (ctx) => runImageData(ctx, { kind: 'cifar10', root: ctx.params.root }),
};

/** `data/cifar100`: CIFAR-100 binary version (cifar-100-binary or its parent), fine labels. */
export const dataCifar100Stage: StageKind<ImageDataParams> = {
  kind: 'data/cifar100',
  version: 1,
  description: 'CIFAR-100 (binary version, fine labels) from a directory on disk, optional balanced subsets.',
  paramsSchema: loadSchema('stages/data-cifar100.schema.json'),
  usesBackend: false,
  outputs: { [DATASET_FILE]: 'as data/cifar10' },
  resolveParams: absoluteRoot,
  run: (ctx) => runImageData(ctx, { kind: 'cifar100', root: ctx.params.root }),
};

/** `data/imagefolder`: ROOT/{train,val}/<class>/*.jpg|png resized to image_size². */
export const dataImageFolderStage: StageKind<ImageDataParams> = {
  kind: 'data/imagefolder',
  version: 1,
  description: 'Images in ROOT/{train,val}/<class>/ (jpg, png, webp), resized to squares, optional balanced subsets.',
  paramsSchema: loadSchema('stages/data-imagefolder.schema.json'),
  usesBackend: false,
  outputs: { [DATASET_FILE]: 'as data/cifar10' },
  resolveParams: absoluteRoot,
  run: (ctx) => runImageData(ctx, { kind: 'imagefolder', root: ctx.params.root }),
};
