/**
 * The operator names, written once. schemas/stages/spectrum-slq.schema.json repeats
 * SPECTRUM_OPERATORS as its `operator` enum (JSON cannot import; test/curvature/operatorKind.test.ts
 * checks the two are equal).
 *
 * Curvature operators of the net (math.md §1–2), products computed by src/curvature:
 * - `hessian`: Hess = (1/N) Σ_i ∂²ℓ_i/∂θ² (reverse-over-reverse).
 * - `ggn`: G = (1/N) Σ_i J_iᵀ Q_i J_i (Gauss–Newton, PSD).
 * - `residual`: H = Hess − G = (1/N) Σ_i Σ_c r_ic ∇²z_ic, r_i = ∂ℓ_i/∂z_i (indefinite).
 */
export const CURVATURE_OPERATORS = ['hessian', 'ggn', 'residual'] as const;

/**
 * Papyan's pieces of G (math.md §3; Papyan 2020, Sec. 5), read from a decompose/class-gradients
 * artifact (src/decompose/pieceOperators.ts): A1, A2, B1 (low rank), B2 = G − A1 − A2 − B1, and
 * A1+A2+B1.
 */
export const PIECE_OPERATORS = ['a1', 'a2', 'b1', 'b2', 'a1+a2+b1'] as const;

/** Every operator a spectrum can be taken of (the spectrum/slq `operator` param). */
export const SPECTRUM_OPERATORS = [...CURVATURE_OPERATORS, ...PIECE_OPERATORS] as const;

export type CurvatureKind = (typeof CURVATURE_OPERATORS)[number];
export type PieceOperator = (typeof PIECE_OPERATORS)[number];
export type SpectrumOperator = (typeof SPECTRUM_OPERATORS)[number];

export function isCurvatureKind(value: unknown): value is CurvatureKind {
  return (CURVATURE_OPERATORS as readonly unknown[]).includes(value);
}

export function isPieceOperator(value: unknown): value is PieceOperator {
  return (PIECE_OPERATORS as readonly unknown[]).includes(value);
}

/** "hessian, ggn or residual" (for messages). */
export function listInWords(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
