// I/O failures are one line naming the path and the cause (never exit 70 with a stack); what
// finished is kept; what a dead run left behind (temp dirs, locks) is cleaned or taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { runCli, startCli, tempWorkspace, waitForExit } from '../pipeline/cliHarness.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { acquireLock } from '../../src/store/keyLock.js';
import { handOver, permissionTestUser } from '../pipeline/unprivileged.js';

const PIPE = (sleepMs: number) => `name: io
stages:
  a:
    uses: test/const
    with: { value: 1, sleep_ms: ${sleepMs} }
`;

function workspace(sleepMs = 0): string {
  const ws = tempWorkspace('specpipe-io-');
  writeFileSync(join(ws, 'p.yaml'), PIPE(sleepMs));
  writeFileSync(join(ws, 'afile'), 'a regular file\n');
  return ws;
}

async function deadPid(): Promise<number> {
  return new Promise<number>((resolve) => {
    const c = spawn(process.execPath, ['-e', '0']);
    c.once('exit', () => resolve(c.pid as number));
  });
}

test('a store or runs directory under a regular file: exit 1, one line naming the path and ENOTDIR', async () => {
  const ws = workspace();
  try {
    const store = await runCli(['run', 'p.yaml', '--store', 'afile/artifacts'], { cwd: ws, process: true });
    assert.equal(store.code, 1);
    assert.equal(
      store.stderr,
      `specpipe run: cannot create ${join(ws, 'afile', 'artifacts', '.leases')}: ENOTDIR (a component of the path is not a directory)\n`,
    );
    const runs = await runCli(['run', 'p.yaml', '--runs', 'afile/runs'], { cwd: ws });
    assert.equal(runs.code, 1);
    assert.equal(runs.stderr, 'specpipe run: cannot create afile/runs: ENOTDIR (a component of the path is not a directory)\n');
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('the run record cannot be written at the end: exit 1, one line naming it; the artifacts are kept', async () => {
  const ws = workspace(1500);
  try {
    const child = startCli(['run', 'p.yaml', '--json'], { cwd: ws });
    const exited = waitForExit(child);
    // Once the run has started (its runs/ exists), runs/ becomes a regular file.
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(ws, 'runs')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    rmSync(join(ws, 'runs'), { recursive: true });
    writeFileSync(join(ws, 'runs'), 'not a directory\n');
    const r = await exited;
    assert.equal(r.code, 1, r.stderr);
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    assert.match(
      last,
      new RegExp(
        `^specpipe run: cannot write the run record ${join(ws, 'runs')}/[0-9a-f-]+\\.json: (ENOTDIR|EEXIST) \\([a-z ]+\\); the artifacts of this run are kept in ${join(ws, 'artifacts')}$`,
      ),
    );
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
    const store = new ArtifactStore(join(ws, 'artifacts'));
    assert.equal(store.keys().length, 1);
    assert.ok(store.verify(store.keys()[0]!).ok, 'the finished artifact is kept and valid');
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

// Root bypasses permissions: as root these run the CLI as nobody over a workspace handed to it.
const permissions = permissionTestUser();
const asUser = 'user' in permissions ? permissions.user : undefined;
const skipPermissions = 'skip' in permissions ? permissions.skip : false;

test('a read-only runs directory: exit 1 naming it with EACCES', { skip: skipPermissions }, async () => {
  const ws = workspace();
  try {
    mkdirSync(join(ws, 'ro'), { mode: 0o555 });
    handOver(ws, asUser);
    const r = await runCli(['run', 'p.yaml', '--runs', 'ro/runs'], {
      cwd: ws,
      env: { HOME: ws },
      ...(asUser !== undefined && { user: asUser }),
    });
    assert.equal(r.stderr, 'specpipe run: cannot create ro/runs: EACCES (permission denied)\n');
    assert.equal(r.code, 1);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test(
  'a read-only store: exit 1 naming the directory it could not create with EACCES, nothing written',
  { skip: skipPermissions },
  async () => {
    const ws = workspace();
    try {
      mkdirSync(join(ws, 'ro'), { mode: 0o555 });
      handOver(ws, asUser);
      const r = await runCli(['run', 'p.yaml', '--store', 'ro/artifacts'], {
        cwd: ws,
        env: { HOME: ws },
        ...(asUser !== undefined && { user: asUser }),
      });
      assert.equal(
        r.stderr,
        `specpipe run: cannot create ${join(ws, 'ro', 'artifacts', '.leases')}: EACCES (permission denied)\n`,
      );
      assert.equal(r.code, 1);
      assert.deepEqual(readdirSync(join(ws, 'ro')), []);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  },
);

test('an unreadable pipeline file: exit 1, one line naming it with EACCES', { skip: skipPermissions }, async () => {
  const ws = workspace();
  try {
    chmodSync(join(ws, 'p.yaml'), 0o000);
    handOver(ws, asUser);
    for (const command of ['run', 'validate']) {
      const r = await runCli([command, 'p.yaml'], { cwd: ws, env: { HOME: ws }, ...(asUser !== undefined && { user: asUser }) });
      assert.equal(r.stderr, `specpipe ${command}: p.yaml: cannot read pipeline file (EACCES)\n`);
      assert.equal(r.code, 1);
    }
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('temp dirs and ownerless locks of a dead run are cleaned by the next run', async () => {
  const ws = workspace();
  try {
    const pid = await deadPid();
    const root = join(ws, 'artifacts');
    const key = 'd'.repeat(64);
    mkdirSync(join(root, '.tmp', `${key}.${pid}.0badc0de`), { recursive: true });
    writeFileSync(join(root, '.tmp', `${key}.${pid}.0badc0de`, 'values.arrow'), 'partial');
    mkdirSync(join(root, '.locks', key), { recursive: true });
    writeFileSync(
      join(root, '.locks', key, 'owner.json'),
      JSON.stringify({ pid, host: hostname(), token: 't', since: '', what: 'a' }),
    );
    const r = await runCli(['run', 'p.yaml'], { cwd: ws });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    assert.deepEqual(readdirSync(join(root, '.locks')), []);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('a lock whose owner is dead is taken over, saying so, without "waiting"', async () => {
  const ws = tempWorkspace('specpipe-io-');
  try {
    const pid = await deadPid();
    const dir = join(ws, 'lock');
    mkdirSync(dir);
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid, host: hostname(), token: 't', since: '', what: 'train[x=1]' }));
    const waits: unknown[] = [];
    const takeovers: unknown[] = [];
    const held = await acquireLock(dir, 'me', {
      onWait: (o) => waits.push(o),
      onTakeOver: (o) => takeovers.push(o),
    });
    held.release();
    assert.deepEqual(waits, []);
    assert.equal(takeovers.length, 1);
    assert.equal((takeovers[0] as { pid: number; what: string }).pid, pid);
    assert.equal((takeovers[0] as { what: string }).what, 'train[x=1]');
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});
