import { isAbsolute, join, resolve } from 'node:path';
import { cifarFiles } from '../../data/cifar.js';
import { loadSchema } from '../../util/schemaFiles.js';
import type { StageKind } from '../registry.js';
import { DATASET_FILE } from './datasetArtifact.js';
import { runData } from './kinds.js';
import type { DataCifar10Params } from '../../params/data-cifar10.generated.js';
import type { DataCifar100Params } from '../../params/data-cifar100.generated.js';
import type { DataImageFolderParams } from '../../params/data-imagefolder.generated.js';

/**
 * Data stage kinds for image datasets a user has on disk (src/data/cifar.ts, src/data/imageFolder.ts):
 * `data/cifar10`, `data/cifar100` (binary versions) and `data/imagefolder` (ROOT/{train,val}/<class>/*).
 * `root` is made absolute against the pipeline file's directory; the files read under it enter the
 * key by content (`inputFiles`; hashes cached by size, mtime and inode, so a rerun only stats them).
 */
type ImageDataParams = DataCifar10Params | DataCifar100Params | DataImageFolderParams;

function absoluteRoot(params: ImageDataParams, env: { readonly baseDir: string }): ImageDataParams {
  return { ...params, root: isAbsolute(params.root) ? params.root : resolve(env.baseDir, params.root) };
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
  inputFiles: (p) => cifarFiles('cifar10', p.root),
  run: (ctx) => runData(ctx, { kind: 'cifar10', root: ctx.params.root }),
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
  inputFiles: (p) => cifarFiles('cifar100', p.root),
  run: (ctx) => runData(ctx, { kind: 'cifar100', root: ctx.params.root }),
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
  inputFiles: (p) => ({ train: join(p.root, 'train'), val: join(p.root, 'val') }),
  run: (ctx) => runData(ctx, { kind: 'imagefolder', root: ctx.params.root }),
};
