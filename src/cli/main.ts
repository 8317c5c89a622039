#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeSystemError, isSpecpipeError } from '../util/errors.js';
import { schemasDirectory } from '../util/schemaFiles.js';

type Command = (argv: string[]) => Promise<number>;

/** Each command's module is imported only when that command runs: a cached `specpipe run` must not pay for tfjs or BullMQ. */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string; usage?: string }> = {
  run: {
    load: async () => (await import('./commands/run.js')).runCommand,
    summary: 'run a pipeline YAML (cached stages are reused; --dry-run: what would execute and why)',
  },
  validate: {
    load: async () => (await import('./commands/validate.js')).validateCommand,
    summary: 'check a pipeline YAML against the schemas',
    usage: 'usage: specpipe validate FILE… [--set STAGE.with.PARAM=VALUE] [--json]',
  },
  explain: {
    load: async () => (await import('./commands/explain.js')).explainCommand,
    summary: 'say why a stage would (re)run, ingredient by ingredient',
    usage:
      'usage: specpipe explain [FILE] STAGE… [--set …] [--store PATH] [--runs PATH] [--json]\n  STAGE is a stage name (all its instances) or an instance name; without FILE, the pipeline of the last run is used.',
  },
  diff: {
    load: async () => (await import('./commands/diff.js')).diffCommand,
    summary: 'compare two runs: params, changed metrics, spectra',
    usage: `usage: specpipe diff [RUN_A] [RUN_B] [--all] [--store PATH] [--runs PATH] [--json]
  RUN: id, unique prefix, last, last~1. No RUN: the last two runs of the latest run's pipeline;
  one RUN: that run against the run of the same pipeline before it.
  --all   also list the metrics that did not change (hidden by default)`,
  },
  show: {
    load: async () => (await import('./commands/show.js')).showCommand,
    summary: 'show a run or a stage instance',
    usage: 'usage: specpipe show RUN|STAGE|INSTANCE|KEY [--run RUN] [--store PATH] [--runs PATH] [--json]',
  },
  runs: {
    load: async () => (await import('./commands/runs.js')).runsCommand,
    summary: 'list recorded runs; --table compares them (changed params, key metrics)',
    usage: `usage: specpipe runs [--table] [--pipeline NAME] [--json | --csv] [--metrics M,…] [--store PATH] [--runs PATH]
  --table          one row per run: the params that differ between the runs shown, then key metrics of each
                   stage instance (λ_max, converged top-k outlier candidates, trace, test accuracy); wide
                   tables continue in blocks
  --pipeline NAME  only the runs of this pipeline (its \`name:\`)
  --json, --csv    the table (or without --table the list, JSON only) on stdout
  --metrics M,…    with --table: these metric names (e.g. lambda_1,trace_hutchpp) instead of the key metrics`,
  },
  gc: {
    load: async () => (await import('./commands/gc.js')).gcCommand,
    summary: 'remove artifacts no recent or pinned run references',
    usage:
      'usage: specpipe gc [--keep-runs K (default 10)] [--max-size SIZE e.g. 2G] [--max-age AGE e.g. 7d] [--dry-run] [--store PATH] [--runs PATH] [--json]\n' +
      '  keeps the artifacts of the last K successful runs of each pipeline (failed and interrupted runs since then too,\n' +
      '  without counting), and of every pinned run (specpipe pin RUN); removes the rest, or with --max-size/--max-age\n' +
      '  the oldest of the rest until the store fits / those older than AGE.',
  },
  pin: {
    load: async () => (await import('./commands/pin.js')).pinCommand,
    summary: "keep a run's artifacts whatever gc's limits say (runs marks pinned runs)",
  },
  unpin: {
    load: async () => (await import('./commands/pin.js')).unpinCommand,
    summary: 'release a pinned run',
  },
  report: {
    load: async () => (await import('./commands/report.js')).reportCommand,
    summary: 'write the HTML report of a run, or of runs side by side; --figures DIR: SVG and PNG files',
  },
  worker: {
    load: async () => (await import('./commands/worker.js')).workerCommand,
    summary: 'take stage jobs from a BullMQ queue',
  },
  train: {
    load: async () => (await import('./commands/train.js')).trainCommand,
    summary: 'train a model on a data source, write checkpoints',
  },
  eval: { load: async () => (await import('./commands/eval.js')).evalCommand, summary: 'evaluate a checkpoint on a data source' },
  spectrum: {
    load: async () => (await import('./commands/spectrum.js')).spectrumCommand,
    summary: 'spectral estimates of a matrix or a curvature operator',
  },
  export: {
    load: async () => (await import('./commands/export.js')).exportCommand,
    summary: "write a run's spectra, traces and training histories as CSV, JSON or Arrow files",
  },
  kinds: {
    load: async () => (await import('./commands/kinds.js')).kindsCommand,
    summary: 'list the stage kinds, or the params of one (types, defaults, descriptions)',
  },
  init: {
    load: async () => (await import('./commands/init.js')).initCommand,
    summary: 'write a commented starter pipeline (--template minimal|paper)',
  },
};

function usage(): string {
  const lines = ['usage: specpipe <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push(
    '',
    'specpipe <command> --help (or specpipe help <command>) for the options of a command;',
    'specpipe --version for the version. What the numbers mean: docs/math.md.',
  );
  return lines.join('\n');
}

/** The version in package.json (found beside schemas/, as in an installed package). */
function version(): string {
  const pkg = JSON.parse(readFileSync(join(dirname(schemasDirectory()), 'package.json'), 'utf8')) as { version?: unknown };
  return String(pkg.version);
}

/**
 * node:util parseArgs's usage errors, the first line of the message (commands may wrap them in a
 * SpecpipeError with their usage appended): printed as one line that says where the options are.
 */
const PARSE_ARGS_ERROR =
  /^(Unknown option '[^']*'|Option '[^']*' argument (?:missing|ambiguous)[^.\n]*|Unexpected argument '[^']*')/;

function usageErrorLine(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  const m = PARSE_ARGS_ERROR.exec(e.message);
  if (m !== null && ((isSpecpipeError(e) && e.exitCode === 2) || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))))
    return m[1];
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    return e.message.replace(/\. To specify a positional argument.*$/s, '');
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined && !rest[0].startsWith('-')) return main([rest[0], '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`specpipe: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (command.usage !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  try {
    return await (
      await command.load()
    )(rest);
  } catch (thrown) {
    // node:util parseArgs rejects unknown options and missing values: a usage error in one line, not the whole usage.
    const usageError = usageErrorLine(thrown);
    if (usageError !== undefined) {
      process.stderr.write(`specpipe ${name}: ${usageError} (see specpipe ${name} --help)\n`);
      return 2;
    }
    // A file-system failure (EACCES, ENOTDIR, ENOSPC…) is one line naming the path, not a stack.
    const e = describeSystemError(thrown);
    if (isSpecpipeError(e)) {
      process.stderr.write(`specpipe ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Interrupted (Ctrl-C): a stage left computing in this thread must not keep the process alive.
    if (code === 130) process.exit(130);
  },
  (e: unknown) => {
    process.stderr.write(`specpipe: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
