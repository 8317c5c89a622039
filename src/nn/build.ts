import { readFileSync } from 'node:fs';
import type { LayoutNetwork, ModelSpec, Network } from './network.js';
import { mlpNetwork } from './models/mlp.js';
import { lenetNetwork } from './models/lenet.js';
import { vgg11Network } from './models/vgg11.js';
import { resnet18Network } from './models/resnet18.js';
import { densenet40Network } from './models/densenet40.js';
import { shapeSize } from './parameters.js';
import { SpecpipeError } from '../util/errors.js';

export type { LayoutNetwork } from './network.js';

/** The network of a (validated) model spec. Every network built here is a LayoutNetwork (checkpoint layouts included). */
export function buildNetwork(spec: ModelSpec): LayoutNetwork {
  const s = validateModelSpec(spec, 'model spec');
  switch (s.kind) {
    case 'mlp':
      return mlpNetwork(s);
    case 'lenet':
      return lenetNetwork(s);
    case 'vgg11':
      return vgg11Network(s);
    case 'resnet18':
      return resnet18Network(s);
    case 'densenet40':
      return densenet40Network(s);
  }
}

/** True when `network` carries PyTorch layouts (built by buildNetwork). */
export function isLayoutNetwork(network: Network): network is LayoutNetwork {
  return 'paramEntries' in network && 'bufferEntries' in network;
}

const SHORTHAND_HELP =
  'expected a JSON spec file or a shorthand: mlp:784-64-64-10:relu | lenet:1x28x28:6-16-120:10[:k3] | vgg11:3x32x32:WIDTH:10 | resnet18:3x32x32:WIDTH:10 | densenet40:3x32x32:GROWTH:10';

/**
 * Parses a `--model` value: a shorthand or a path to a JSON spec file.
 * - `mlp:D-H1-…-Hk-C[:relu|tanh]` → {"kind": "mlp", "input": [D], "hidden": [H1, …], "activation": "relu", "classes": C}
 *   (`resolveModelSpecInput` turns input [D] into the data's [C, H, W] when D = C·H·W);
 * - `lenet:CxHxW:C1-C2-HIDDEN:CLASSES[:kK]` → {"kind": "lenet", "input": [C, H, W], "channels": [C1, C2], "hidden": HIDDEN, "kernel": K (5), "classes": CLASSES};
 * - `vgg11:CxHxW:WIDTH:CLASSES`, `resnet18:CxHxW:WIDTH:CLASSES`, `densenet40:CxHxW:GROWTH:CLASSES`.
 */
export function parseModelSpec(text: string): ModelSpec {
  const spec = parseModelText(text);
  return text.trim().startsWith('{') ? spec : validateModelSpec(spec, `--model "${text}"`);
}

