import { SpecpipeError } from '../util/errors.js';

/**
 * Class / cross-class gradients of Papyan's decomposition of the Gauss–Newton matrix
 * (math.md §3; Papyan, "Measurements of three-level hierarchical structure…", ICML 2019):
 *
 *     g_{i,c'} = J_iᵀ (p_i − e_c')                  (the gradient sample i would have with label c')
 *     P_cc'    = Σ_{i∈c} p_ic'                       P_c = Σ_{c'≠c} P_cc'
 *     g_cc'    = (1/P_cc') Σ_{i∈c} p_ic' g_{i,c'}    g_c = (1/P_c) Σ_{c'≠c} P_cc' g_cc'
 *
 * Computed from batches holding samples of one true class c: for each c' one VJP with the
 * per-sample cotangents u_i = p_ic' (p_i − e_c') gives s_cc' = Σ_{i∈c} J_iᵀ u_i = P_cc' g_cc'.
 * The K = |classes| VJPs of a batch are asked for at once (the curvature engine batches them).
 */

/**
 * Σ_i J_iᵀ u_i^(k) for k = 1..K over the samples of one batch: the curvature engine's
 * weighted-cotangent product. `cotangents[k]` is n × C row-major (row i = the cotangent of
 * sample i's logits). Returns K parameter vectors of length P.
 */
export type CotangentProduct<B> = (batch: B, cotangents: readonly Float64Array[]) => Promise<readonly Float64Array[]>;

/** A batch whose samples all have the same true class. */
export interface ClassBatch<B> {
  /** The true class c of every sample in the batch (0 ≤ c < C). */
  readonly trueClass: number;
  /** Softmax probabilities p_i, n × C row-major. */
  readonly probabilities: Float64Array;
  /** Whatever the cotangent product needs to run its VJP on these samples (inputs, indices…). */
  readonly batch: B;
}

export interface ClassGradientOptions {
  /** Number of logits C. */
  readonly numClasses: number;
  /** Number of parameters P. */
  readonly paramCount: number;
  /**
   * Class subset S (sorted, distinct, in [0, C)): both the true classes c and the labels c' range over S.
   * Default: all C classes. With a strict subset the pieces decompose G_S = (1/N) Σ_{i∈S} Σ_{c'∈S} p_ic' g_{i,c'} g_{i,c'}ᵀ,
   * not G (the rest of G then lands in B2 = G − A1 − A2 − B1).
   */
  readonly classes?: readonly number[];
  /** N of the 1/N normalisation; default: the number of samples seen (of the classes in S). */
  readonly sampleCount?: number;
}

/** The stored result: C_S² unnormalised sums s_cc' = P_cc' g_cc' and the masses P_cc'. */
export interface ClassGradients {
  /** Number of logits C of the model. */
  readonly numClasses: number;
  /** The class subset S (all classes by default); index a of a quantity refers to class classes[a]. */
  readonly classes: readonly number[];
  readonly paramCount: number;
  /** N of the 1/N normalisation of G. */
  readonly sampleCount: number;
  /** Number of samples of each class in S (length |S|). */
  readonly classCounts: Float64Array;
  /** P_ab = Σ_{i ∈ classes[a]} p_{i,classes[b]}, |S| × |S| row-major. */
  readonly pairMass: Float64Array;
  /** s_ab = P_ab g_ab = Σ_{i ∈ classes[a]} p_{i,classes[b]} g_{i,classes[b]}, index a·|S| + b, each of length P. */
  readonly pairSums: readonly Float64Array[];
}

function resolveClasses(numClasses: number, classes: readonly number[] | undefined): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new SpecpipeError('bad-num-classes', `class gradients: numClasses must be an integer ≥ 2, received ${numClasses}`);
  }
  if (classes === undefined) return Array.from({ length: numClasses }, (_, c) => c);
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new SpecpipeError(
        'bad-class-subset',
        `class gradients: classes must be integers in [0, ${numClasses}), received ${JSON.stringify(classes)}`,
      );
    }
    if (seen.has(c))
      throw new SpecpipeError(
        'bad-class-subset',
        `class gradients: classes must be distinct, received ${c} twice in ${JSON.stringify(classes)}`,
      );
    seen.add(c);
  }
  if (classes.length < 2)
    throw new SpecpipeError('bad-class-subset', `class gradients: need at least 2 classes, received ${JSON.stringify(classes)}`);
  return [...classes];
}

/**
 * The K = |S| cotangent sets of one batch of true class c: u_i^(b) = p_{i,c'_b} (p_i − e_{c'_b}),
 * each n × C row-major.
 */
