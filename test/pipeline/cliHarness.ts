/**
 * Runs the specpipe CLI in a child process for end-to-end tests: the compiled CLI when this file
 * runs compiled (npm test), else the TypeScript source through tsx. Test-only stage kinds are
 * registered through $SPECPIPE_STAGE_MODULES.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const repoRoot = compiled ? join(here, '..', '..', '..') : join(here, '..', '..');

export const CLI_PATH = compiled ? join(here, '..', '..', 'src', 'cli', 'main.js') : join(repoRoot, 'src', 'cli', 'main.ts');
export const TEST_STAGES = join(here, 'fixtures', compiled ? 'testStages.js' : 'testStages.ts');
const TSX_LOADER = join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function tempWorkspace(prefix = 'specpipe-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cliArgv(args: readonly string[]): string[] {
  if (compiled) return [CLI_PATH, ...args];
  if (!existsSync(TSX_LOADER)) throw new Error(`tsx loader not found at ${TSX_LOADER}`);
  return ['--import', pathToFileURL(TSX_LOADER).href, CLI_PATH, ...args];
}

/**
 * Runs the CLI in a child process with only the built-in stage kinds (no test kinds registered:
 * what a user sees, e.g. the exact `specpipe kinds` listing).
 */
export async function runBuiltinCli(
  args: readonly string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, cliArgv(args), { cwd, env: { ...process.env, NO_COLOR: '1' } });
  const { code, stdout, stderr } = await waitForExit(child);
  return { code, stdout, stderr };
}

/** Starts the CLI (own process group, so a kill reaches every process it started), as `user` when given. */
export function startCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; user?: { uid: number; gid: number } },
): ChildProcess {
  return spawn(process.execPath, cliArgv(args), {
    cwd: options.cwd,
    env: { ...process.env, SPECPIPE_STAGE_MODULES: TEST_STAGES, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(options.user !== undefined && { uid: options.user.uid, gid: options.user.gid }),
  });
}

export function waitForExit(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface CliOptions {
  readonly cwd: string;
  readonly env?: Record<string, string>;
  /** Run in a child process (the real `main`) instead of calling the command in this process. */
  readonly process?: boolean;
  /** Run the child process as this user (implies `process`; see unprivileged.ts). */
  readonly user?: { uid: number; gid: number };
}

type Command = (argv: string[]) => Promise<number>;

async function commandFor(name: string): Promise<Command | undefined> {
  const table: Record<string, () => Promise<Command>> = {
    run: async () => (await import('../../src/cli/commands/run.js')).runCommand,
    validate: async () => (await import('../../src/cli/commands/validate.js')).validateCommand,
    explain: async () => (await import('../../src/cli/commands/explain.js')).explainCommand,
    diff: async () => (await import('../../src/cli/commands/diff.js')).diffCommand,
    show: async () => (await import('../../src/cli/commands/show.js')).showCommand,
    runs: async () => (await import('../../src/cli/commands/runs.js')).runsCommand,
    gc: async () => (await import('../../src/cli/commands/gc.js')).gcCommand,
  };
  return table[name]?.();
}

let inProcessBusy = false;

/**
 * Calls a command in this process as `main` would (cwd, env, stdout/stderr captured, SpecpipeError →
 * "specpipe NAME: message" and its exit code). Spawning a CLI per call costs seconds on a loaded
 * machine; crash and concurrency tests still use real processes (`process: true`, `startCli`).
 */
async function runInProcess(args: readonly string[], options: CliOptions): Promise<CliResult> {
  if (inProcessBusy) throw new Error('runInProcess is not reentrant');
  inProcessBusy = true;
  const [name, ...rest] = args;
  const command = await commandFor(name ?? '');
  if (command === undefined) throw new Error(`no in-process command "${name}"`);
  const { isSpecpipeError } = await import('../../src/util/errors.js');
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const cwd = process.cwd();
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries({ ...options.env, NO_COLOR: '1' })) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  // The test runner's own reporter (node --test's v8 serializer) writes Buffers to this process's stdout:
  // they pass through untouched; the commands write strings, which are captured.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' ? ((stdout += chunk), true) : out(chunk, ...(rest as []))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  process.chdir(options.cwd);
  let code: number;
  try {
    code = await command(rest);
  } catch (e) {
    if (!isSpecpipeError(e)) throw e;
    stderr += `specpipe ${name}: ${e.message}\n`;
    code = e.exitCode;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.chdir(cwd);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    inProcessBusy = false;
  }
  return { code, signal: null, stdout, stderr };
}

export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return options.process === true || options.user !== undefined
    ? waitForExit(startCli(args, options))
    : runInProcess(args, options);
}

export interface RunJson {
  readonly run: string;
  readonly stages: { name: string; key: string; status: 'executed' | 'cached' | 'failed'; seconds: number; artifacts: string }[];
}

/** `specpipe run … --json`, parsed; fails with stderr when the exit code is not `expectCode`. */
export async function runJson(
  args: readonly string[],
  options: CliOptions,
  expectCode = 0,
): Promise<RunJson & { stderr: string }> {
  const r = await runCli(['run', ...args, '--json'], options);
  if (r.code !== expectCode)
    throw new Error(`specpipe run exited ${r.code} (expected ${expectCode})\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
  return { ...(JSON.parse(r.stdout) as RunJson), stderr: r.stderr };
}

/** name → status of a run. */
export function statuses(r: RunJson): Record<string, string> {
  return Object.fromEntries(r.stages.map((s) => [s.name, s.status]));
}
