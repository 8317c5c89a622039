import { UMAP } from 'umap-js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';
import type { Embedding2D } from './tsne.js';

/**
 * UMAP (McInnes, Healy & Melville 2018) through the `umap-js` package (PAIR-code), on a
 * precomputed distance matrix: the points handed to umap-js are their own indices [i], and its
 * distance function looks up √D_ij, so the embedding works on any dimension (P-vectors are
 * never materialised). The k nearest neighbours are exact (n is small), not NN-descent's. umap-js draws every random number through the `random` option, fed here by
 * the seeded Rng: the same seed gives the same embedding.
 */
export interface UmapOptions {
  /** Neighbourhood size (default min(15, n − 1)). */
  readonly nNeighbors?: number;
  /** Minimum distance in the embedding (default 0.1, umap-learn's default). */
  readonly minDist?: number;
  /** Optimisation epochs (default 500 for small n, umap-learn's rule). */
  readonly nEpochs?: number;
  readonly seed: number;
}

export function umap(squaredDistances: Float64Array, options: UmapOptions): Embedding2D {
  const n = Math.round(Math.sqrt(squaredDistances.length));
  if (n * n !== squaredDistances.length || n < 3) {
    throw new SpecpipeError(
      'umap-input',
      `UMAP: expected an n × n squared-distance matrix with n ≥ 3, received ${squaredDistances.length} entries`,
    );
  }
  const rng = new Rng(options.seed);
  const nNeighbors = options.nNeighbors ?? Math.min(15, n - 1);
  if (!(Number.isInteger(nNeighbors) && nNeighbors >= 2 && nNeighbors < n)) {
    throw new SpecpipeError('umap-neighbors', `UMAP: nNeighbors must be an integer in [2, n = ${n}), received ${nNeighbors}`);
  }
  const model = new UMAP({
    nComponents: 2,
    nNeighbors,
    minDist: options.minDist ?? 0.1,
    nEpochs: options.nEpochs ?? 500,
    random: () => rng.uniform(),
    distanceFn: (x, y) => Math.sqrt(squaredDistances[x[0]! * n + y[0]!]!),
  });
  // exact k nearest neighbours (self first, at distance 0, as umap-learn does) instead of NN-descent
  const knnIndices: number[][] = [];
  const knnDistances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: n }, (_, j) => j).sort((x, y) =>
      x === i ? -1 : y === i ? 1 : squaredDistances[i * n + x]! - squaredDistances[i * n + y]! || x - y,
    );
    const nn = order.slice(0, nNeighbors);
    knnIndices.push(nn);
    knnDistances.push(nn.map((j) => Math.sqrt(squaredDistances[i * n + j]!)));
  }
  model.setPrecomputedKNN(knnIndices, knnDistances);
  const data = Array.from({ length: n }, (_, i) => [i]);
  const out = model.fit(data);
  const coordinates = new Float64Array(2 * n);
  out.forEach((p, i) => {
    coordinates[2 * i] = p[0]!;
    coordinates[2 * i + 1] = p[1]!;
  });
  return { coordinates, kl: null };
}
