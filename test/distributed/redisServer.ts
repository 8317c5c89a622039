// Test helper (not a test): a private redis-server on 127.0.0.1 and a free port, per test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRedisUrl, type RedisEndpoint } from '../../src/executor/bullmq/redisConnection.js';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export const redisServerBinary: string | undefined = CANDIDATES.find((p) => existsSync(p));

/** The skip reason for tests that need Redis, or false when redis-server is installed. */
export const redisMissing: string | false =
  redisServerBinary === undefined ? 'redis-server is not installed (apt-get install redis-server; .ci/run does)' : false;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisTestServer {
  readonly url: string;
  readonly endpoint: RedisEndpoint;
  /** SIGKILL: no shutdown save, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts redis-server bound to 127.0.0.1 only. `persistent`: an append-only file fsynced on
 * every write, so the queue survives a kill -9 of the server; otherwise no persistence at all.
 */
export async function startRedisServer(options: { persistent?: boolean; password?: string } = {}): Promise<RedisTestServer> {
  if (redisServerBinary === undefined) throw new Error('redis-server is not installed');
  const binary = redisServerBinary;
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-redis-'));
  const port = await freePort();
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--protected-mode',
    'yes',
    '--dir',
    dir,
    '--save',
    '',
    ...(options.persistent === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.password !== undefined ? ['--requirepass', options.password] : []),
  ];
  let child: ChildProcess | undefined;
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}:\n${out}`)), 10_000);
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${out}`));
      });
    });
  const terminate = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const proc = child;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  await launch();
  // With a password, `url` carries it (the endpoint's display masks it).
  const url = `redis://${options.password !== undefined ? `:${options.password}@` : ''}127.0.0.1:${port}`;
  return {
    url,
    endpoint: parseRedisUrl(url),
    kill: () => terminate('SIGKILL'),
    restart: launch,
    stop: async () => {
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
