import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import type { LinearOperator } from '../../linalg/operator.js';
import { DEFAULT_ASYMMETRY_TOLERANCE, countingOperator, fromDenseSymmetric } from '../../linalg/operatorAlgebra.js';
import { readMatrixFile } from '../../linalg/matrixFile.js';
import { studentT975, type SlqResult } from '../../linalg/slq.js';
import { kpmDensity } from '../../linalg/kpm.js';
import { bottomEigenpairs, type EigenpairResult } from '../../linalg/outliers.js';
import { ProductProgress } from '../productProgress.js';
import {
  knownProducts,
  measureSpectrum,
  measureTopPairs,
  type ProductCounts,
  type MeasuredPair,
  type SpectrumMeasurement,
  type SpectrumMeasurementOptions,
} from '../../linalg/spectrumMeasurement.js';
import { curvatureOperatorForCli, type CurvatureCliOptions } from '../../curvature/cliOperator.js';
import { mlp64OperatorForCli } from '../../curvature/mlp64Cli.js';
import { DENSE_CURVATURE_LIMIT, checkDenseSize, denseSpectrum } from '../../curvature/denseCurvature.js';
import { compareWithExact } from '../../linalg/exactComparison.js';
import { countOutliers } from '../../linalg/outlierCount.js';
import { CURVATURE_OPERATORS, isCurvatureKind, listInWords } from '../../curvature/operatorKind.js';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/backend.js';
import { schemaDefaults } from '../../util/schemaFiles.js';
import type { SpectrumSlqParams } from '../../params/spectrum-slq.generated.js';

/**
 * Defaults shared with the spectrum/slq stage (schemas/stages/spectrum-slq.schema.json) and the pipeline's seed
 * (schemas/pipeline.schema.json), so `specpipe spectrum` and a pipeline estimate the same way unless told otherwise.
 */
export const SPECTRUM_DEFAULTS = {
  ...(schemaDefaults('stages/spectrum-slq.schema.json', [
    'lanczos_steps',
    'start_vectors',
    'grid_size',
    'trace_matvecs',
    'batch_size',
    'top_k_tol',
    'split',
    'operator',
  ]) as Pick<
    SpectrumSlqParams,
    'lanczos_steps' | 'start_vectors' | 'grid_size' | 'trace_matvecs' | 'batch_size' | 'top_k_tol' | 'split' | 'operator'
  >),
  seed: schemaDefaults('pipeline.schema.json', ['seed']).seed as number,
  symmetryTolerance: DEFAULT_ASYMMETRY_TOLERANCE,
};
const D = SPECTRUM_DEFAULTS;

const USAGE = () => `usage: specpipe spectrum (--matrix M.npy|M.arrow | --checkpoint C.safetensors [--data SRC] [--model SPEC]
                         [--split train|test] [--operator ${CURVATURE_OPERATORS.join('|')}]) [estimates] [--json]

Defaults of Lanczos steps, start vectors, grid, trace products, batch size, split and operator are those of
the spectrum/slq stage (schemas/stages/spectrum-slq.schema.json).

operand:
  --matrix PATH          dense symmetric matrix: .npy (v1/v2/v3, '<f8' or '<f4', C or Fortran order)
                         or .arrow (n Float64/Float32 columns of length n = the matrix columns, schema order)
  --symmetry-tol T       largest accepted max|A − Aᵀ|/max|A| for --matrix (default ${D.symmetryTolerance})
  --checkpoint PATH      trained weights; with --model SPEC (mlp:784-64-64-10:relu, lenet:1x28x28:6-16-120:10,
                         or a spec JSON path), --split train|test (default ${D.split}),
                         --operator ${CURVATURE_OPERATORS.join('|')} (default ${D.operator}), --backend,
                         --batch-size (default ${D.batch_size})
  samples                by default the samples the net was trained (tested) on, as the checkpoint records them
                         (source, seed, per-class count, checked by their sha256); stderr says which were used.
                         --samples all: the whole split; --samples-per-class N: a balanced subset drawn with --seed;
                         --data SRC: another source (required for a checkpoint without that record)
estimates (default: --density); --top, --density, --log-density, --trace and --deflate make the same
measurement as a spectrum/slq pipeline stage with top_k, log_spectrum, trace and deflate (same defaults):
  --top K                the K largest eigenvalues with residual norms, and how many are outliers by one
                         rule (outlierRule: largest λ_k/λ_{k+1} against the ratios past it, src/linalg/outlierCount.ts)
  --bottom K             the K smallest eigenvalues with residual norms
  --density              SLQ density (Papyan's kernel) and its spectral measure ("quadrature"), with the
                         band mean ± t_{0.975, n_v−1} (≈ 2) standard errors across start vectors
                         (density.band: {lo, hi}; none with one start vector)
  --log-density          density of log(|λ| + ε), positive and negative halves
  --kpm                  kernel polynomial method density (Chebyshev moments, Jackson damping)
  --trace                Hutch++ trace (of the deflated operator with --deflate) with standard error
  --exact                every eigenvalue (descending) from the dense operator, built column by column from
                         exact products (float64 for an MLP checkpoint, else the curvature engine's float32
                         products accumulated in float64: exact.products says which) and eigendecomposed in
                         float64; P ≤ ${DENSE_CURVATURE_LIMIT} only. With --top or --density, also each estimate's
                         error against it (exact.compare)
options:
  --deflate K            measure the bulk: SLQ of A − Σ_{i≤K} λ_i v_i v_iᵀ over the K largest eigenpairs
  --lanczos-steps M      Lanczos steps per start vector (default ${D.lanczos_steps})
  --start-vectors N      random start vectors for SLQ / KPM (default ${D.start_vectors})
  --seed S               seed of every random vector (default ${D.seed})
  --tol T                residual tolerance of --top/--bottom, relative to ‖A‖ (default ${D.top_k_tol})
  --max-matvecs B        product budget of --top/--bottom each (default 20·K + 40)
  --trace-matvecs B      products for --trace (default ${D.trace_matvecs})
  --grid G               grid points of the densities (default ${D.grid_size})
  --json                 print one JSON object
  --progress             progress lines on stderr even when it is not a terminal (on a terminal: always, in place):
                         the products known in advance (SLQ steps × start vectors, Hutch++), top-k counted as it
                         goes, an ETA from the measured time per product, and the products called by phase at the end

What each estimate is, with its error bar: docs/math.md §4 (#4-spectral-estimators).`;

