// `specpipe run --executor bullmq` talks, as a user sees it through the CLI: with no worker connected it
// says so after a few seconds and keeps saying it (naming the command that starts one); after a
// kill -9 of a run, the rerun says which of the interrupted run's jobs it adopts (still needed) and
// which it cancels (no longer needed), and the cancelled one is never computed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { TEST_STAGES, startCli, tempWorkspace } from '../pipeline/cliHarness.js';
import { redisMissing, startRedisServer, type RedisTestServer } from './redisServer.js';
import { spawnWorker, type WorkerProcess } from './workerProcesses.js';

const QUEUE = 'q-talk';
let redis: RedisTestServer | undefined;
let worker: WorkerProcess | undefined;
const children: ChildProcess[] = [];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
  await worker?.kill();
  await redis?.stop();
});

/** A CLI child whose stderr is read as it comes, and a wait for a pattern in it. */
function watched(args: string[], cwd: string): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = startCli(args, { cwd });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

async function until(what: string, check: () => boolean, text: () => string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`${what} not seen in ${ms / 1000} s; stderr:\n${text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;

test(
  'no worker: the run says so after 5 s and every 10 s; a rerun after kill -9 adopts the needed job and cancels the other',
  { skip: redisMissing },
  async () => {
    redis = await startRedisServer();
    const dir = tempWorkspace('specpipe-talk-');
    const store = join(dir, 'artifacts');
    const log = join(dir, 'exec.log');
    writeFileSync(
      join(dir, 'p.yaml'),
      `name: dist-talk
stages:
  x:
    uses: test/const
    with: { value: 1 }
  y:
    uses: test/const
    with: { value: 2 }
`,
    );
    const args = ['run', 'p.yaml', '--executor', 'bullmq', '--redis', redis.url, '--store', store, '--queue', QUEUE];
    const noWorker = (seconds: number): string =>
      `no worker connected to ${redis!.url} queue ${QUEUE} for ${seconds} s (2 jobs waiting); ` +
      `start one with \`specpipe worker --redis ${redis!.url} --store ${store} --queue ${QUEUE}\``;

    // Run A queues x and y; no worker: after 5 s it says so. Then it dies (kill -9), leaving both jobs waiting.
    const a = watched(args, dir);
    await until('the first no-worker line of run A', () => a.stderr().includes('no worker connected'), a.stderr);
    assert.ok(a.stderr().split('\n').includes(noWorker(5)), a.stderr());
    process.kill(-a.child.pid!, 'SIGKILL');
    await a.exit;

    // Run B changes y: x's waiting job is adopted, the old y job (nobody needs it) is cancelled.
    const b = watched([...args, '--set', 'y.with.value=3'], dir);
    await until('two no-worker lines of run B', () => count(b.stderr(), /^no worker connected/) >= 2, b.stderr, 90_000);
    const lines = b.stderr().split('\n');
    assert.ok(lines.includes(noWorker(5)) && lines.includes(noWorker(15)), b.stderr());
    const owner = `${hostname()}:${a.child.pid}:[0-9a-f]{6}`;
    assert.match(
      b.stderr(),
      new RegExp(
        `^adopted x: its job, queued by the interrupted run ${owner}, is still waiting in queue ${QUEUE}; this run waits for it instead of queueing it again$`,
        'm',
      ),
    );
    const cancelled = new RegExp(
      `^cancelled y \\(([0-9a-f]{12})\\): queued by the interrupted run ${owner} and not needed by this run; removed from queue ${QUEUE}$`,
      'm',
    ).exec(b.stderr());
    assert.ok(cancelled !== null, b.stderr());

    worker = await spawnWorker(['--redis', redis.url, '--store', store, '--queue', QUEUE], {
      cli: true,
      env: { SPECPIPE_STAGE_MODULES: TEST_STAGES, SPECPIPE_TEST_LOG: log },
    });
    assert.equal(await b.exit, 0, b.stderr());
    assert.match(b.stderr(), /^2 executed, 0 cached, 0 failed in /m);
    const starts = (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter((l) => l.startsWith('start '));
    assert.equal(starts.length, 2, starts.join('\n'));
    assert.ok(!starts.some((l) => l.startsWith(`start y ${cancelled[1]}`)), 'the cancelled job never ran');
  },
);
