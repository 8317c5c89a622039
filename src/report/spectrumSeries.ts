import type { SlqResult } from '../linalg/slq.js';
import type { LogSpectrum } from '../linalg/logSpectrum.js';
import type { OperatorName, SeriesTags, SpectrumSeries, Split } from './reportData.js';

/**
 * The report's SpectrumSeries from the spectral estimators' results, for a `spectrum/*` stage
 * to put in its report-fragment.json: the SLQ density on its grid, the top-k eigenvalues
 * (outliers, descending), the log-spectrum's two halves and a trace estimate.
 */
export function spectrumSeriesFromSlq(
  slq: Pick<SlqResult, 'density'>,
  options: {
    readonly operator: OperatorName;
    readonly split: Split;
    readonly tags?: SeriesTags;
    readonly outliers?: ArrayLike<number>;
    readonly logSpectrum?: LogSpectrum;
    readonly trace?: number;
  },
): SpectrumSeries {
  const log = options.logSpectrum;
  return {
    ...(options.tags ?? {}),
    operator: options.operator,
    split: options.split,
    grid: Array.from(slq.density.x),
    density: Array.from(slq.density.y),
    ...(options.outliers !== undefined && { outliers: Array.from(options.outliers).sort((a, b) => b - a) }),
    ...(log !== undefined && {
      logSpectrum: {
        grid: Array.from(log.positive.x),
        density: Array.from(log.positive.y),
        negativeGrid: Array.from(log.negative.x),
        negativeDensity: Array.from(log.negative.y),
      },
    }),
    ...(options.trace !== undefined && { trace: options.trace }),
  };
}
