import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec, Network } from './network.js';
import type { Preprocess } from '../data/preprocess.js';
import { buildNetwork, isLayoutNetwork, validateModelSpec, type LayoutNetwork } from './build.js';
import { fromTorchLayout, shapeSize, toTorchLayout, type TensorEntry } from './parameters.js';
import { readSafetensors, toFloat32, writeSafetensors, type SafeTensor } from '../store/safetensors.js';
import { SpecpipeError } from '../util/errors.js';
import { firstNonFinite } from '../util/finite.js';
import type { Tensor } from './tensor.js';

/** `__metadata__` key holding the model spec as JSON (src/nn/network.ts forms). */
export const MODEL_METADATA_KEY = 'specpipe.model';
/** `__metadata__` key holding the input preprocessing as JSON {"mean": [...], "std": [...], "pad": 0}. */
export const PREPROCESS_METADATA_KEY = 'specpipe.preprocess';

/** Tensor values as a tfjs tensor or a plain float32 array in specpipe's (tfjs) layout. */
export type TensorValues = Tensor | Float32Array;

export interface LoadedCheckpoint {
  readonly network: LayoutNetwork;
  readonly spec: ModelSpec;
  /** Parameters in tfjs layout, network order (caller disposes). */
  readonly params: Tensor[];
  /** Buffers in tfjs layout (num_batches_tracked as float32), network order (caller disposes). */
  readonly buffers: Tensor[];
  /** undefined when the file has no `specpipe.preprocess` metadata (e.g. a state_dict saved from PyTorch). */
  readonly preprocess: Preprocess | undefined;
  readonly metadata: Record<string, string>;
}

function valuesOf(v: TensorValues): Float32Array {
  return v instanceof Float32Array ? v : (v.dataSync() as Float32Array);
}

/**
 * The PyTorch state_dict of a network: parameters and buffers converted to PyTorch layout
 * (Linear [out, in], Conv2d [out, in, kh, kw]) under their state_dict names; num_batches_tracked as I64.
 */
export function toStateDict(
  net: Network,
  params: readonly TensorValues[],
  buffers: readonly TensorValues[],
): Record<string, SafeTensor> {
  if (!isLayoutNetwork(net))
    throw new Error(
      `internal: checkpoints need a network built by buildNetwork (src/nn/build.ts), received one for ${JSON.stringify(net.spec)} without PyTorch layouts`,
    );
  const network: LayoutNetwork = net;
  if (params.length !== network.paramEntries.length || buffers.length !== network.bufferEntries.length) {
    throw new Error(
      `internal: ${network.spec.kind} has ${network.paramEntries.length} parameters and ${network.bufferEntries.length} buffers, received ${params.length} and ${buffers.length}`,
    );
  }
  const out: Record<string, SafeTensor> = {};
  const put = (e: TensorEntry, v: TensorValues): void => {
    const data = valuesOf(v);
    if (data.length !== shapeSize(e.shape))
      throw new Error(`internal: "${e.name}" has ${data.length} values, expected shape [${e.shape.join(', ')}]`);
    if (e.torchDtype === 'I64') {
      out[e.name] = { dtype: 'I64', shape: [...e.torchShape], data: BigInt64Array.from(data, (x) => BigInt(Math.round(x))) };
    } else {
      out[e.name] = { dtype: 'F32', shape: [...e.torchShape], data: toTorchLayout(e, data) };
    }
  };
  network.paramEntries.forEach((e, i) => put(e, params[i]!));
  network.bufferEntries.forEach((e, i) => put(e, buffers[i]!));
  return out;
}

/**
 * Writes a checkpoint: a safetensors file in PyTorch state_dict layout and names (`torch.nn.Module.load_state_dict(strict=True)`
 * on the module documented with each model in src/nn/models/*), `__metadata__` = {"specpipe.model": spec JSON,
 * "specpipe.preprocess": preprocess JSON, …extraMeta}. The file alone reproduces predictions.
 */
export function saveCheckpoint(
  path: string,
  network: Network,
  params: readonly TensorValues[],
  buffers: readonly TensorValues[],
  preprocess: Preprocess,
  extraMeta: Record<string, string> = {},
): void {
  const metadata: Record<string, string> = {
    ...extraMeta,
    [MODEL_METADATA_KEY]: JSON.stringify(network.spec),
    [PREPROCESS_METADATA_KEY]: JSON.stringify({ mean: [...preprocess.mean], std: [...preprocess.std], pad: preprocess.pad }),
  };
  writeSafetensors(path, toStateDict(network, params, buffers), metadata);
}

