import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DenseValidation } from '../../decompose/denseValidation.js';
import type { ReportFragment } from '../../report/reportFragment.js';
import type { ArtifactRole, UpstreamArtifact } from '../registry.js';

/**
 * The artifact contract of `validate/dense`:
 * - validation.arrow: one row per compared estimate — estimate (instance), operator (the row key:
 *   "<op>", "<op>-deflated", "<piece> (Gram)"), source, deflated, k, top_rel_err_max, w1_over_width,
 *   density_l1, band_coverage, outliers_exact, outliers_estimated (NaN: not measured by that estimate);
 *   metadata parameters, samples, classes, lambda_min_b2, lambda_max_b2, b2_psd, identity_residual, asymmetry.
 * - exact-eigenvalues.arrow: every exact eigenvalue (descending) of each operator built, one column each.
 * - report-fragment.json: the validation panel (src/report/validationFragment.ts).
 */
export const VALIDATION_FILE = 'validation.arrow';
export const EXACT_EIGENVALUES_FILE = 'exact-eigenvalues.arrow';

export interface ValidationTableRow {
  readonly estimate: string;
  readonly operator: string;
  readonly source: string;
  readonly deflated: number;
  readonly k: number;
  readonly topRelErrMax: number;
  readonly w1OverWidth: number;
  readonly densityL1: number;
  readonly bandCoverage: number;
  readonly outliersExact: number;
  readonly outliersEstimated: number;
}

/** The table rows of a validation (NaN where an estimate did not measure a quantity). */
export function validationTable(v: DenseValidation, key: (r: DenseValidation['rows'][number]) => string): ValidationTableRow[] {
  return v.rows.map((r) => {
    const top = r.comparison.topRelativeErrors ?? [];
    return {
      estimate: r.label,
      operator: key(r),
      source: r.source,
      deflated: r.deflated,
      k: top.length,
      topRelErrMax: top.length > 0 ? Math.max(...top) : NaN,
      w1OverWidth: r.comparison.w1OverWidth ?? NaN,
      densityL1: r.comparison.densityL1 ?? NaN,
      bandCoverage: r.comparison.bandMassFraction ?? NaN,
      outliersExact: r.outliers?.exact.count ?? NaN,
      outliersEstimated: r.outliers?.estimated.count ?? NaN,
    };
  });
}

/** Writes the artifact's files into `outDir`; returns their roles. */
export async function writeValidationArtifact(
  outDir: string,
  v: DenseValidation,
  rows: readonly ValidationTableRow[],
  fragment: ReportFragment,
): Promise<Record<string, ArtifactRole>> {
  const { writeArrowFile } = await import('../../store/arrowFile.js');
  const { REPORT_FRAGMENT_FILE } = await import('../../report/reportFragment.js');
  const col = (f: (r: ValidationTableRow) => number): Float64Array => Float64Array.from(rows, f);
  writeArrowFile(
    join(outDir, VALIDATION_FILE),
    {
      estimate: rows.map((r) => r.estimate),
      operator: rows.map((r) => r.operator),
      source: rows.map((r) => r.source),
      deflated: Int32Array.from(rows, (r) => r.deflated),
      k: Int32Array.from(rows, (r) => r.k),
      top_rel_err_max: col((r) => r.topRelErrMax),
      w1_over_width: col((r) => r.w1OverWidth),
      density_l1: col((r) => r.densityL1),
      band_coverage: col((r) => r.bandCoverage),
      outliers_exact: col((r) => r.outliersExact),
      outliers_estimated: col((r) => r.outliersEstimated),
    },
    {
      parameters: String(v.parameters),
      samples: String(v.samples),
      classes: String(v.classes),
      lambda_min_b2: String(v.b2.lambdaMin),
      lambda_max_b2: String(v.b2.lambdaMax),
      b2_psd: String(v.b2.psd),
      identity_residual: String(v.identityResidual),
      asymmetry: String(v.asymmetry),
    },
  );
  writeArrowFile(
    join(outDir, EXACT_EIGENVALUES_FILE),
    Object.fromEntries(Object.entries(v.eigenvalues).map(([op, ev]) => [op, ev])),
    { parameters: String(v.parameters), samples: String(v.samples) },
  );
  writeFileSync(join(outDir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment) + '\n');
  return { [VALIDATION_FILE]: 'table', [EXACT_EIGENVALUES_FILE]: 'table', [REPORT_FRAGMENT_FILE]: 'data' };
}

/** A validate/dense artifact as a reader (tests, diff) sees it. */
export interface ValidationArtifact {
  readonly upstream: UpstreamArtifact;
  rows(): Promise<ValidationTableRow[]>;
  /** Table metadata (parameters, samples, λ_min(B2), identity residual …) as numbers. */
  checks(): Promise<Record<string, number>>;
  /** Exact eigenvalues (descending) by operator. */
  eigenvalues(): Promise<Record<string, Float64Array>>;
}

export function validationArtifact(upstream: UpstreamArtifact): ValidationArtifact {
  const table = async (f: string) => (await import('../../store/arrowFile.js')).readArrowFile(join(upstream.dir, f));
  return {
    upstream,
    async rows() {
      const t = await table(VALIDATION_FILE);
      const c = t.columns;
      const s = (k: string): readonly string[] => c[k] as readonly string[];
      const n = (k: string): ArrayLike<number> => c[k] as ArrayLike<number>;
      return s('estimate').map((estimate, i) => ({
        estimate,
        operator: s('operator')[i]!,
        source: s('source')[i]!,
        deflated: n('deflated')[i]!,
        k: n('k')[i]!,
        topRelErrMax: n('top_rel_err_max')[i]!,
        w1OverWidth: n('w1_over_width')[i]!,
        densityL1: n('density_l1')[i]!,
        bandCoverage: n('band_coverage')[i]!,
        outliersExact: n('outliers_exact')[i]!,
        outliersEstimated: n('outliers_estimated')[i]!,
      }));
    },
    async checks() {
      const m = (await table(VALIDATION_FILE)).metadata;
      return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === 'true' ? 1 : v === 'false' ? 0 : Number(v)]));
    },
    async eigenvalues() {
      const t = await table(EXACT_EIGENVALUES_FILE);
      return Object.fromEntries(Object.entries(t.columns).map(([k, v]) => [k, Float64Array.from(v as ArrayLike<number>)]));
    },
  };
}