function parseModelText(text: string): ModelSpec {
  const t = text.trim();
  if (t.startsWith('{')) return parseJsonSpec(t, '--model');
  const parts = t.split(':');
  const kind = parts[0];
  const bad = (why: string): SpecpipeError => new SpecpipeError('model-spec', `--model "${text}": ${why}; ${SHORTHAND_HELP}`);
  const int = (s: string | undefined, what: string): number => {
    if (s === undefined || !/^\d+$/.test(s) || Number(s) < 1)
      throw bad(`${what} must be a positive integer, received "${s ?? ''}"`);
    return Number(s);
  };
  const dims = (s: string | undefined): [number, number, number] => {
    const d = (s ?? '').split('x');
    if (d.length !== 3) throw bad(`input must be CxHxW, received "${s ?? ''}"`);
    return [int(d[0], 'input C'), int(d[1], 'input H'), int(d[2], 'input W')];
  };
  switch (kind) {
    case 'mlp': {
      if (parts.length < 2 || parts.length > 3) throw bad('mlp shorthand has the form mlp:D-H1-…-C[:relu|tanh]');
      const sizes = (parts[1] ?? '').split('-').map((s) => int(s, 'layer size'));
      if (sizes.length < 2) throw bad(`mlp needs at least an input and an output size, received "${parts[1] ?? ''}"`);
      const activation = parts[2] ?? 'relu';
      if (activation !== 'relu' && activation !== 'tanh') throw bad(`activation must be relu or tanh, received "${activation}"`);
      return { kind: 'mlp', input: [sizes[0]!], hidden: sizes.slice(1, -1), activation, classes: sizes[sizes.length - 1]! };
    }
    case 'lenet': {
      if (parts.length < 4 || parts.length > 5) throw bad('lenet shorthand has the form lenet:CxHxW:C1-C2-HIDDEN:CLASSES[:kK]');
      const input = dims(parts[1]);
      const sizes = (parts[2] ?? '').split('-');
      if (sizes.length !== 3) throw bad(`lenet sizes must be C1-C2-HIDDEN, received "${parts[2] ?? ''}"`);
      let kernel = 5;
      if (parts[4] !== undefined) {
        const m = /^k(\d+)$/.exec(parts[4]);
        if (m === null || Number(m[1]) % 2 === 0 || Number(m[1]) < 1)
          throw bad(`kernel suffix must be :kK with K odd, received ":${parts[4]}"`);
        kernel = Number(m[1]);
      }
      return {
        kind: 'lenet',
        input,
        channels: [int(sizes[0], 'C1'), int(sizes[1], 'C2')],
        hidden: int(sizes[2], 'HIDDEN'),
        kernel,
        classes: int(parts[3], 'CLASSES'),
      };
    }
    case 'vgg11':
    case 'resnet18':
    case 'densenet40': {
      if (parts.length !== 4)
        throw bad(`${kind} shorthand has the form ${kind}:CxHxW:${kind === 'densenet40' ? 'GROWTH' : 'WIDTH'}:CLASSES`);
      const input = dims(parts[1]);
      const classes = int(parts[3], 'CLASSES');
      if (kind === 'densenet40') return { kind, input, growth: int(parts[2], 'GROWTH'), classes };
      const width = Number(parts[2]);
      if (!(width > 0) || !Number.isFinite(width)) throw bad(`WIDTH must be a positive number, received "${parts[2] ?? ''}"`);
      return { kind, input, width, classes };
    }
    default: {
      let json: string;
      try {
        json = readFileSync(t, 'utf8');
      } catch (e) {
        throw new SpecpipeError(
          'model-spec',
          `--model "${text}": not a known model kind (mlp, lenet, vgg11, resnet18, densenet40) and not a readable JSON file (${(e as NodeJS.ErrnoException).code ?? String(e)}); ${SHORTHAND_HELP}`,
        );
      }
      return parseJsonSpec(json, t, true);
    }
  }
}

/**
 * `fromFile`: `json` is the content of a file the user named, which may be any readable file
 * (`--model /etc/shadow`): messages then never quote it (V8's JSON.parse errors quote the text).
 */
