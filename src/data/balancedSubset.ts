import type { Split } from './dataset.js';
import { selectSamples } from './batches.js';
import { SpecpipeError } from '../util/errors.js';
import { Rng } from '../util/random.js';

/** Sample indices of each class: result[c] lists, in split order, the samples labelled c. */
export function indicesByClass(split: Split, classCount?: number): number[][] {
  let c = classCount ?? 0;
  if (classCount === undefined) for (const l of split.labels) c = Math.max(c, l + 1);
  const out: number[][] = Array.from({ length: c }, () => []);
  split.labels.forEach((l, i) => {
    const bucket = out[l];
    if (bucket === undefined) throw new SpecpipeError('label-range', `sample ${i} has label ${l}, outside [0, ${c})`);
    bucket.push(i);
  });
  return out;
}

/**
 * A class-balanced subset: `perClass` samples of every class, drawn without replacement with `Rng(seed)`
 * (Papyan 2020 measures spectra on 10 … 5000 samples per class). For one seed the subsets are nested:
 * the subset of n per class is contained in the subset of m > n per class. The samples are returned in
 * a seeded random order, so consecutive batches mix classes.
 *
 * `classNames` (optional) fixes the number of classes and names them in errors; a class with fewer than
 * `perClass` samples is an error naming it.
 */
export function balancedSubset(split: Split, perClass: number, seed: number, classNames?: readonly string[]): Split {
  if (!Number.isSafeInteger(perClass) || perClass < 1) {
    throw new SpecpipeError('per-class', `samples per class must be a positive integer, received ${perClass}`);
  }
  const byClass = indicesByClass(split, classNames?.length);
  const rng = new Rng(seed);
  const chosen: number[] = [];
  byClass.forEach((idx, c) => {
    const shuffled = Int32Array.from(idx);
    rng.shuffle(shuffled);
    if (shuffled.length < perClass) {
      const name =
        classNames?.[c] !== undefined && classNames[c] !== String(c) ? `class ${c} ("${classNames[c]}")` : `class ${c}`;
      throw new SpecpipeError(
        'per-class-too-few',
        `${name} has ${shuffled.length} samples, fewer than the ${perClass} per class requested`,
      );
    }
    for (let k = 0; k < perClass; k++) chosen.push(shuffled[k]!);
  });
  new Rng(seed ^ 0x5bd1e995).shuffle(chosen);
  return selectSamples(split, chosen);
}

/** A split with its samples in a seeded random order (Fisher–Yates with `Rng(seed)`). */
export function shuffleSplit(split: Split, seed: number): Split {
  const order = Array.from({ length: split.shape[0] }, (_, i) => i);
  new Rng(seed).shuffle(order);
  return selectSamples(split, order);
}
