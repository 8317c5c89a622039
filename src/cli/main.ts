#!/usr/bin/env node
import { isSpecpipeError } from '../util/errors.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/eval.js';
import { spectrumCommand } from './commands/spectrum.js';
import { runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';
import { explainCommand } from './commands/explain.js';
import { diffCommand } from './commands/diff.js';
import { showCommand } from './commands/show.js';
import { runsCommand } from './commands/runs.js';
import { gcCommand } from './commands/gc.js';
import { reportCommand } from './commands/report.js';
import { workerCommand } from './commands/worker.js';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  run: { run: runCommand, summary: 'run a pipeline YAML (cached stages are reused)' },
  validate: { run: validateCommand, summary: 'check a pipeline YAML against the schemas' },
  explain: { run: explainCommand, summary: 'say why a stage would (re)run, ingredient by ingredient' },
  diff: { run: diffCommand, summary: 'compare two runs: params, metrics, spectra' },
  show: { run: showCommand, summary: 'show a run or a stage instance' },
  runs: { run: runsCommand, summary: 'list recorded runs' },
  gc: { run: gcCommand, summary: 'remove artifacts no recent run references' },
  report: { run: reportCommand, summary: 'write the HTML report of a run' },
  worker: { run: workerCommand, summary: 'take stage jobs from a BullMQ queue' },
  train: { run: trainCommand, summary: 'train a model on a data source, write checkpoints' },
  eval: { run: evalCommand, summary: 'evaluate a checkpoint on a data source' },
  spectrum: { run: spectrumCommand, summary: 'spectral estimates of a matrix or a curvature operator' },
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
    return await command.run(rest);
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
