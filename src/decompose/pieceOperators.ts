import type { LinearOperator } from '../linalg/operator.js';
import { SpecpipeError } from '../util/errors.js';
import { readClassGradients } from './classGradientsArrow.js';
import { gaussNewtonPieces } from './pieces.js';
import { PIECE_OPERATORS, type PieceOperator } from '../curvature/operatorKind.js';

/** Operator names of Papyan's pieces, as pipelines spell them (`spectrum/slq` matrix `operator: [a1, a2, b1, b2]`). */
export type PieceOperatorName = PieceOperator;

/**
 * One piece of G as a LinearOperator for any spectral estimator, from a stored
 * class-gradients.arrow (the `decompose/class-gradients` artifact). B2 = G − (A1 + A2 + B1) needs
 * `ggn`, the G operator over the same samples (the classes of the artifact).
 */
export function pieceOperatorFromFile(path: string, name: PieceOperatorName, ggn?: LinearOperator): LinearOperator {
  const cg = readClassGradients(path);
  const pieces = gaussNewtonPieces(cg, ggn);
  switch (name) {
    case 'a1':
      return pieces.a1;
    case 'a2':
      return pieces.a2;
    case 'b1':
      return pieces.b1;
    case 'a1+a2+b1':
      return pieces.lowRank;
    case 'b2':
      if (pieces.b2 === undefined)
        throw new SpecpipeError(
          'b2-needs-ggn',
          `${path}: the operator b2 = G − A1 − A2 − B1 needs the G operator of the same samples`,
        );
      return pieces.b2;
    default:
      throw new SpecpipeError(
        'piece-operator',
        `unknown piece operator "${String(name)}"; expected one of ${PIECE_OPERATORS.join(', ')}`,
      );
  }
}
