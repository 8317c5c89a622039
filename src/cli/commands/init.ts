import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { SpecpipeError } from '../../util/errors.js';
import { schemasDirectory } from '../../util/schemaFiles.js';

/**
 * Starter pipelines of `specpipe init`, each a file of pipelines/ (so the end-to-end tests validate and
 * run them like every other example pipeline).
 */
export const INIT_TEMPLATES = {
  /** data/mnist → train/sgd → spectrum/slq, sized to run end to end in well under a minute. */
  minimal: 'minimal.yaml',
  /** The default pipeline: Papyan's measurements on real MNIST digits (a few minutes on two cores). */
  paper: 'mnist-mlp.yaml',
} as const;

export type InitTemplate = keyof typeof INIT_TEMPLATES;

export const INIT_USAGE = `usage: specpipe init [--template minimal|paper] [FILE]

Writes a commented starter pipeline to FILE (default pipeline.yaml); never overwrites a file.
  --template minimal   data/mnist → train/sgd (1 epoch, small MLP) → spectrum/slq: runs in well under a minute (default)
  --template paper     the default pipeline pipelines/mnist-mlp.yaml: Papyan's measurements on real MNIST digits
Its first line points editors (yaml-language-server) at schemas/pipeline.editor.schema.json.`;

export const EDITOR_SCHEMA_LINE = /^# yaml-language-server: \$schema=.*\n/;

/** The template's text with its editor-schema line pointing at schemas/ from the directory of `target`. */
export function templateText(template: InitTemplate, target: string): string {
  const schemas = schemasDirectory();
  const text = readFileSync(join(dirname(schemas), 'pipelines', INIT_TEMPLATES[template]), 'utf8');
  const schemaPath = relative(dirname(resolve(target)), join(schemas, 'pipeline.editor.schema.json'))
    .split(sep)
    .join('/');
  const line = `# yaml-language-server: $schema=${schemaPath}\n`;
  return EDITOR_SCHEMA_LINE.test(text) ? text.replace(EDITOR_SCHEMA_LINE, line) : line + text;
}

/** `specpipe init [--template minimal|paper] [FILE]`. */
export async function initCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { template: { type: 'string', short: 't' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    process.stdout.write(INIT_USAGE + '\n');
    return 0;
  }
  if (positionals.length > 1)
    throw new SpecpipeError(
      'bad-args',
      `expected at most one FILE, received ${positionals.join(' ')} (see specpipe init --help)`,
      2,
    );
  const template = values.template ?? 'minimal';
  if (!Object.hasOwn(INIT_TEMPLATES, template))
    throw new SpecpipeError(
      'bad-args',
      `--template: expected ${Object.keys(INIT_TEMPLATES).join(' or ')}, received "${template}"`,
      2,
    );
  const file = positionals[0] ?? 'pipeline.yaml';
  const text = templateText(template as InitTemplate, file);
  try {
    writeFileSync(file, text, { flag: 'wx' });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EEXIST')
      throw new SpecpipeError(
        'file-exists',
        `${file} already exists; init never overwrites a file (remove it or name another FILE)`,
      );
    throw new SpecpipeError('write-failed', `${file}: cannot write (${e instanceof Error ? e.message : String(e)})`);
  }
  process.stdout.write(`wrote ${file} (template ${template}); next: specpipe validate ${file} && specpipe run ${file}\n`);
  return 0;
}
