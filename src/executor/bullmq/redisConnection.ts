import { Redis } from 'ioredis';
import { SpecpipeError } from '../../util/errors.js';

/** Where the Redis server of a distributed run lives, parsed from `redis://[user:password@]host[:port][/db]`. */
export interface RedisEndpoint {
  /** The URL as the user gave it, password masked: for messages and run records. */
  readonly display: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
}

/**
 * Parses `--redis URL`. Accepts `redis://` only (no TLS yet). Throws SpecpipeError naming the
 * option and the value received.
 */
export function parseRedisUrl(url: string, option = '--redis'): RedisEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SpecpipeError('bad-redis-url', `${option}: expected redis://HOST[:PORT][/DB], got "${url}"`);
  }
  if (u.protocol !== 'redis:') {
    throw new SpecpipeError('bad-redis-url', `${option}: expected a redis:// URL, got protocol "${u.protocol}" in "${url}"`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SpecpipeError('bad-redis-url', `${option}: no host in "${url}"`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new SpecpipeError('bad-redis-url', `${option}: database "${dbText}" in "${url}" is not a non-negative integer`);
  }
  const username = u.username === '' ? undefined : decodeURIComponent(u.username);
  const password = u.password === '' ? undefined : decodeURIComponent(u.password);
  const display = password === undefined ? url : url.replace(`:${u.password}@`, ':***@');
  return { display, host, port, db, ...(username !== undefined && { username }), ...(password !== undefined && { password }) };
}

/** ioredis options for an endpoint. BullMQ requires `maxRetriesPerRequest: null` on worker connections. */
export function redisOptions(endpoint: RedisEndpoint): {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  maxRetriesPerRequest: null;
  retryStrategy: (times: number) => number;
  disconnectTimeout: number;
} {
  return {
    host: endpoint.host,
    port: endpoint.port,
    db: endpoint.db,
    ...(endpoint.username !== undefined && { username: endpoint.username }),
    ...(endpoint.password !== undefined && { password: endpoint.password }),
    maxRetriesPerRequest: null,
    // Reconnect every 0.2 s .. 2 s forever: a restarted Redis is picked up again quickly.
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
    // disconnect() of a client still connecting ends its socket after this long (ioredis default 2 s).
    disconnectTimeout: 200,
  };
}

/** A client the caller owns (and ends with `disconnect()`, which never waits on a dead server). */
export function openRedis(endpoint: RedisEndpoint): Redis {
  const client = new Redis({ ...redisOptions(endpoint), lazyConnect: false });
  // Errors surface through the commands that fail; without a listener ioredis prints each reconnect error.
  client.on('error', () => {});
  return client;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Errors after which retrying cannot help: the server answered and refused us. */
function isRefusal(message: string): boolean {
  return /^(WRONGPASS|NOAUTH|NOPERM|ERR (AUTH|invalid password|Client sent AUTH)|ERR DB index)/i.test(message);
}

/** One short line for a connection error (ioredis messages can run to several sentences). */
export function describeRedisError(message: string): string {
  if (/^NOAUTH/i.test(message)) return 'the server requires a password (NOAUTH); give it in the URL: redis://:PASSWORD@HOST:PORT';
  if (/^WRONGPASS/i.test(message)) return 'the server refused the user name or password (WRONGPASS)';
  if (/^ERR DB index/i.test(message)) return 'the server has no such database (ERR DB index is out of range)';
  const first = message.split('\n')[0] ?? message;
  return first.length > 160 ? `${first.slice(0, 157)}...` : first;
}

export interface RedisCheckOptions {
  /** The option the URL came from, for messages (default --redis). */
  readonly option?: string;
  /** Connection attempts before giving up (default 5; a refused password gives up at once). */
  readonly attempts?: number;
  /** Wait before the first retry, doubled each time (default 250 ms). */
  readonly retryDelayMs?: number;
  /** Limit on each attempt's TCP connect and PING (default 3000 ms). */
  readonly connectTimeoutMs?: number;
}

/**
 * Connects to the server and PINGs it, with a bounded number of retries, so a wrong URL, a dead
 * port or a wrong password fails in seconds with one line naming the URL (password masked),
 * instead of BullMQ retrying silently forever.
 */
export async function checkRedis(endpoint: RedisEndpoint, options: RedisCheckOptions = {}): Promise<void> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const timeoutMs = options.connectTimeoutMs ?? 3000;
  let delay = options.retryDelayMs ?? 250;
  let reason = 'no answer';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let lastError: string | undefined;
    const client = new Redis({
      ...redisOptions(endpoint),
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: timeoutMs,
    });
    client.on('error', (e: Error) => (lastError = e.message));
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${(timeoutMs / 1000).toFixed(1)} s`)), timeoutMs);
      });
      await Promise.race([client.connect().then(() => client.ping()), deadline]);
      return;
    } catch (e) {
      reason = lastError ?? (e instanceof Error ? e.message : String(e));
      if (isRefusal(reason)) {
        throw new SpecpipeError(
          'redis-refused',
          `cannot use Redis at ${endpoint.display} (${options.option ?? '--redis'}): ${describeRedisError(reason)}`,
        );
      }
    } finally {
      clearTimeout(timer);
      client.disconnect();
    }
    if (attempt < attempts) {
      await sleep(delay);
      delay *= 2;
    }
  }
  throw new SpecpipeError(
    'redis-unreachable',
    `cannot connect to Redis at ${endpoint.display} (${options.option ?? '--redis'}) after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describeRedisError(reason)}`,
  );
}

/** A running watch on a Redis server (see {@link watchRedis}). */
export interface RedisWatch {
  /** The last connection error seen, shortened (undefined while all is well). */
  lastError(): string | undefined;
  stop(): void;
}

/**
 * PINGs the server every `intervalMs`; calls `onLost` once when no PING has succeeded for
 * `timeoutMs` (a worker whose Redis is gone for good stops with a message instead of retrying
 * silently forever; a Redis that restarts within the bound is picked up again).
 */
export function watchRedis(
  endpoint: RedisEndpoint,
  options: { timeoutMs: number; intervalMs?: number; onLost: (error: SpecpipeError) => void; option?: string },
): RedisWatch {
  let lastError: string | undefined;
  let lastOk = performance.now();
  let stopped = false;
  const client = new Redis({ ...redisOptions(endpoint), enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  client.on('error', (e: Error) => (lastError = describeRedisError(e.message)));
  const tick = setInterval(() => {
    if (stopped) return;
    client.ping().then(
      () => {
        lastOk = performance.now();
        lastError = undefined;
      },
      (e: unknown) => {
        lastError ??= describeRedisError(e instanceof Error ? e.message : String(e));
      },
    );
    if (performance.now() - lastOk > options.timeoutMs) {
      stopped = true;
      clearInterval(tick);
      client.disconnect();
      options.onLost(
        new SpecpipeError(
          'redis-unreachable',
          `lost Redis at ${endpoint.display} (${options.option ?? '--redis'}): no answer for ${(options.timeoutMs / 1000).toFixed(0)} s (${lastError ?? 'no reply'})`,
        ),
      );
    }
  }, options.intervalMs ?? 1000);
  tick.unref();
  return {
    lastError: () => lastError,
    stop() {
      stopped = true;
      clearInterval(tick);
      client.disconnect();
    },
  };
}
