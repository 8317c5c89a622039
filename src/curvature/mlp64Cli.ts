import { loadCheckpoint } from '../nn/checkpoint.js';
import { parseModelSpec } from '../nn/build.js';
import { flattenParameters } from './flatParameters.js';
import { LOSS_METADATA_KEY, cliSamples, type CurvatureCliOptions } from './cliOperator.js';
import { mlp64Operator } from './mlpCurvature64.js';
import type { LinearOperator } from '../linalg/operator.js';

/**
 * The float64 operator of an MLP checkpoint for `specpipe spectrum --exact`, over the same samples,
 * preprocessing and loss as curvatureOperatorForCli (cliOperator.ts) opens; undefined when the
 * checkpoint's model is not an MLP (its exact spectrum then comes from the float32 products).
 * Expects the backend started (curvatureOperatorForCli does it).
 */
export async function mlp64OperatorForCli(options: CurvatureCliOptions): Promise<LinearOperator | undefined> {
  const ckpt = loadCheckpoint(options.checkpoint, options.model !== undefined ? parseModelSpec(options.model) : undefined);
  try {
    const spec = ckpt.spec;
    if (spec.kind !== 'mlp') return undefined;
    const loss = ckpt.metadata[LOSS_METADATA_KEY] === 'mse' ? 'mse' : 'cross-entropy';
    const { split } = await cliSamples(options, ckpt);
    const D = spec.input.reduce((a, b) => a * b, 1);
    return mlp64Operator(
      {
        sizes: [D, ...spec.hidden, spec.classes],
        activation: spec.activation,
        theta: flattenParameters(ckpt.params),
        data: split,
        loss,
      },
      options.operator,
    );
  } finally {
    for (const t of [...ckpt.params, ...ckpt.buffers]) t.dispose();
  }
}
