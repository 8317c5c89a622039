// A full disk, for real: the store lives on a 1 MiB tmpfs, so the kernel answers ENOSPC mid-run. Mounting
// needs CAP_SYS_ADMIN: as root (here and in CI) the test mounts directly; otherwise it reruns itself inside a
// new user and mount namespace (`unshare -rm`, where the kernel allows unprivileged ones); failing both, it
// says why it skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempWorkspace, type RunJson } from '../pipeline/cliHarness.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';

function mount(args: string[]): string | undefined {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  return r.status === 0 ? undefined : (r.error?.message ?? r.stderr.trim().split('\n')[0]) || `mount exited ${r.status}`;
}

/** Mounts a tmpfs of `size` (mount's syntax: 1m, 8m) at `dir`; undefined, or why it cannot. */
function mountTmpfs(dir: string, size: string): string | undefined {
  return mount(['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
}

function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

/** Why this process cannot mount a tmpfs (probed once, on an empty directory), or undefined. */
function cannotMount(): string | undefined {
  const dir = tempWorkspace('specpipe-tmpfs-probe-');
  try {
    const why = mountTmpfs(dir, '64k');
    if (why === undefined) unmount(dir);
    return why;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Set in the copy of this file that runs inside `unshare -rm`. */
const IN_NAMESPACE = process.env['SPECPIPE_TEST_MOUNT_NAMESPACE'] === '1';
const mountProblem = cannotMount();
const namespaceProblem =
  mountProblem === undefined || IN_NAMESPACE
    ? undefined
    : (() => {
        const r = spawnSync('unshare', ['-rm', 'true'], { encoding: 'utf8' });
        return r.status === 0 ? undefined : (r.error?.message ?? r.stderr.trim().split('\n')[0]) || `exit ${r.status}`;
      })();

const PIPE = `name: disk-full
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2, 3, 4, 5, 6] }
    with: { size: 30000 }
`;

function starts(log: string): string[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('start '))
    .map((l) => l.split(' ')[1]!);
}

test(
  'the store fills up mid-run: exit 1, one line naming the path and ENOSPC; finished instances verify; with space the rerun computes only the rest and leaves no temp files or locks',
  {
    skip:
      mountProblem !== undefined &&
      (IN_NAMESPACE
        ? `cannot mount a tmpfs in the namespace either (${mountProblem})`
        : 'run inside a mount namespace instead (next test)'),
  },
  async () => {
    const ws = tempWorkspace('specpipe-disk-full-');
    const disk = join(ws, 'disk');
    mkdirSync(disk);
    // Six artifacts of 240 kB each; about four fit in 1 MiB.
    const why = mountTmpfs(disk, '1m');
    assert.equal(why, undefined, why);
    try {
      writeFileSync(join(ws, 'p.yaml'), PIPE);
      const root = join(disk, 'artifacts');
      const args = ['run', 'p.yaml', '--store', root, '--runs', join(ws, 'runs'), '--jobs', '1', '--json', '--quiet'];
      const log1 = join(ws, 'first.log');
      const first = await runCli(args, { cwd: ws, env: { SPECPIPE_TEST_LOG: log1 }, process: true });
      assert.equal(first.code, 1, first.stderr);
      assert.ok(!/\n\s+at /.test(first.stderr), `no stack trace:\n${first.stderr}`);
      const [failure, summary] = first.stderr.trimEnd().split('\n');
      assert.match(
        failure ?? '',
        new RegExp(`^a\\[value=\\d\\] failed: cannot write ${root}/\\S+: ENOSPC \\(no space left on device\\)$`),
        first.stderr,
      );
      assert.match(summary ?? '', /^\d executed, 0 cached, \d failed in /);
      const out1 = JSON.parse(first.stdout) as RunJson;
      const finished = out1.stages.filter((s) => s.status === 'executed');
      assert.ok(finished.length >= 1 && finished.length < 6, `${finished.length} of 6 finished before the disk was full`);
      const store = new ArtifactStore(root);
      for (const s of finished) assert.ok(store.verify(s.key, 'full').ok, `${s.name} is kept whole`);
      assert.deepEqual(store.keys().sort(), finished.map((s) => s.key).sort(), 'no partial artifact is in the store');

      // More space (the same file system, grown), and the same run again.
      assert.equal(mount(['-t', 'tmpfs', '-o', 'remount,size=8m', 'tmpfs', disk]), undefined);
      const log2 = join(ws, 'second.log');
      const second = await runCli(args, { cwd: ws, env: { SPECPIPE_TEST_LOG: log2 }, process: true });
      assert.equal(second.code, 0, second.stderr);
      const out2 = JSON.parse(second.stdout) as RunJson;
      const st = Object.fromEntries(out2.stages.map((s) => [s.name, s.status]));
      for (const s of out1.stages) assert.equal(st[s.name], s.status === 'executed' ? 'cached' : 'executed', s.name);
      assert.deepEqual(
        starts(log2).sort(),
        out1.stages
          .filter((s) => s.status !== 'executed')
          .map((s) => s.name)
          .sort(),
        'the rerun computed exactly the instances that had not finished',
      );
      for (const sub of ['.tmp', '.locks', '.leases']) assert.deepEqual(readdirSync(join(root, sub)), [], `${sub} is empty`);

      // A disk with no room at all: the run's first write (its lease) fails, named, and leaves nothing.
      writeFileSync(join(disk, 'filler'), Buffer.alloc(0));
      assert.throws(() => writeFileSync(join(disk, 'filler'), Buffer.alloc(16 << 20)), /ENOSPC/);
      const full = await runCli(args, { cwd: ws, process: true });
      assert.equal(full.code, 1, full.stderr);
      assert.match(
        full.stderr,
        new RegExp(`^specpipe run: cannot write ${root}/\\.leases/[^/ ]+\\.json: ENOSPC \\(no space left on device\\)\n$`),
      );
      assert.deepEqual(readdirSync(join(root, '.leases')), [], 'no temp lease file is left');
      // A lock whose owner file does not fit is not left behind ownerless.
      const store2 = new ArtifactStore(root);
      const key = finished[0]!.key;
      assert.throws(
        () => store2.tryLock(key, 'test'),
        (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.path === join(store2.lockPath(key), 'owner.json'),
      );
      assert.deepEqual(readdirSync(join(root, '.locks')), []);
    } finally {
      unmount(disk);
      rmSync(ws, { recursive: true, force: true });
    }
  },
);

test(
  'without CAP_SYS_ADMIN: the disk-full test above runs inside a new user and mount namespace and passes there',
  {
    skip:
      mountProblem === undefined
        ? 'this process can mount: the test above ran directly'
        : namespaceProblem !== undefined
          ? `cannot mount a small tmpfs here (${mountProblem}) nor make a user namespace (unshare -rm: ${namespaceProblem}): a full disk is not simulated`
          : IN_NAMESPACE,
  },
  () => {
    // A test run of its own (NODE_TEST_CONTEXT would make it report to this runner instead), as TAP.
    const env: Record<string, string | undefined> = { ...process.env, SPECPIPE_TEST_MOUNT_NAMESPACE: '1' };
    delete env['NODE_TEST_CONTEXT'];
    const r = spawnSync('unshare', ['-rm', process.execPath, '--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], {
      encoding: 'utf8',
      env,
      timeout: 300_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# pass 1$/m, r.stdout);
    assert.match(r.stdout, /^# fail 0$/m, r.stdout);
  },
);
