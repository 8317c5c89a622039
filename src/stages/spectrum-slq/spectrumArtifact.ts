import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpectrumMeasurement } from '../../linalg/spectrumMeasurement.js';
import type { ReportFragment } from '../../report/reportFragment.js';
import type { ArtifactRole, UpstreamArtifact } from '../registry.js';

/** The artifact contract of `spectrum/slq`: Arrow tables, each carrying the measurement's metadata. */
export const SPECTRUM_FILES = {
  /** nodes, weights: the SLQ measure Σ_j w_j δ(λ − θ_j) over all start vectors (weights sum to 1). */
  measure: 'spectrum.arrow',
  /**
   * x, y: the smoothed density on a grid (Papyan's Gaussian kernel); metadata sigma. With several
   * start vectors also lo, hi: its band, mean ± t_{0.975, n_v−1} (≈ 2) standard errors across start
   * vectors (densityBand, src/linalg/slq.ts; metadata band names the rule); without them (one start
   * vector) the band is undefined.
   */
  density: 'density.arrow',
  /** run, nodes, weights: each start vector's quadrature. */
  runs: 'runs.arrow',
  /** x, y per sign of λ: density of |λ| from the log-spectrum; metadata mass, epsilon. */
  logPositive: 'log_density_positive.arrow',
  logNegative: 'log_density_negative.arrow',
  /** value, residual, converged: the top-k eigenpairs (when top_k > 0). */
  outliers: 'outliers.arrow',
} as const;

/** Writes a measurement's files into `outDir` (a log half without eigenvalues has no file); returns their roles. */
export async function writeSpectrumArtifact(
  outDir: string,
  m: SpectrumMeasurement,
  meta: Readonly<Record<string, string>>,
  fragment: ReportFragment,
): Promise<Record<string, ArtifactRole>> {
  const { writeArrowFile } = await import('../../store/arrowFile.js');
  const { REPORT_FRAGMENT_FILE } = await import('../../report/reportFragment.js');
  const at = (f: string): string => join(outDir, f);
  const s = m.slq;
  writeArrowFile(at(SPECTRUM_FILES.measure), { nodes: s.measure.nodes, weights: s.measure.weights }, meta);
  writeArrowFile(
    at(SPECTRUM_FILES.density),
    { x: s.density.x, y: s.density.y, ...(s.band !== undefined && { lo: s.band.lo, hi: s.band.hi }) },
    {
      ...meta,
      sigma: String(s.sigma),
      ...(s.band !== undefined && {
        band: `mean ± t(0.975, ${s.runs.length - 1}) standard errors over ${s.runs.length} start vectors`,
      }),
    },
  );
  const run: number[] = [];
  const nodes: number[] = [];
  const weights: number[] = [];
  s.runs.forEach((r, i) => r.nodes.forEach((x, j) => (run.push(i), nodes.push(x), weights.push(r.weights[j]!))));
  writeArrowFile(
    at(SPECTRUM_FILES.runs),
    { run: Int32Array.from(run), nodes: Float64Array.from(nodes), weights: Float64Array.from(weights) },
    meta,
  );
  const roles: Record<string, ArtifactRole> = {
    [SPECTRUM_FILES.measure]: 'spectrum',
    [SPECTRUM_FILES.density]: 'table',
    [SPECTRUM_FILES.runs]: 'table',
    [REPORT_FRAGMENT_FILE]: 'data',
  };
  if (m.pairs.length > 0) {
    writeArrowFile(
      at(SPECTRUM_FILES.outliers),
      {
        value: Float64Array.from(m.pairs, (x) => x.value),
        residual: Float64Array.from(m.pairs, (x) => x.residual),
        converged: Int32Array.from(m.pairs, (x) => (x.converged ? 1 : 0)),
      },
      meta,
    );
    roles[SPECTRUM_FILES.outliers] = 'table';
  }
  const ls = m.logSpectrum;
  if (ls !== undefined)
    for (const [file, half] of [
      [SPECTRUM_FILES.logPositive, ls.positive],
      [SPECTRUM_FILES.logNegative, ls.negative],
    ] as const) {
      if (half.x.length === 0) continue;
      writeArrowFile(at(file), { x: half.x, y: half.y }, { ...meta, mass: String(half.mass), epsilon: String(ls.epsilon) });
      roles[file] = 'table';
    }
  writeFileSync(at(REPORT_FRAGMENT_FILE), JSON.stringify(fragment) + '\n');
  return roles;
}

/** A spectrum/slq artifact as a reader (diff, report, tests) sees it. */
export interface SpectrumArtifact {
  readonly upstream: UpstreamArtifact;
  /** The smoothed density on its grid, with its band (lo, hi) when there were several start vectors. */
  density(): Promise<{ x: Float64Array; y: Float64Array; sigma: number; band?: { lo: Float64Array; hi: Float64Array } }>;
  /** The SLQ measure (Ritz values and weights over all start vectors). */
  ritz(): Promise<{ nodes: Float64Array; weights: Float64Array }>;
  /** The top-k eigenpairs' values, residuals and convergence flags (empty without top_k). */
  outliers(): Promise<{ value: number; residual: number; converged: boolean }[]>;
  /** Trace estimates recorded in the metrics: SLQ's P·∫λdμ and Hutch++'s with its standard error. */
  traces(): { slq: number; hutchpp?: { value: number; stderr: number } };
  /** What was measured, from the files' metadata: operator (with "-deflated"), split, epoch, parameters, samples, deflated. */
  measured(): Promise<{ operator: string; split: string; epoch: number; parameters: number; samples: number; deflated: number }>;
}

/** Reads a spectrum/slq artifact. */
export function spectrumArtifact(upstream: UpstreamArtifact): SpectrumArtifact {
  const at = (f: string): string => join(upstream.dir, f);
  const table = async (f: string) => (await import('../../store/arrowFile.js')).readArrowFile(at(f));
  const f64 = (c: unknown): Float64Array => Float64Array.from(c as ArrayLike<number>);
  return {
    upstream,
    async density() {
      const t = await table(SPECTRUM_FILES.density);
      const lo = t.columns['lo'];
      const hi = t.columns['hi'];
      return {
        x: f64(t.columns['x']),
        y: f64(t.columns['y']),
        sigma: Number(t.metadata['sigma']),
        ...(lo !== undefined && hi !== undefined && { band: { lo: f64(lo), hi: f64(hi) } }),
      };
    },
    async ritz() {
      const t = await table(SPECTRUM_FILES.measure);
      return { nodes: f64(t.columns['nodes']), weights: f64(t.columns['weights']) };
    },
    async outliers() {
      if (!existsSync(at(SPECTRUM_FILES.outliers))) return [];
      const t = await table(SPECTRUM_FILES.outliers);
      const value = f64(t.columns['value']);
      const residual = f64(t.columns['residual']);
      const converged = f64(t.columns['converged']);
      return Array.from(value, (v, i) => ({ value: v, residual: residual[i]!, converged: converged[i] === 1 }));
    },
    async measured() {
      const m = (await table(SPECTRUM_FILES.measure)).metadata;
      return {
        operator: m['operator'] ?? '',
        split: m['split'] ?? '',
        epoch: Number(m['epoch']),
        parameters: Number(m['parameters']),
        samples: Number(m['samples']),
        deflated: Number(m['deflated'] ?? 0),
      };
    },
    traces() {
      const m = upstream.manifest.metrics;
      const hp = m['trace_hutchpp'];
      return {
        slq: m['trace'] ?? NaN,
        ...(hp !== undefined && { hutchpp: { value: hp, stderr: m['trace_stderr'] ?? NaN } }),
      };
    },
  };
}
