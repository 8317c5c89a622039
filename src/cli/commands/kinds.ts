import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { registerBuiltinStageKinds } from '../../stages/builtin.js';
import { getStageKind, loadStageKinds, loadStageModules, stageKindNames, type StageKind } from '../../stages/registry.js';

export const KINDS_USAGE = `usage: specpipe kinds [KIND] [--json]

  without KIND   every stage kind a pipeline can name in \`uses:\`, one line each
  KIND           the params of that kind (its \`with:\`): type, default and description, from
                 schemas/stages/<kind>.schema.json
  --json         print one JSON document`;

/** One param of a kind, as `specpipe kinds KIND` prints it. */
export interface KindParam {
  readonly name: string;
  /** The schema's type in words: "integer ≥ 2", "hessian|ggn", "integer ≥ 0 | "final"", "integer[]". */
  readonly type: string;
  readonly required: boolean;
  /** Present when the schema has a default. */
  readonly default?: unknown;
  /** The schema's description; absent when the schema has none. */
  readonly description?: string;
}

type Schema = Readonly<Record<string, unknown>>;

function bounds(s: Schema): string {
  const out: string[] = [];
  if (typeof s['minimum'] === 'number') out.push(`≥ ${s['minimum']}`);
  if (typeof s['exclusiveMinimum'] === 'number') out.push(`> ${s['exclusiveMinimum']}`);
  if (typeof s['maximum'] === 'number') out.push(`≤ ${s['maximum']}`);
  if (typeof s['exclusiveMaximum'] === 'number') out.push(`< ${s['exclusiveMaximum']}`);
  return out.length === 0 ? '' : ' ' + out.join(', ');
}

/** A JSON Schema fragment in words, for one column of `specpipe kinds KIND`. */
export function schemaTypeInWords(s: Schema): string {
  if (Array.isArray(s['enum'])) return s['enum'].map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('|');
  if ('const' in s) return JSON.stringify(s['const']);
  const alternatives = (s['oneOf'] ?? s['anyOf']) as Schema[] | undefined;
  if (Array.isArray(alternatives)) return alternatives.map(schemaTypeInWords).join(' | ');
  if (typeof s['$ref'] === 'string') {
    const file = s['$ref'].replace(/^(\.\.\/)+/, '');
    return file === 'model.schema.json' ? 'model spec (schemas/model.schema.json)' : `see schemas/${file}`;
  }
  const type = s['type'];
  if (type === 'array') {
    const items = s['items'] as Schema | undefined;
    const item = items === undefined ? 'any' : schemaTypeInWords(items);
    return /^[\w-]+$/.test(item) ? `${item}[]` : `array of ${item}`;
  }
  if (Array.isArray(type)) return type.join(' | ');
  if (typeof type === 'string') return type + bounds(s);
  return 'any';
}

/** The params of a kind from its paramsSchema, in schema order. */
export function kindParams(kind: StageKind): KindParam[] {
  const schema = kind.paramsSchema;
  const required = new Set((schema['required'] as string[] | undefined) ?? []);
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  return Object.entries(properties).map(([name, p]) => ({
    name,
    type: schemaTypeInWords(p),
    required: required.has(name),
    ...('default' in p && { default: p['default'] }),
    ...(typeof p['description'] === 'string' && { description: p['description'] }),
  }));
}

/** Every known stage kind, built-in ones and those of $SPECPIPE_STAGE_MODULES, sorted by name. */
async function allKinds(): Promise<StageKind[]> {
  registerBuiltinStageKinds();
  await loadStageModules();
  const names = stageKindNames();
  await loadStageKinds(names);
  return names.map((n) => getStageKind(n)).filter((k): k is StageKind => k !== undefined);
}

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

function formatDefault(p: KindParam): string {
  if (p.required) return 'required';
  if (!('default' in p)) return 'optional, no default';
  return `default ${typeof p.default === 'string' ? p.default : JSON.stringify(p.default)}`;
}

/** `specpipe kinds [KIND] [--json]`: the stage kinds, or one kind's params. */
export async function kindsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    process.stdout.write(KINDS_USAGE + '\n');
    return 0;
  }
  if (positionals.length > 1)
    throw new SpecpipeError(
      'bad-args',
      `expected at most one KIND, received ${positionals.join(' ')} (see specpipe kinds --help)`,
      2,
    );
  const kinds = await allKinds();
  const name = positionals[0];
  if (name === undefined) {
    if (values.json === true) {
      process.stdout.write(
        JSON.stringify(
          kinds.map((k) => ({ kind: k.kind, description: k.description })),
          null,
          2,
        ) + '\n',
      );
      return 0;
    }
    const width = Math.max(...kinds.map((k) => k.kind.length)) + 2;
    for (const k of kinds) process.stdout.write(`${k.kind.padEnd(width)}${k.description}\n`);
    process.stdout.write('\nspecpipe kinds KIND for the params of one kind.\n');
    return 0;
  }
  const kind = kinds.find((k) => k.kind === name);
  if (kind === undefined)
    throw new SpecpipeError(
      'unknown-kind',
      `unknown stage kind "${name}"; known kinds: ${kinds.map((k) => k.kind).join(', ')}`,
      2,
    );
  const params = kindParams(kind);
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ kind: kind.kind, description: kind.description, params }, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [`${kind.kind} — ${kind.description}`];
  const long = kind.paramsSchema['description'];
  if (typeof long === 'string' && long !== kind.description) out.push('', ...wrap(long, ''));
  out.push('', 'params (under `with:`; defaults apply when a param is left out):');
  const nameWidth = Math.max(...params.map((p) => p.name.length)) + 2;
  for (const p of params) {
    out.push(`  ${p.name.padEnd(nameWidth)}${p.type}  (${formatDefault(p)})`);
    if (p.description !== undefined) out.push(...wrap(p.description, '      '));
  }
  if (params.length === 0) out.push('  (none)');
  out.push('', 'The quantities are defined in docs/math.md.');
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
