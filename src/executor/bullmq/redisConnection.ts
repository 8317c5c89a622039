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
