// Test helper (not a test): real worker child processes, so kill -9 is real.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Run as compiled JS (dist/) or under tsx: pick the entry next to this file and the loader that runs it. */
const underTsx = import.meta.url.endsWith('.ts');

function entry(relative: string): string {
  return fileURLToPath(new URL(underTsx ? relative : relative.replace(/\.ts$/, '.js'), import.meta.url));
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * Spawns a worker process (`specpipe worker` with `args`) and resolves once it prints its ready
 * line. `cli: true` runs the real CLI (src/cli/main), otherwise a lighter entry with the same command.
 */
export async function spawnWorker(
  args: readonly string[],
  options: { cli?: boolean; env?: Record<string, string> } = {},
): Promise<WorkerProcess> {
  const script = options.cli === true ? entry('../../src/cli/main.ts') : entry('./fixtures/workerMain.ts');
  const argv = [...(underTsx ? ['--import', 'tsx'] : []), script, ...(options.cli === true ? ['worker'] : []), ...args];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave an orphan that keeps the test process alive
      reject(new Error(`worker did not get ready in 60 s:\n${out}`));
    }, 60_000);
    const check = () => {
      if (/ ready: queue /.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before it was ready:\n${out}`));
    });
  });
  const signal = async (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    await exited;
  };
  return { child, pid: child.pid as number, output: () => out, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}
