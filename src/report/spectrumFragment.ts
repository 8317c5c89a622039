import type { SpectrumMeasurement } from '../linalg/spectrumMeasurement.js';
import type { ReportFragment } from './reportFragment.js';
import type { NumberRow, ScalarPoint, SeriesTags, Split } from './reportData.js';
import { spectrumSeriesFromSlq } from './spectrumSeries.js';
import { countOutliers } from '../linalg/outlierCount.js';

/** Which of Papyan's claims (docs/results.md) an operator's numbers bear on. */
const CLAIM_OF: Readonly<Record<string, string>> = {
  hessian: 'a',
  residual: 'b',
  ggn: 'c',
  a1: 'c',
  a2: 'c',
  b1: 'f',
  b2: 'f',
  'a1+a2+b1': 'c',
};

export interface SpectrumFragmentOptions {
  /** The measured operator ("hessian", "ggn", …, or a piece "a1" … "b2"). */
  readonly operator: string;
  readonly split: Split;
  readonly tags: SeriesTags;
  /** Parameter count P (the measure's moments times P are sums over eigenvalues). */
  readonly parameters: number;
  /** Whether the operator is one of G's pieces (its λ_max and trace are plotted as scalars). */
  readonly piece: boolean;
  /** Pairs deflated before SLQ, as asked (`deflate`). */
  readonly deflate: number;
  /** Classes C, when known: the outlier rule looks for a gap at k ≤ 2C. */
  readonly classes?: number;
}

/**
 * The report's view of one spectrum measurement: the density series (outliers marked unless they
 * were deflated away; log-spectrum; trace), the numbers behind the claims, and the scalars plotted
 * across epochs. A deflated operator reports its own λ_max, the bulk edge (the SLQ measure's top
 * node), and labels the pairs it removed as such.
 */
export function spectrumReportFragment(m: SpectrumMeasurement, o: SpectrumFragmentOptions): ReportFragment {
  const deflated = o.deflate > 0;
  const opName = deflated ? `${o.operator}-deflated` : o.operator;
  const where = [
    o.tags.dataset,
    o.tags.model,
    o.tags.epoch !== undefined ? `epoch ${o.tags.epoch}` : undefined,
    o.tags.samplesPerClass !== undefined ? `${o.tags.samplesPerClass}/class` : undefined,
    o.split,
  ]
    .filter((x) => x !== undefined)
    .join(', ');
  const label = deflated ? `${o.operator} deflated by top ${o.deflate}` : o.operator;
  const claim = CLAIM_OF[o.operator];
  const numbers: NumberRow[] = [];
  const num = (name: string, value: number | string, note?: string): void => {
    numbers.push({
      ...(claim !== undefined && { claim }),
      name: `${name} [${where}]`,
      value,
      ...(note !== undefined && { note }),
    });
  };
  if (m.pairs.length > 0)
    num(
      deflated
        ? `top-${m.pairs.length} eigenvalues of ${o.operator} (removed by the deflation)`
        : `top-${m.pairs.length} eigenvalues of ${label}`,
      m.pairs.map((x) => x.value.toPrecision(4)).join(', '),
      `max residual ${Math.max(...m.pairs.map((x) => x.residual)).toPrecision(2)}`,
    );
  if (m.pairs.length > 0) {
    // Outliers by one rule (src/linalg/outlierCount.ts), not "all top-k": the largest ratio λ_k/λ_{k+1}
    // must beat the bulk's own ratios. With every pair deflated, the deflated SLQ's top node is the bulk edge.
    // Only the leading converged pairs enter the rule: an unconverged Ritz value is not an eigenvalue.
    const firstUnconverged = m.pairs.findIndex((x) => !x.converged);
    const used = firstUnconverged === -1 ? m.pairs : m.pairs.slice(0, firstUnconverged);
    const bulkEdge = deflated && m.deflated === m.pairs.length && used.length === m.pairs.length ? m.moments.top : undefined;
    const c = countOutliers(
      used.map((x) => x.value),
      { ...(bulkEdge !== undefined && { bulkEdge }), ...(o.classes !== undefined && { classes: o.classes }) },
    );
    const evidence =
      (Number.isFinite(c.gapRatio)
        ? `gap ratio λ_${c.candidate}/λ_${c.candidate + 1} = ${c.gapRatio.toPrecision(3)}, bulk-edge ratio ${c.bulkRatio.toPrecision(3)}, ` +
          `accepted when gap ≥ bulk^${c.margin} and ≥ ${c.minRatio}`
        : c.reason) + (used.length < m.pairs.length ? `; from the ${used.length} leading converged pairs` : '');
    num(`outliers by the rule of ${o.operator} (top ${m.pairs.length})`, c.count > 0 ? c.count : 'no clear outliers', evidence);
  }
  num(`λ_max (SLQ) of ${label}`, m.moments.top);
  const se = (x: number | undefined): string | undefined =>
    x === undefined
      ? undefined
      : `± ${(o.parameters * x).toPrecision(2)} (standard error across ${m.slq.runs.length} start vectors)`;
  num(`tr = P·∫λdμ (SLQ) of ${label}`, o.parameters * m.moments.mean, se(m.moments.meanStderr));
  num(`Σλ² = P·∫λ²dμ (SLQ) of ${label}`, o.parameters * m.moments.second, se(m.moments.secondStderr));
  if (m.trace !== undefined)
    num(`tr ${label} (Hutch++, ${m.trace.matvecs} products)`, m.trace.value, `± ${m.trace.stderr.toPrecision(2)}`);
  const scalars: ScalarPoint[] = [];
  if (o.piece || deflated) {
    const base = { ...o.tags, split: o.split };
    const lambdaMax = deflated ? m.moments.top : (m.pairs[0]?.value ?? m.moments.top);
    scalars.push({ ...base, name: `λ_max(${opName})`, value: lambdaMax });
    if (m.trace !== undefined) scalars.push({ ...base, name: `tr(${opName})`, value: m.trace.value });
  }
  return {
    spectra: [
      spectrumSeriesFromSlq(m.slq, {
        operator: opName,
        split: o.split,
        tags: o.tags,
        ...(m.pairs.length > 0 && !deflated && { outliers: m.pairs.map((x) => x.value) }),
        ...(m.logSpectrum !== undefined && { logSpectrum: m.logSpectrum }),
        ...(m.trace !== undefined && { trace: m.trace.value }),
      }),
    ],
    numbers,
    ...(scalars.length > 0 && { scalars }),
  };
}