function parseJsonSpec(json: string, where: string, fromFile = false): ModelSpec {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    const at = /position (\d+)/.exec(e instanceof Error ? e.message : '')?.[1];
    throw new SpecpipeError(
      'model-spec',
      fromFile
        ? `${where}: not a JSON model spec (the file does not parse as JSON${at !== undefined ? ` at byte ${at}` : ''}; its content is not shown)`
        : `${where}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return validateModelSpec(value, where, { redact: fromFile });
}

/** What a value is, without its content (for values read from a file the user named). */
function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length} value${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/**
 * Checks that `value` is one of the exact model spec forms (src/nn/network.ts), naming the field and the value on error.
 * Returns a normalised copy (fields in canonical order, unknown fields rejected).
 */
export function validateModelSpec(value: unknown, where: string, options: { redact?: boolean } = {}): ModelSpec {
  const fail = (why: string): never => {
    throw new SpecpipeError('model-spec', `${where}: ${why}`);
  };
  // Values read from a file are described, never quoted (the file may hold anything).
  const show = (v: unknown): string => (options.redact === true ? kindOf(v) : (JSON.stringify(v) ?? String(v)));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`a model spec must be a JSON object, received ${show(value)}`);
  const o = value as Record<string, unknown>;
  const posInt = (key: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`"${key}" must be a positive integer, received ${show(v)}`);
    return v as number;
  };
  const intList = (key: string, length?: number): number[] => {
    const v = o[key];
    if (
      !Array.isArray(v) ||
      v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 1) ||
      (length !== undefined && v.length !== length)
    ) {
      fail(`"${key}" must be a list of ${length ?? 'any number of'} positive integers, received ${show(v)}`);
    }
    return [...(v as number[])];
  };
  const only = (keys: string[]): void => {
    for (const k of Object.keys(o))
      if (!keys.includes(k))
        fail(
          options.redact === true
            ? `a field other than ${keys.join(', ')} (field names from the file are not shown)`
            : `unknown field "${k}" for kind "${String(o.kind)}" (allowed: ${keys.join(', ')})`,
        );
  };
  const input3 = (): [number, number, number] => intList('input', 3) as [number, number, number];
  switch (o.kind) {
    case 'mlp': {
      only(['kind', 'input', 'hidden', 'activation', 'classes']);
      const input = intList('input');
      if (input.length === 0 || input.length > 3) fail(`"input" must be [D] or [C, H, W], received ${show(o.input)}`);
      const activation = o.activation ?? 'relu';
      if (activation !== 'relu' && activation !== 'tanh')
        fail(`"activation" must be "relu" or "tanh", received ${show(o.activation)}`);
      return {
        kind: 'mlp',
        input,
        hidden: intList('hidden'),
        activation: activation as 'relu' | 'tanh',
        classes: posInt('classes'),
      };
    }
    case 'lenet': {
      only(['kind', 'input', 'channels', 'hidden', 'kernel', 'classes']);
      const kernel = o.kernel === undefined ? 5 : posInt('kernel');
      if (kernel % 2 === 0) fail(`"kernel" must be odd (padding k//2 keeps the size), received ${kernel}`);
      const input = input3();
      if (input[1] < 4 || input[2] < 4)
        fail(`lenet needs inputs of at least 4×4 (two 2×2 max-pools), received input ${show(o.input)}`);
      return {
        kind: 'lenet',
        input,
        channels: intList('channels', 2) as [number, number],
        hidden: posInt('hidden'),
        kernel,
        classes: posInt('classes'),
      };
    }
    case 'vgg11':
    case 'resnet18': {
      only(['kind', 'input', 'width', 'classes']);
      const width = o.width ?? 1;
      if (typeof width !== 'number' || !(width > 0) || !Number.isFinite(width))
        fail(`"width" must be a positive number, received ${show(o.width)}`);
      const spec = { kind: o.kind, input: input3(), width: width as number, classes: posInt('classes') };
      if (o.kind === 'vgg11' && (spec.input[1] < 32 || spec.input[2] < 32))
        fail(
          `vgg11 needs inputs of at least 32×32 (five 2×2 max-pools), received input ${show(o.input)}; pad 28×28 images with --pad 2`,
        );
      return spec;
    }
    case 'densenet40': {
      only(['kind', 'input', 'growth', 'classes']);
      const growth = o.growth === undefined ? 12 : posInt('growth');
      return { kind: 'densenet40', input: input3(), growth, classes: posInt('classes') };
    }
    default:
      return fail(`"kind" must be one of mlp, lenet, vgg11, resnet18, densenet40, received ${show(o.kind)}`);
  }
}

/**
 * Fits an MLP's flat input [D] to the data's [C, H, W] when D = C·H·W (so the stored spec is the exact JSON form,
 * e.g. input [1, 28, 28]); checks every other spec's input against the data and names both shapes on mismatch.
 */
export function resolveModelSpecInput(spec: ModelSpec, dataShape: readonly [number, number, number]): ModelSpec {
  const [c, h, w] = dataShape;
  if (spec.kind === 'mlp') {
    if (shapeSize(spec.input) !== c * h * w) {
      throw new SpecpipeError(
        'model-input-shape',
        `model mlp expects ${shapeSize(spec.input)} input features (input [${spec.input.join(', ')}]), but the data has [${c}, ${h}, ${w}] = ${c * h * w}`,
      );
    }
    return { ...spec, input: [c, h, w] };
  }
  const [ec, eh, ew] = spec.input;
  if (ec !== c || eh !== h || ew !== w) {
    throw new SpecpipeError(
      'model-input-shape',
      `model ${spec.kind} expects input [${spec.input.join(', ')}] (C, H, W), but the data has [${c}, ${h}, ${w}]${eh === h + 4 ? ' (pad 2 with --pad 2?)' : ''}`,
    );
  }
  return spec;
}
