import { SpecpipeError } from '../util/errors.js';
import type { ModelSpec } from './network.js';
import type { ModelSpecInput } from '../params/model.generated.js';
import { parseModelSpec, resolveModelSpecInput, validateModelSpec } from './build.js';

/** A model as a pipeline or the CLI names it: a shorthand / JSON-file path string, or a spec object (schemas/model.schema.json) without input/classes. */
export type ModelInput = ModelSpecInput | ModelSpec | Readonly<Record<string, unknown>>;

/**
 * The model spec for data of shape [C, H, W] with `classes` classes: input and classes filled in
 * (an MLP's input is C·H·W, its activation ReLU unless given). `where` names the parameter in errors.
 */
export function resolveModel(
  model: ModelInput,
  shape: readonly [number, number, number],
  classes: number,
  where: string,
): ModelSpec {
  let spec: ModelSpec;
  if (typeof model === 'string') spec = resolveModelSpecInput(parseModelSpec(model), shape);
  else {
    const o: Record<string, unknown> = { ...(model as Readonly<Record<string, unknown>>) };
    if (o['input'] === undefined) o['input'] = o['kind'] === 'mlp' ? [shape[0] * shape[1] * shape[2]] : [...shape];
    if (o['classes'] === undefined) o['classes'] = classes;
    if (o['kind'] === 'mlp' && o['activation'] === undefined) o['activation'] = 'relu';
    spec = resolveModelSpecInput(validateModelSpec(o, where), shape);
  }
  if (spec.classes !== classes)
    throw new SpecpipeError('model-classes', `${where}: the model has ${spec.classes} classes, the data has ${classes}`);
  return spec;
}
