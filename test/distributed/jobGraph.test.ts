import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobIdForKey, topologicalJobOrder } from '../../src/executor/bullmq/jobGraph.js';
import { parseRedisUrl } from '../../src/executor/bullmq/redisConnection.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { hashChainReference, hashChainValue } from '../../src/executor/bullmq/demoHandlers.js';
import { hashJob, keyOf, matrixGraph } from './graphs.js';

test('topologicalJobOrder puts every job after its deps', () => {
  const jobs = matrixGraph('', ['a', 'b', 'c']).reverse();
  const order = topologicalJobOrder(jobs).map((j) => j.id);
  const position = new Map(order.map((id, i) => [id, i]));
  assert.equal(order.length, jobs.length);
  for (const j of jobs)
    for (const d of j.deps) assert.ok((position.get(d) as number) < (position.get(j.id) as number), `${d} before ${j.id}`);
});

test('topologicalJobOrder rejects cycles, unknown deps and duplicate ids with their names', () => {
  const cycle = [hashJob('a', ['c']), hashJob('b', ['a']), hashJob('c', ['b']), hashJob('d', [])];
  assert.throws(
    () => topologicalJobOrder(cycle),
    (e) => isSpecpipeError(e) && e.message === 'the job graph has a cycle through: a, b, c',
  );
  assert.throws(
    () => topologicalJobOrder([hashJob('a', ['zz'])]),
    (e) => isSpecpipeError(e) && e.message === `job "a" needs "${keyOf('zz')}", which is not in the graph`,
  );
  assert.throws(
    () => topologicalJobOrder([hashJob('a', []), hashJob('a', [])]),
    (e) => isSpecpipeError(e) && e.message.startsWith(`job id "${keyOf('a')}" appears twice`),
  );
});

test('jobIdForKey gives distinct BullMQ-valid ids (no ":", never an integer)', () => {
  const keys = ['abc', 'a:b', 'a%3Ab', '123', 'sha256:ff'];
  const ids = keys.map(jobIdForKey);
  assert.equal(new Set(ids).size, keys.length);
  for (const id of ids) {
    assert.ok(!id.includes(':'), id);
    assert.ok(!/^\d+$/.test(id), id);
  }
});

test('parseRedisUrl reads host, port, db and masks the password; bad URLs name the option and value', () => {
  const e = parseRedisUrl('redis://u:secret@127.0.0.1:6390/2');
  assert.deepEqual(
    { host: e.host, port: e.port, db: e.db, username: e.username, password: e.password },
    { host: '127.0.0.1', port: 6390, db: 2, username: 'u', password: 'secret' },
  );
  assert.equal(e.display, 'redis://u:***@127.0.0.1:6390/2');
  assert.equal(parseRedisUrl('redis://localhost').port, 6379);
  assert.throws(
    () => parseRedisUrl('http://x:1'),
    (err) => isSpecpipeError(err) && err.message === '--redis: expected a redis:// URL, got protocol "http:" in "http://x:1"',
  );
  assert.throws(
    () => parseRedisUrl('nonsense'),
    (err) => isSpecpipeError(err) && err.message === '--redis: expected redis://HOST[:PORT][/DB], got "nonsense"',
  );
  assert.throws(
    () => parseRedisUrl('redis://h/x'),
    (err) => isSpecpipeError(err) && /database "x"/.test(err.message),
  );
});

test('hashChainReference chains SHA-256 through the deps', () => {
  const jobs = [hashJob('a', []), hashJob('b', ['a'], { cpuRounds: 3 })];
  const ref = hashChainReference(jobs);
  const a = hashChainValue('a', [], 1);
  assert.equal(ref.get(keyOf('a')), a);
  assert.equal(ref.get(keyOf('b')), hashChainValue('b', [a], 3));
  assert.notEqual(hashChainValue('b', [a], 3), hashChainValue('b', [a], 2));
});
