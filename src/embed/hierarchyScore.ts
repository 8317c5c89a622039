import type { GradientPointSet } from './gradientPoints.js';

/**
 * Papyan's class/cross-class hierarchy (math.md §3; Papyan 2019, Fig. 2) as a number instead of a
 * picture: the cross-class means g_cc′ (c′ ≠ c, c the true class) cluster around their own class
 * mean g_c. The score is the fraction of the C(C−1) points g_cc′ whose nearest class mean is g_c,
 * strictly (a tie with another class mean counts as a miss). Were the nearest class mean drawn at
 * random among the C means, the expected score would be 1/C: the chance level.
 */
export interface HierarchyScore {
  /** Cross-class means whose nearest class mean is their own g_c. */
  readonly hits: number;
  /** Cross-class means scored (C(C−1) with all classes). */
  readonly total: number;
  /** hits / total (NaN with no cross-class means). */
  readonly fraction: number;
  /** 1/C: the fraction expected by chance. */
  readonly chance: number;
}

/** What the score needs to know of a point: class mean ('class') or cross-class mean ('cross'), and its c. */
export interface LabelledPoint {
  readonly kind: 'class' | 'cross' | 'own';
  readonly c: number;
}

/**
 * The hierarchy score of labelled points under a squared distance d(i, j) between points i and j
 * (indices into `points`). Own-class means g_cc ('own') are neither scored nor candidates.
 */
export function nearestClassMeanScore(
  points: readonly LabelledPoint[],
  squaredDistance: (i: number, j: number) => number,
): HierarchyScore {
  const means = new Map<number, number>();
  points.forEach((p, i) => {
    if (p.kind === 'class') means.set(p.c, i);
  });
  let hits = 0;
  let total = 0;
  points.forEach((p, i) => {
    if (p.kind !== 'cross') return;
    const own = means.get(p.c);
    if (own === undefined) return;
    total++;
    const dOwn = squaredDistance(i, own);
    let nearestIsOwn = true;
    for (const [c, j] of means) if (c !== p.c && squaredDistance(i, j) <= dOwn) nearestIsOwn = false;
    if (nearestIsOwn) hits++;
  });
  return { hits, total, fraction: total > 0 ? hits / total : Number.NaN, chance: means.size > 0 ? 1 / means.size : Number.NaN };
}

/** The score in a 2-D embedding (Euclidean distance between the embedded points). */
export function embeddingHierarchyScore(
  points: readonly (LabelledPoint & { readonly x: number; readonly y: number })[],
): HierarchyScore {
  return nearestClassMeanScore(points, (i, j) => (points[i]!.x - points[j]!.x) ** 2 + (points[i]!.y - points[j]!.y) ** 2);
}

/** The score in the original P-dimensional gradient space (exact distances of gradientPoints). */
export function gradientHierarchyScore(set: GradientPointSet): HierarchyScore {
  const n = set.points.length;
  return nearestClassMeanScore(set.points, (i, j) => set.squaredDistances[i * n + j]!);
}
