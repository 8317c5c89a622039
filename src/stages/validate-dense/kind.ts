import { loadSchema } from '../../util/schemaFiles.js';
import { SpecpipeError } from '../../util/errors.js';
import type { DecompositionEstimate, SpectrumEstimate, ValidatedOperator } from '../../decompose/denseValidation.js';
import type { StageContext, StageKind } from '../registry.js';
import { trainArtifact } from '../train-sgd/trainArtifact.js';
import { decompositionArtifact } from '../decompose-class-gradients/decompositionArtifact.js';
import { spectrumArtifact } from '../spectrum-slq/spectrumArtifact.js';
import { EXACT_EIGENVALUES_FILE, VALIDATION_FILE, validationTable, writeValidationArtifact } from './validationArtifact.js';
import type { ValidateDenseParams } from './params.js';

/**
 * The estimates a validate/dense instance compares: its decomposition's, and those of every
 * spectrum/slq instance among its needs and gathered stages — each over the very samples the
 * decomposition used (same split, checkpoint epoch and sample count), else an error saying which differs.
 */
async function estimatesOf(
  ctx: StageContext<ValidateDenseParams>,
  expect: { split: string; epoch: number; samples: number; decomposition: string },
): Promise<SpectrumEstimate[]> {
  const seen = new Set<string>();
  const out: SpectrumEstimate[] = [];
  for (const u of [...Object.values(ctx.needs), ...Object.values(ctx.gathered).flat()]) {
    if (u.kind !== 'spectrum/slq' || seen.has(u.key)) continue;
    seen.add(u.key);
    const s = spectrumArtifact(u);
    const m = await s.measured();
    if (m.split !== expect.split || m.epoch !== expect.epoch || m.samples !== expect.samples)
      throw new SpecpipeError(
        'validate-samples',
        `${ctx.instance.name}: ${u.name} measured ${m.samples} ${m.split} samples at epoch ${m.epoch}, but ${expect.decomposition} ` +
          `decomposed ${expect.samples} ${expect.split} samples at epoch ${expect.epoch}: a validation compares estimates over one net and one sample set`,
      );
    const d = await s.density();
    out.push({
      label: u.name,
      operator: m.operator.replace(/-deflated$/, '') as ValidatedOperator,
      deflated: m.deflated,
      top: await s.outliers(),
      slq: {
        measure: await s.ritz(),
        density: { x: d.x, y: d.y },
        sigma: d.sigma,
        ...(d.band !== undefined && { band: d.band }),
      },
    });
  }
  return out;
}

/**
 * `validate/dense` (issue 12, item 3): exact ground truth for a small MLP — Hess, G, H and Papyan's
 * A1, A2, B1, B2 dense in float64, each from its own definition, eigendecomposed exactly — and how far
 * the run's estimates of that net are from it (validateDense, src/decompose/denseValidation.ts). The
 * net and samples are those of the upstream decompose/class-gradients instance.
 */
export const validateDenseStage: StageKind<ValidateDenseParams> = {
  kind: 'validate/dense',
  version: 1,
  description:
    'Exact float64 ground truth for a small MLP (P ≤ 8,000): dense Hess, G, H, A1, A2, B1, B2 eigendecomposed, compared with the upstream spectrum/slq and decompose estimates.',
  paramsSchema: loadSchema('stages/validate-dense.schema.json'),
  usesBackend: true,
  outputs: { [VALIDATION_FILE]: 'table', [EXACT_EIGENVALUES_FILE]: 'table', 'report-fragment.json': 'validation panel' },
  async run(ctx) {
    const { validateDense } = await import('../../decompose/denseValidation.js');
    const { mlp64ProblemOf } = await import('../../curvature/mlpJacobian64.js');
    const { validationFragment, validationRowKey } = await import('../../report/validationFragment.js');
    const d = decompositionArtifact(ctx, 'validate/dense compares against a decomposition: add it to needs');
    const dp = d.params;
    if (dp.classes !== undefined)
      throw new SpecpipeError(
        'validate-classes',
        `${ctx.instance.name}: ${d.upstream.name} decomposes a class subset (with.classes ${JSON.stringify(dp.classes)}); validate/dense needs all classes (its pieces must add up to G)`,
      );
    const train = trainArtifact(ctx);
    const t = await train.problem(dp.checkpoint, dp.split, {
      ...(dp.samples_per_class !== undefined && { samplesPerClass: dp.samples_per_class }),
    });
    try {
      const problem = mlp64ProblemOf(t.problem);
      if (problem === undefined)
        throw new SpecpipeError(
          'validate-model',
          `${ctx.instance.name}: ${train.upstream.name} trained a ${t.problem.network.spec.kind}; validate/dense has float64 products for MLPs only`,
        );
      const P = problem.theta.length;
      if (P > ctx.params.max_parameters)
        throw new SpecpipeError(
          'validate-too-large',
          `${ctx.instance.name}: the net of ${train.upstream.name} has P = ${P} parameters, above with.max_parameters = ${ctx.params.max_parameters} (dense float64 ground truth stores seven P × P matrices)`,
        );
      const samples = problem.data.shape[0];
      const summary = await d.summary();
      const decomposition: DecompositionEstimate = {
        label: d.upstream.name,
        eigenvalues: { a1: summary.pieces.a1.eigenvalues, a2: summary.pieces.a2.eigenvalues, b1: summary.pieces.b1.eigenvalues },
        ...(summary.bottomB2 !== undefined && { lambdaMinB2: summary.bottomB2 }),
      };
      const spectra = await estimatesOf(ctx, { split: dp.split, epoch: t.epoch, samples, decomposition: d.upstream.name });
      const v = await validateDense(
        problem,
        { spectra, decomposition },
        {
          limit: ctx.params.max_parameters,
          progress: (done, total, unit) => ctx.progress({ done, total, unit }),
        },
      );
      const rows = validationTable(v, validationRowKey);
      const roles = await writeValidationArtifact(
        ctx.outDir,
        v,
        rows,
        validationFragment(v, train.seriesTags(t.epoch), dp.split),
      );
      const metrics: Record<string, number> = {
        parameters: P,
        samples,
        epoch: t.epoch,
        lambda_min_b2: v.b2.lambdaMin,
        lambda_max_b2: v.b2.lambdaMax,
        b2_psd: v.b2.psd ? 1 : 0,
        identity_residual: v.identityResidual,
        seconds_products: v.seconds.products,
        seconds_pieces: v.seconds.pieces,
        seconds_eigen: v.seconds.eigen,
      };
      for (const r of rows) {
        const k = r.operator.replace(' (Gram)', '_gram').replace('-', '_');
        for (const [name, x] of [
          ['top_rel_err_max', r.topRelErrMax],
          ['w1_over_width', r.w1OverWidth],
          ['density_l1', r.densityL1],
          ['band_coverage', r.bandCoverage],
          ['outliers_exact', r.outliersExact],
          ['outliers_estimated', r.outliersEstimated],
        ] as const)
          if (Number.isFinite(x)) metrics[`${k}_${name}`] = x;
      }
      return { metrics, roles };
    } finally {
      t.dispose();
    }
  },
};