function intFlag(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min)
    throw new SpecpipeError('cli-flag', `--${name}: expected an integer ≥ ${min}, received "${raw}"`, 2);
  return v;
}

function numFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0)
    throw new SpecpipeError('cli-flag', `--${name}: expected a positive number, received "${raw}"`, 2);
  return v;
}

function arr(a: Float64Array): number[] {
  return Array.from(a);
}

function pairsJson(r: EigenpairResult): { value: number; residual: number; converged: boolean }[] {
  return r.pairs.map((p) => ({ value: p.value, residual: p.residual, converged: p.converged }));
}

const FLAGS = {
  matrix: { type: 'string' },
  'symmetry-tol': { type: 'string' },
  checkpoint: { type: 'string' },
  model: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  operator: { type: 'string' },
  backend: { type: 'string' },
  'samples-per-class': { type: 'string' },
  samples: { type: 'string' },
  'batch-size': { type: 'string' },
  top: { type: 'string' },
  bottom: { type: 'string' },
  density: { type: 'boolean' },
  'log-density': { type: 'boolean' },
  kpm: { type: 'boolean' },
  trace: { type: 'boolean' },
  exact: { type: 'boolean' },
  'lanczos-steps': { type: 'string' },
  'start-vectors': { type: 'string' },
  seed: { type: 'string' },
  tol: { type: 'string' },
  'max-matvecs': { type: 'string' },
  'trace-matvecs': { type: 'string' },
  grid: { type: 'string' },
  deflate: { type: 'string' },
  json: { type: 'boolean' },
  progress: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS; allowPositionals: false }>>['values'];

/** What the command prints: the JSON document and the text lines. */
interface Printout {
  readonly out: Record<string, unknown>;
  readonly text: string[];
}

