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

/** Starts the CLI (own process group, so a kill reaches every process it started). */
export function startCli(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): ChildProcess {
  return spawn(process.execPath, cliArgv(args), {
    cwd: options.cwd,
    env: { ...process.env, SPECPIPE_STAGE_MODULES: TEST_STAGES, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
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

export function runCli(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return waitForExit(startCli(args, options));
}

export interface RunJson {
  readonly run: string;
  readonly stages: { name: string; key: string; status: 'executed' | 'cached' | 'failed'; seconds: number; artifacts: string }[];
}

/** `specpipe run … --json`, parsed; fails with stderr when the exit code is not `expectCode`. */
export async function runJson(args: readonly string[], options: { cwd: string; env?: Record<string, string> }, expectCode = 0): Promise<RunJson & { stderr: string }> {
  const r = await runCli(['run', ...args, '--json'], options);
  if (r.code !== expectCode) throw new Error(`specpipe run exited ${r.code} (expected ${expectCode})\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
  return { ...(JSON.parse(r.stdout) as RunJson), stderr: r.stderr };
}

/** name → status of a run. */
export function statuses(r: RunJson): Record<string, string> {
  return Object.fromEntries(r.stages.map((s) => [s.name, s.status]));
}
