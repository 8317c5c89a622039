import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliArgv } from '../pipeline/cliHarness.js';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cliArgv(args), { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown option is a usage error naming the option, never a stack trace', () => {
  const r = cli(['diff', '--bogus']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "specpipe diff: Unknown option '--bogus' (see specpipe diff --help)\n");
});

test('every command answers --help with its usage on stdout', () => {
  for (const name of [
    'run',
    'validate',
    'explain',
    'diff',
    'show',
    'runs',
    'gc',
    'report',
    'worker',
    'train',
    'eval',
    'spectrum',
  ]) {
    const r = cli([name, '--help']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`usage: specpipe ${name}`), name);
  }
});

test('an unknown command lists the commands and exits 2', () => {
  const r = cli(['spectra']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^specpipe: unknown command "spectra"\n/);
  assert.match(r.stderr, /\n {2}spectrum +spectral estimates/);
});
