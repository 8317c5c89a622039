/** Curvature operators of a net (math.md §1–2): Hess, Gauss–Newton G, residual H = Hess − G. */
export const CURVATURE_OPERATORS = ['hessian', 'ggn', 'residual'] as const;
export type CurvatureOperatorName = (typeof CURVATURE_OPERATORS)[number];

/** Papyan's pieces of G (math.md §3), read from a decompose/class-gradients artifact. */
export const PIECE_OPERATORS = ['a1', 'a2', 'b1', 'b2', 'a1+a2+b1'] as const;
export type PieceOperator = (typeof PIECE_OPERATORS)[number];

/** Every operator a spectrum can be measured of (the spectrum/slq schema's `operator` enum). */
export const SPECTRUM_OPERATORS = [...CURVATURE_OPERATORS, ...PIECE_OPERATORS] as const;
export type SpectrumOperator = (typeof SPECTRUM_OPERATORS)[number];

export function isPieceOperator(name: string): name is PieceOperator {
  return (PIECE_OPERATORS as readonly string[]).includes(name);
}
