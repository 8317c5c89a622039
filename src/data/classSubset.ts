import type { Dataset, Split } from './dataset.js';
import { selectSamples } from './batches.js';
import { SpecpipeError } from '../util/errors.js';
import { Rng } from '../util/random.js';

/**
 * Which classes to keep: a count k draws k classes uniformly without replacement with `Rng(seed)`
 * (Papyan's ImageNet figures use a random subset of the classes); a list names them.
 * Returns the kept class indices in increasing order — the new label of a kept class is its position here.
 */
export function chooseClasses(classes: readonly string[], choice: number | readonly string[], seed: number): number[] {
  if (typeof choice === 'number') {
    if (!Number.isSafeInteger(choice) || choice < 1 || choice > classes.length) {
      throw new SpecpipeError(
        'classes-count',
        `classes must be an integer in [1, ${classes.length}] (the number of classes available), received ${choice}`,
      );
    }
    const order = Array.from({ length: classes.length }, (_, i) => i);
    new Rng(seed).shuffle(order);
    return order.slice(0, choice).sort((a, b) => a - b);
  }
  if (choice.length === 0)
    throw new SpecpipeError('classes-empty', 'classes must name at least one class, received an empty list');
  const idx = choice.map((name) => {
    const i = classes.indexOf(name);
    if (i < 0) {
      const shown = classes.length > 20 ? `${classes.slice(0, 20).join(', ')}, … (${classes.length} in all)` : classes.join(', ');
      throw new SpecpipeError('classes-unknown', `unknown class "${name}"; available classes: ${shown}`);
    }
    return i;
  });
  const dup = idx.find((v, k) => idx.indexOf(v) !== k);
  if (dup !== undefined) throw new SpecpipeError('classes-duplicate', `class "${classes[dup]}" is listed twice in classes`);
  return idx.sort((a, b) => a - b);
}

/** Keeps the samples of the given classes and relabels them 0..k−1 in the order of `kept`. */
export function restrictSplitToClasses(split: Split, kept: readonly number[]): Split {
  const newLabel = new Map(kept.map((c, i) => [c, i]));
  const indices: number[] = [];
  split.labels.forEach((l, i) => {
    if (newLabel.has(l)) indices.push(i);
  });
  const sub = selectSamples(split, indices);
  const labels = sub.labels.map((l) => newLabel.get(l)!);
  return { images: sub.images, shape: sub.shape, labels };
}

/** A dataset restricted to a subset of its classes (see `chooseClasses`). */
export function selectClasses(data: Dataset, choice: number | readonly string[], seed: number): Dataset {
  const kept = chooseClasses(data.classes, choice, seed);
  return {
    name: data.name,
    classes: kept.map((c) => data.classes[c]!),
    train: restrictSplitToClasses(data.train, kept),
    test: restrictSplitToClasses(data.test, kept),
  };
}