export function crossClassCotangents(
  probabilities: Float64Array,
  numClasses: number,
  classes: readonly number[],
): Float64Array[] {
  const C = numClasses;
  const n = probabilities.length / C;
  return classes.map((cp) => {
    const u = new Float64Array(n * C);
    for (let i = 0; i < n; i++) {
      const w = probabilities[i * C + cp]!;
      for (let j = 0; j < C; j++) u[i * C + j] = w * probabilities[i * C + j]!;
      u[i * C + cp] = u[i * C + cp]! - w;
    }
    return u;
  });
}

/**
 * Accumulates P_cc' and s_cc' = P_cc' g_cc' over batches grouped by true class (math.md §3):
 * one batched product of |S| VJPs per batch. Batches of classes outside S are skipped.
 */
export async function classGradients<B>(
  batches: Iterable<ClassBatch<B>> | AsyncIterable<ClassBatch<B>>,
  product: CotangentProduct<B>,
  options: ClassGradientOptions,
): Promise<ClassGradients> {
  const C = options.numClasses;
  const P = options.paramCount;
  const classes = resolveClasses(C, options.classes);
  const S = classes.length;
  const index = new Map(classes.map((c, a) => [c, a]));
  const pairMass = new Float64Array(S * S);
  const classCounts = new Float64Array(S);
  const pairSums = Array.from({ length: S * S }, () => new Float64Array(P));
  let seen = 0;
  let batchNo = 0;
  for await (const b of batches) {
    const a = index.get(b.trueClass);
    if (b.probabilities.length % C !== 0) {
      throw new SpecpipeError(
        'bad-probabilities',
        `class gradients: batch ${batchNo} has ${b.probabilities.length} probabilities, not a multiple of C = ${C}`,
      );
    }
    batchNo++;
    if (a === undefined) continue;
    const n = b.probabilities.length / C;
    if (n === 0) continue;
    seen += n;
    classCounts[a] = classCounts[a]! + n;
    for (let i = 0; i < n; i++) {
      for (let bb = 0; bb < S; bb++) pairMass[a * S + bb] = pairMass[a * S + bb]! + b.probabilities[i * C + classes[bb]!]!;
    }
    const vjps = await product(b.batch, crossClassCotangents(b.probabilities, C, classes));
    if (vjps.length !== S) {
      throw new SpecpipeError(
        'bad-cotangent-product',
        `class gradients: the cotangent product returned ${vjps.length} vectors for ${S} cotangent sets`,
      );
    }
    for (let bb = 0; bb < S; bb++) {
      const v = vjps[bb]!;
      if (v.length !== P)
        throw new SpecpipeError(
          'bad-cotangent-product',
          `class gradients: the cotangent product returned a vector of length ${v.length}, expected P = ${P}`,
        );
      const s = pairSums[a * S + bb]!;
      for (let k = 0; k < P; k++) s[k] = s[k]! + v[k]!;
    }
  }
  const sampleCount = options.sampleCount ?? seen;
  if (!(sampleCount > 0))
    throw new SpecpipeError(
      'no-samples',
      `class gradients: no samples of the classes ${JSON.stringify(classes)} were seen (sampleCount = ${sampleCount})`,
    );
  return { numClasses: C, classes, paramCount: P, sampleCount, classCounts, pairMass, pairSums };
}

/** P_c = Σ_{c'≠c} P_cc' for class index a of the subset. */
export function classMass(cg: ClassGradients, a: number): number {
  const S = cg.classes.length;
  let m = 0;
  for (let b = 0; b < S; b++) if (b !== a) m += cg.pairMass[a * S + b]!;
  return m;
}

/** g_ab = s_ab / P_ab (zero when P_ab = 0). */
export function crossClassMean(cg: ClassGradients, a: number, b: number): Float64Array {
  const S = cg.classes.length;
  const m = cg.pairMass[a * S + b]!;
  const s = cg.pairSums[a * S + b]!;
  const g = new Float64Array(s.length);
  if (m > 0) for (let k = 0; k < s.length; k++) g[k] = s[k]! / m;
  return g;
}

/** g_c = (1/P_c) Σ_{c'≠c} s_cc' (the corrected centre of class c's cluster, math.md §3). */
export function classMean(cg: ClassGradients, a: number): Float64Array {
  const S = cg.classes.length;
  const m = classMass(cg, a);
  const g = new Float64Array(cg.paramCount);
  if (!(m > 0)) return g;
  for (let b = 0; b < S; b++) {
    if (b === a) continue;
    const s = cg.pairSums[a * S + b]!;
    for (let k = 0; k < g.length; k++) g[k] = g[k]! + s[k]!;
  }
  for (let k = 0; k < g.length; k++) g[k] = g[k]! / m;
  return g;
}