/** The operand: a dense matrix, or a curvature operator of a checkpoint (and, for --exact on an MLP, its float64 twin). */
async function spectrumOperand(
  f: Flags,
  seed: number,
): Promise<{ base: LinearOperator; name: string; exactOperator?: LinearOperator }> {
  if (f.matrix !== undefined) {
    const m = readMatrixFile(f.matrix);
    if (m.rows !== m.cols)
      throw new SpecpipeError('matrix-not-square', `${f.matrix}: matrix must be square, received shape ${m.rows} × ${m.cols}`);
    const asymmetryTolerance = numFlag('symmetry-tol', f['symmetry-tol'], D.symmetryTolerance);
    return { base: fromDenseSymmetric(m.data, { n: m.rows, name: f.matrix, asymmetryTolerance }), name: 'matrix' };
  }
  const split = f.split ?? D.split;
  if (split !== 'train' && split !== 'test')
    throw new SpecpipeError('cli-flag', `--split: expected train or test, received "${split}"`, 2);
  const op = f.operator ?? D.operator;
  if (!isCurvatureKind(op))
    throw new SpecpipeError('cli-flag', `--operator: expected ${listInWords(CURVATURE_OPERATORS)}, received "${op}"`, 2);
  const backend = f.backend ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(backend))
    throw new SpecpipeError('cli-flag', `--backend: expected one of ${BACKEND_CHOICES.join(', ')}, received "${backend}"`, 2);
  const samples = f.samples;
  if (samples !== undefined && samples !== 'trained' && samples !== 'all')
    throw new SpecpipeError('cli-flag', `--samples: expected trained or all, received "${samples}"`, 2);
  const cliOptions: CurvatureCliOptions = {
    checkpoint: f.checkpoint!,
    ...(f.model !== undefined && { model: f.model }),
    ...(f.data !== undefined && { data: f.data }),
    ...(samples !== undefined && { samples }),
    log: (line) => void process.stderr.write(line + '\n'),
    split,
    operator: op,
    backend: backend as BackendChoice,
    seed,
    ...(f['samples-per-class'] !== undefined && { samplesPerClass: intFlag('samples-per-class', f['samples-per-class'], 1) }),
    batchSize: intFlag('batch-size', f['batch-size'], D.batch_size),
  };
  const base = await curvatureOperatorForCli(cliOptions);
  // --exact on an MLP: products in float64 (explicit R-operator), not the float32 engine's.
  const exactOperator =
    f.exact === true && base.size <= DENSE_CURVATURE_LIMIT ? await mlp64OperatorForCli(cliOptions) : undefined;
  return { base, name: op, ...(exactOperator !== undefined && { exactOperator }) };
}

function printPairs(p: Printout, what: string, pairs: readonly MeasuredPair[]): void {
  const all = pairs.every((x) => x.converged);
  p.text.push(`${what} (${all ? 'all converged' : 'NOT all converged'}):`);
  for (const x of pairs)
    p.text.push(`  ${x.value.toPrecision(10)}  residual ${x.residual.toExponential(2)}${x.converged ? '' : '  (not converged)'}`);
}

/** The SLQ part of a measurement: quadrature, density with its band, log-spectrum, trace. */
function printMeasurement(p: Printout, m: SpectrumMeasurement, steps: number, wantDensity: boolean): void {
  if (m.deflated > 0) p.text.push(`deflated the top ${m.deflated} eigenpairs before SLQ (the bulk)`);
  const s = m.slq;
  p.out.quadrature = { nodes: arr(s.measure.nodes), weights: arr(s.measure.weights) };
  p.text.push(
    `SLQ: ${s.runs.length} start vectors × ${steps} steps, bounds [${s.bounds.lower.toPrecision(6)}, ${s.bounds.upper.toPrecision(6)}], σ = ${s.sigma.toPrecision(3)}`,
  );
  if (wantDensity) {
    p.out.density = {
      x: arr(s.density.x),
      y: arr(s.density.y),
      // mean ± t_{0.975, n_v−1} (≈ 2) standard errors across start vectors (densityBand); absent with one start vector
      ...(s.band !== undefined && { band: { lo: arr(s.band.lo), hi: arr(s.band.hi) } }),
    };
    p.text.push(
      s.band !== undefined
        ? `density band: mean ± ${studentT975(s.runs.length - 1).toFixed(2)} standard errors across ${s.runs.length} start vectors (density.band in --json)`
        : 'density band: undefined with one start vector',
    );
  }
  const l = m.logSpectrum;
  if (l !== undefined) {
    p.out.logDensity = {
      positive: { x: arr(l.positive.x), y: arr(l.positive.y) },
      negative: { x: arr(l.negative.x), y: arr(l.negative.y) },
    };
    p.text.push(
      `log-spectrum: positive mass ${l.positive.mass.toFixed(4)}, negative mass ${l.negative.mass.toFixed(4)}, ε = ${l.epsilon.toExponential(2)}`,
    );
  }
  if (m.trace !== undefined) {
    p.out.trace = { value: m.trace.value, stderr: m.trace.stderr };
    p.text.push(
      `trace (Hutch++, ${m.trace.matvecs} products): ${m.trace.value.toPrecision(8)} ± ${m.trace.stderr.toPrecision(3)}`,
    );
  }
}

/**
 * One rule for counting outliers (src/linalg/outlierCount.ts), with its evidence, over the leading
 * converged pairs (an unconverged Ritz value may stand for a missed eigenvalue).
 */
