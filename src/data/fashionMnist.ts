import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './dataset.js';
import { loadIdxDataset } from './idx.js';
import { SpecpipeError } from '../util/errors.js';

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist';

/** Class names of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), in label order. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

const HOW_TO_GET =
  'install it with "apt-get install dataset-fashion-mnist" (files in /usr/share/datasets/fashion-mnist) or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist';

/** Finds ROOT/NAME.gz, else ROOT/NAME; the error names the path and how to get the data. */
function idxFile(root: string, name: string): string {
  for (const candidate of [join(root, `${name}.gz`), join(root, name)]) if (existsSync(candidate)) return candidate;
  throw new SpecpipeError('fashion-mnist-missing', `Fashion-MNIST file ${join(root, `${name}.gz`)} not found; ${HOW_TO_GET}`);
}

/** The four IDX files `loadFashionMnist(root)` reads, by name: ROOT/NAME.gz, else ROOT/NAME (the .gz path when neither exists). */
export function fashionMnistFiles(root: string = FASHION_MNIST_DEFAULT_ROOT): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'])
    out[name] = [join(root, `${name}.gz`), join(root, name)].find((p) => existsSync(p)) ?? join(root, `${name}.gz`);
  return out;
}

/**
 * Fashion-MNIST: 60,000 train / 10,000 test 28×28 grey images of 10 clothing classes, read from the gzipped
 * IDX files train-{images-idx3,labels-idx1}-ubyte.gz and t10k-… in `root`. Pixels in [0, 1], shape [N, 1, 28, 28].
 */
export function loadFashionMnist(root: string = FASHION_MNIST_DEFAULT_ROOT): Dataset {
  if (!existsSync(root)) throw new SpecpipeError('fashion-mnist-missing', `Fashion-MNIST root ${root} not found; ${HOW_TO_GET}`);
  return loadIdxDataset(
    {
      trainImages: idxFile(root, 'train-images-idx3-ubyte'),
      trainLabels: idxFile(root, 'train-labels-idx1-ubyte'),
      testImages: idxFile(root, 't10k-images-idx3-ubyte'),
      testLabels: idxFile(root, 't10k-labels-idx1-ubyte'),
    },
    'fashion-mnist',
    FASHION_MNIST_CLASSES,
    HOW_TO_GET,
  );
}