/**
 * Reads a checkpoint strictly (as `load_state_dict(strict=True)`): every expected key present with its PyTorch shape,
 * no unexpected keys; errors name the file and the key. The model comes from `specOverride` or the
 * `specpipe.model` metadata (a state_dict saved from PyTorch needs `specOverride`).
 */
export function loadCheckpoint(path: string, specOverride?: ModelSpec): LoadedCheckpoint {
  const { tensors, metadata } = readSafetensors(path);
  let spec: ModelSpec;
  if (specOverride !== undefined) spec = validateModelSpec(specOverride, `${path}: model spec`);
  else {
    const text = metadata[MODEL_METADATA_KEY];
    if (text === undefined) {
      throw new SpecpipeError(
        'checkpoint-no-model',
        `${path}: no "${MODEL_METADATA_KEY}" in the safetensors __metadata__; pass the model spec (--model) for a state_dict saved outside specpipe`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new SpecpipeError(
        'checkpoint-model-json',
        `${path}: "${MODEL_METADATA_KEY}" metadata is not valid JSON (${text.length} characters; file content is not shown)`,
      );
    }
    spec = validateModelSpec(parsed, `${path}: "${MODEL_METADATA_KEY}" metadata`, { redact: true });
  }
  const network = buildNetwork(spec);
  const expected = new Set([...network.paramEntries, ...network.bufferEntries].map((e) => e.name));
  const unexpected = Object.keys(tensors).filter((k) => !expected.has(k));
  if (unexpected.length > 0) {
    throw new SpecpipeError(
      'checkpoint-unexpected-key',
      `${path}: unexpected key${unexpected.length > 1 ? 's' : ''} ${unexpected.map((k) => `"${k}"`).join(', ')} for model ${JSON.stringify(spec)}`,
    );
  }
  const read = (e: TensorEntry): tf.Tensor => {
    const t = tensors[e.name];
    if (t === undefined) {
      throw new SpecpipeError(
        'checkpoint-missing-key',
        `${path}: missing key "${e.name}" (expected ${e.torchDtype} [${e.torchShape.join(', ')}]) for model ${JSON.stringify(spec)}`,
      );
    }
    if (t.shape.length !== e.torchShape.length || t.shape.some((d, i) => d !== e.torchShape[i])) {
      throw new SpecpipeError(
        'checkpoint-shape',
        `${path}: key "${e.name}" has shape [${t.shape.join(', ')}], expected [${e.torchShape.join(', ')}]`,
      );
    }
    const floatKind = ['F32', 'F64', 'F16', 'BF16'].includes(t.dtype);
    if (e.torchDtype === 'F32' ? !floatKind : floatKind || t.dtype === 'BOOL') {
      throw new SpecpipeError(
        'checkpoint-dtype',
        `${path}: key "${e.name}" has dtype ${t.dtype}, expected ${e.torchDtype === 'F32' ? 'a floating dtype (F32)' : 'an integer dtype (I64)'}`,
      );
    }
    const values = toFloat32(t);
    // A NaN weight gives NaN losses and null eigenvalues downstream (JSON has no NaN): refuse it here.
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw new SpecpipeError(
        'checkpoint-non-finite',
        `${path}: key "${e.name}" holds ${values[bad]} at flat index ${bad} of [${t.shape.join(', ')}] (PyTorch layout); every weight must be finite`,
      );
    }
    return tf.tensor(fromTorchLayout(e, values), [...e.shape], 'float32');
  };
  const params = network.paramEntries.map(read);
  const buffers = network.bufferEntries.map(read);
  return { network, spec, params, buffers, preprocess: parsePreprocess(metadata[PREPROCESS_METADATA_KEY], path), metadata };
}

function parsePreprocess(text: string | undefined, path: string): Preprocess | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const o = v as { mean?: unknown; std?: unknown; pad?: unknown } | undefined;
  const nums = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (
    o === undefined ||
    typeof o !== 'object' ||
    o === null ||
    !nums(o.mean) ||
    !nums(o.std) ||
    o.mean.length !== o.std.length ||
    o.std.some((s) => s <= 0)
  ) {
    throw new SpecpipeError(
      'checkpoint-preprocess',
      `${path}: "${PREPROCESS_METADATA_KEY}" metadata must be {"mean": [...], "std": [...] (positive), "pad": n} (received ${text.length} characters that are not; file content is not shown)`,
    );
  }
  const pad = o.pad ?? 0;
  if (typeof pad !== 'number' || !Number.isInteger(pad) || pad < 0) {
    throw new SpecpipeError(
      'checkpoint-preprocess',
      `${path}: "${PREPROCESS_METADATA_KEY}" pad must be a non-negative integer, received ${typeof o.pad === 'number' ? String(o.pad) : `a ${typeof o.pad}`}`,
    );
  }
  return { mean: o.mean, std: o.std, pad };
}