function printOutlierRule(p: Printout, top: readonly MeasuredPair[]): void {
  const stop = top.findIndex((x) => !x.converged);
  const used = stop === -1 ? top : top.slice(0, stop);
  const c = countOutliers(used.map((x) => x.value));
  p.out.outlierRule = {
    count: c.count,
    candidate: c.candidate,
    gapRatio: c.gapRatio,
    bulkRatio: c.bulkRatio,
    margin: c.margin,
    pairsUsed: used.length,
    reason: c.reason,
  };
  p.text.push(c.count > 0 ? `outliers by the rule: ${c.count} (${c.reason})` : `no clear outliers (${c.reason})`);
}

/** --exact: the dense float64 spectrum, and how the estimates made in this call compare with it. */
async function printExact(
  p: Printout,
  op: LinearOperator,
  products: string,
  measured: { top?: readonly MeasuredPair[]; slq?: SlqResult; deflated: number },
): Promise<void> {
  const d = await denseSpectrum(op);
  const ev = d.eigenvalues;
  const cmp = compareWithExact(ev, {
    ...(measured.top !== undefined && { top: measured.top.map((x) => x.value) }),
    ...(measured.slq !== undefined && { slq: measured.slq, deflated: measured.deflated }),
  });
  const hasCompare = Object.keys(cmp).length > 0;
  p.out.exact = { eigenvalues: arr(ev), products, asymmetry: d.asymmetry, ...(hasCompare && { compare: cmp }) };
  const head = Array.from(ev.subarray(0, Math.min(5, ev.length)), (x) => x.toPrecision(10)).join(', ');
  p.text.push(
    `exact (dense ${d.size} × ${d.size} from ${products} products, float64 eigensolver, asymmetry ${d.asymmetry.toExponential(2)}): λ_max … = ${head}; λ_min = ${ev[ev.length - 1]!.toPrecision(10)}`,
  );
  if (cmp.topRelativeErrors !== undefined)
    p.text.push(
      `  top-${cmp.topRelativeErrors.length} relative errors: ${cmp.topRelativeErrors.map((e) => e.toExponential(2)).join(', ')}`,
    );
  if (cmp.w1OverWidth !== undefined)
    p.text.push(
      `  SLQ measure${measured.deflated > 0 ? ` (vs the exact spectrum with the top ${measured.deflated} deflated to 0)` : ''}: W1 / spectral width = ${cmp.w1OverWidth.toExponential(3)}`,
    );
  if (cmp.densityL1 !== undefined) p.text.push(`  smoothed density: L1 error = ${cmp.densityL1.toExponential(3)}`);
  if (cmp.bandMassFraction !== undefined)
    p.text.push(`  exact smoothed density inside the band over ${(100 * cmp.bandMassFraction).toFixed(1)}% of its grid mass`);
}

