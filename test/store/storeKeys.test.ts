// Keys are untrusted input: the store refuses anything but a stage key before it becomes a path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { tryLock } from '../../src/store/keyLock.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { invalidJobData } from '../../src/executor/bullmq/stageWorker.js';
import { hashChainHandler } from '../../src/executor/bullmq/demoHandlers.js';

const HOSTILE = ['../../../victim', '..', '', 'A'.repeat(64), `${'a'.repeat(63)}/`, `${'a'.repeat(64)}/../../x`, '/etc'];

function layout(): { root: string; store: ArtifactStore; victim: string } {
  const root = mkdtempSync(join(tmpdir(), 'specpipe-keys-'));
  const victim = join(root, 'victim');
  mkdirSync(victim);
  writeFileSync(join(victim, 'keep.txt'), 'precious');
  return { root, store: new ArtifactStore(join(root, 'x', 'y', 'store')), victim };
}

test('dir, tempDir, discard, lock and commit refuse a key that is not 64 lower-case hex digits', async () => {
  const { root, store, victim } = layout();
  try {
    for (const key of HOSTILE) {
      const refused = (e: unknown) =>
        isSpecpipeError(e) &&
        e.reason === 'bad-key' &&
        e.message.includes('expected a stage key (64 lower-case hex digits), received') &&
        e.message.includes(JSON.stringify(key));
      assert.throws(() => store.dir(key), refused, `dir(${key})`);
      assert.throws(() => store.tempDir(key), refused, `tempDir(${key})`);
      assert.throws(() => store.discard(key), refused, `discard(${key})`);
      assert.throws(() => store.tryLock(key, 'x'), refused, `tryLock(${key})`);
      await assert.rejects(store.lock(key, 'x'), refused, `lock(${key})`);
      assert.equal(store.verify(key).ok, false);
      assert.equal(store.readManifest(key), undefined);
    }
    assert.equal(
      (() => {
        try {
          store.dir('../../../victim');
        } catch (e) {
          return (e as Error).message;
        }
      })(),
      `artifact store ${store.root}: expected a stage key (64 lower-case hex digits), received "../../../victim"`,
    );
    assert.ok(existsSync(join(victim, 'keep.txt')), 'the victim directory is intact');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a lock path that climbs out with ".." is refused', () => {
  assert.throws(
    () => tryLock('/tmp/store/.locks/../../../victim', 'x'),
    (e) => isSpecpipeError(e) && e.message === 'key lock: refusing lock path "/tmp/store/.locks/../../../victim" (contains "..")',
  );
});

test('a worker refuses job data whose key or deps are not stage keys, naming the field and the value', () => {
  const good = 'e'.repeat(64);
  assert.equal(invalidJobData({ key: good, name: 'n', kind: 'stage', deps: [good], payload: {} }), undefined);
  assert.equal(
    invalidJobData({ key: '../../../victim', name: 'n', kind: 'stage', deps: [], payload: {} }),
    'key: expected a stage key (64 lower-case hex digits), received "../../../victim"',
  );
  assert.equal(
    invalidJobData({ key: good, name: 'n', kind: 'stage', deps: [good, '../x'], payload: {} }),
    'deps[1]: expected a stage key (64 lower-case hex digits), received "../x"',
  );
  assert.equal(invalidJobData(null), 'job data must be an object, received "null"');
});

test('the demo handler refuses a hostile key and writes nothing outside the store', async () => {
  const { root, store, victim } = layout();
  try {
    await assert.rejects(
      hashChainHandler(
        { seed: 's' },
        {
          key: '../../../victim',
          name: 'evil',
          deps: [],
          store: store.root,
          workerId: 'w',
          attempt: 1,
          reportProgress: async () => {},
        },
      ),
      (e) => isSpecpipeError(e) && e.reason === 'bad-key',
    );
    assert.ok(existsSync(join(victim, 'keep.txt')));
    assert.ok(!existsSync(join(victim, 'value.json')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
