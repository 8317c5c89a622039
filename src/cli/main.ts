#!/usr/bin/env node
import { isSpecpipeError } from '../util/errors.js';

type Command = (argv: string[]) => Promise<number>;

/** Each command's module is imported only when that command runs: a cached `specpipe run` must not pay for tfjs or BullMQ. */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  run: { load: async () => (await import('./commands/run.js')).runCommand, summary: 'run a pipeline YAML (cached stages are reused)' },
  validate: { load: async () => (await import('./commands/validate.js')).validateCommand, summary: 'check a pipeline YAML against the schemas' },
  explain: { load: async () => (await import('./commands/explain.js')).explainCommand, summary: 'say why a stage would (re)run, ingredient by ingredient' },
  diff: { load: async () => (await import('./commands/diff.js')).diffCommand, summary: 'compare two runs: params, metrics, spectra' },
  show: { load: async () => (await import('./commands/show.js')).showCommand, summary: 'show a run or a stage instance' },
  runs: { load: async () => (await import('./commands/runs.js')).runsCommand, summary: 'list recorded runs' },
  gc: { load: async () => (await import('./commands/gc.js')).gcCommand, summary: 'remove artifacts no recent run references' },
  report: { load: async () => (await import('./commands/report.js')).reportCommand, summary: 'write the HTML report of a run' },
  worker: { load: async () => (await import('./commands/worker.js')).workerCommand, summary: 'take stage jobs from a BullMQ queue' },
  train: { load: async () => (await import('./commands/train.js')).trainCommand, summary: 'train a model on a data source, write checkpoints' },
  eval: { load: async () => (await import('./commands/eval.js')).evalCommand, summary: 'evaluate a checkpoint on a data source' },
  spectrum: { load: async () => (await import('./commands/spectrum.js')).spectrumCommand, summary: 'spectral estimates of a matrix or a curvature operator' },
};

function usage(): string {
  const lines = ['usage: specpipe <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'specpipe <command> --help for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`specpipe: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (e) {
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
  },
  (e: unknown) => {
    process.stderr.write(`specpipe: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