/** `specpipe spectrum`: spectral estimates of a dense matrix or of a curvature operator of a checkpoint. */
export async function spectrumCommand(argv: string[]): Promise<number> {
  let f: Flags;
  try {
    f = parseArgs({ args: argv, allowPositionals: false, options: FLAGS }).values;
  } catch (e) {
    throw new SpecpipeError('cli-flag', `${e instanceof Error ? e.message : String(e)}\n\n${USAGE()}`, 2);
  }
  if (f.help === true) {
    process.stdout.write(USAGE() + '\n');
    return 0;
  }
  if ((f.matrix === undefined) === (f.checkpoint === undefined)) {
    throw new SpecpipeError(
      'cli-flag',
      `give exactly one of --matrix or --checkpoint (received ${f.matrix === undefined ? 'neither' : 'both'})\n\n${USAGE()}`,
      2,
    );
  }
  const steps = intFlag('lanczos-steps', f['lanczos-steps'], D.lanczos_steps, 2);
  const startVectors = intFlag('start-vectors', f['start-vectors'], D.start_vectors);
  const seed = intFlag('seed', f.seed, D.seed, 0);
  const top = f.top === undefined ? 0 : intFlag('top', f.top, 0);
  const bottom = f.bottom === undefined ? 0 : intFlag('bottom', f.bottom, 0);
  const tol = numFlag('tol', f.tol, D.top_k_tol);
  const grid = intFlag('grid', f.grid, D.grid_size, 2);
  const traceMatvecs = intFlag('trace-matvecs', f['trace-matvecs'], D.trace_matvecs, 3);
  const maxMatvecs = f['max-matvecs'] === undefined ? undefined : intFlag('max-matvecs', f['max-matvecs'], 1);
  const deflate = f.deflate === undefined ? 0 : intFlag('deflate', f.deflate, 0, 0);
  const anyEstimate =
    top > 0 ||
    bottom > 0 ||
    f.density === true ||
    f['log-density'] === true ||
    f.kpm === true ||
    f.trace === true ||
    f.exact === true;
  const wantDensity = f.density === true || !anyEstimate;
  const wantLog = f['log-density'] === true;

  const started = performance.now();
  const operand = await spectrumOperand(f, seed);
  if (f.exact === true) checkDenseSize(operand.base.size); // refuse before spending any product
  const op = countingOperator(operand.base);
  const p: Printout = {
    out: { operator: operand.name, size: op.size },
    text: [`operator ${operand.name} (${operand.base.name ?? ''}), size ${op.size}`],
  };
  const o: SpectrumMeasurementOptions = {
    lanczosSteps: steps,
    startVectors,
    gridSize: grid,
    seed,
    topK: top,
    topKTol: tol,
    ...(maxMatvecs !== undefined && { topKMatvecs: maxMatvecs }),
    deflate,
    traceMatvecs: f.trace === true ? traceMatvecs : 0,
    logSpectrum: wantLog,
  };
  let topPairs: MeasuredPair[] | undefined;
  let measuredSlq: SlqResult | undefined;
  let bounds: SlqResult['bounds'] | undefined;
  let deflated = 0;
  const showProgress = f.progress === true || process.stderr.isTTY === true;
  const progressOf = (known: { slq: number; trace: number }): ProductProgress | undefined => {
    if (!showProgress) return undefined;
    const pr = new ProductProgress(
      (t) => void process.stderr.write(t),
      known,
      { live: process.stderr.isTTY === true },
      { lanczosSteps: steps, startVectors, topK: Math.max(top, deflate) > 0 },
    );
    pr.announce();
    return pr;
  };
  if (wantDensity || wantLog || f.trace === true || deflate > 0) {
    const progress = progressOf(knownProducts(o, op.size));
    let last: ProductCounts = { topK: 0, slq: 0, trace: 0 };
    const m = await measureSpectrum(op, o, (done, counts) => {
      last = counts;
      progress?.update(done, counts);
    });
    progress?.finish(m.matvecs, last);
    if (top > 0) topPairs = m.pairs.slice(0, top);
    if (wantDensity) measuredSlq = m.slq;
    deflated = m.deflated;
    bounds = m.slq.bounds;
    if (topPairs !== undefined) ((p.out.top = topPairs), printPairs(p, `top ${top}`, topPairs));
    printMeasurement(p, m, steps, wantDensity);
  } else if (top > 0) {
    const progress = progressOf({ slq: 0, trace: 0 });
    let done = 0;
    const counted: LinearOperator = {
      ...op,
      matvec: async (v) => {
        const r = await op.matvec(v);
        progress?.update(++done, { topK: done, slq: 0, trace: 0 });
        return r;
      },
    };
    topPairs = (await measureTopPairs(counted, o)).map(({ value, residual, converged }) => ({ value, residual, converged }));
    progress?.finish(done, { topK: done, slq: 0, trace: 0 });
    p.out.top = topPairs;
    printPairs(p, `top ${top}`, topPairs);
  }
  if (topPairs !== undefined && topPairs.length > 0) printOutlierRule(p, topPairs);
  if (bottom > 0) {
    const r = await bottomEigenpairs(op, bottom, { tol, seed: seed + 1, ...(maxMatvecs !== undefined && { maxMatvecs }) });
    p.out.bottom = pairsJson(r);
    printPairs(p, `bottom ${bottom} (${r.matvecs} products)`, r.pairs);
  }
  if (f.kpm === true) {
    const k = await kpmDensity(op, {
      moments: 2 * steps + 1,
      startVectors,
      seed,
      gridSize: grid,
      ...(bounds !== undefined && { bounds }),
    });
    p.out.kpm = { x: arr(k.density.x), y: arr(k.density.y) };
    p.text.push(`KPM: ${k.moments.length} moments, ${k.startVectorsUsed} probes`);
  }
  if (f.exact === true) {
    const products =
      operand.exactOperator !== undefined
        ? 'float64 (MLP R-operator)'
        : f.matrix !== undefined
          ? 'float64 (dense matrix)'
          : 'float32 per batch, float64 accumulation (curvature engine)';
    await printExact(p, operand.exactOperator ?? op, products, {
      ...(topPairs !== undefined && { top: topPairs }),
      ...(measuredSlq !== undefined && { slq: measuredSlq }),
      deflated,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const result = { operator: p.out.operator, size: p.out.size, matvecs: op.used, seconds, ...p.out };
  if (f.json === true) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write([...p.text, `${op.used} products in ${seconds.toFixed(2)} s`].join('\n') + '\n');
  return 0;
}
