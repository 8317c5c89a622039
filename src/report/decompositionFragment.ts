import type { DecompositionSummary } from '../decompose/decomposition.js';
import type { ReportFragment } from './reportFragment.js';
import type { NumberRow, SeriesTags, Split } from './reportData.js';

/** The report's view of a decomposition: exact eigenvalues of every low-rank piece and the numbers behind claims (c), (f). */
export function decompositionFragment(s: DecompositionSummary, tags: SeriesTags, split: Split): ReportFragment {
  const where = [
    tags.dataset,
    tags.model,
    tags.epoch !== undefined ? `epoch ${tags.epoch}` : undefined,
    tags.samplesPerClass !== undefined ? `${tags.samplesPerClass}/class` : undefined,
    split,
  ]
    .filter((x) => x !== undefined)
    .join(', ');
  const pieces = ['a1', 'a2', 'b1', 'a1+a2+b1'] as const;
  const numbers: NumberRow[] = [
    ...pieces.map((p) => ({
      claim: p === 'b1' ? 'f' : 'c',
      name: `tr ${p.toUpperCase()} (exact) [${where}]`,
      value: s.pieces[p].trace,
    })),
    { claim: 'f', name: `rank B1 (bound C(C−2) = ${s.pieces.b1.rankBound}) [${where}]`, value: s.pieces.b1.rank },
    { claim: 'c', name: `λ_max(A1) (exact) [${where}]`, value: s.pieces.a1.eigenvalues[0] ?? Number.NaN },
  ];
  if (s.traceB2 !== undefined)
    numbers.push({
      claim: 'f',
      name: `tr B2 (Hutch++, ${s.traceB2.matvecs} products) [${where}]`,
      value: s.traceB2.value,
      note: `± ${s.traceB2.stderr.toPrecision(2)}`,
    });
  const b = s.bottomB2;
  if (b !== undefined)
    numbers.push({
      claim: 'f',
      name: `λ_min(B2) (Lanczos, ${b.matvecs} products) [${where}]`,
      value: b.value,
      note:
        `residual ${b.residual.toPrecision(2)}${b.converged ? '' : ' (not converged)'}; ` +
        `B2 ⪰ 0 check λ_min ≥ −${b.tolerance.toPrecision(2)} (max(residual, 1e-5·‖B2‖)): ${b.holds ? 'holds' : 'FAILS'}`,
    });
  const cs = s.classStructure;
  numbers.push({
    claim: 'c',
    name: `λ_C(A1)/λ_{C−1}(A1) [${where}]`,
    value: cs.a1LastRatio,
    note: `‖(1/N) Σ_c P_cc g_cc‖ = ${cs.selfTermSumNorm.toPrecision(3)}${cs.gradientNorm !== undefined ? ` vs ‖∇L‖ = ${cs.gradientNorm.toPrecision(3)}` : ''} (C − 1 structure of A1)`,
  });
  return {
    exactEigenvalues: pieces.map((piece) => ({ ...tags, piece, split, values: s.pieces[piece].eigenvalues })),
    numbers,
  };
}
