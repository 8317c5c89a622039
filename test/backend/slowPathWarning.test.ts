import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FALLBACK_SLOWDOWN, slowPathWarning } from '../../src/backend/backend.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const backendModule = new URL('../../src/backend/backend.js', import.meta.url).href;
/** libopenblas made unloadable: the loader tries exactly this file, which does not exist. */
const NO_BLAS = { ...process.env, SPECPIPE_OPENBLAS_LIB: '/nonexistent/libopenblas.so.0', SPECPIPE_NO_NATIVE: '' };

test('the warning names the library, the measured slow-down and the fix', () => {
  assert.equal(
    slowPathWarning('libopenblas could not be loaded (/x/libopenblas.so.0: cannot open)', 'wasm').replace(
      process.env.SPECPIPE_OPENBLAS_LIB || 'libopenblas.so.0',
      'LIB',
    ),
    `specpipe: OpenBLAS not found (LIB): products run about ${FALLBACK_SLOWDOWN.wasm}× slower on the fallback backend (wasm); apt-get install libopenblas0`,
  );
  assert.match(
    slowPathWarning('native kernels disabled by SPECPIPE_NO_NATIVE=1', 'cpu'),
    new RegExp(
      `^specpipe: OpenBLAS not used \\(native kernels disabled by SPECPIPE_NO_NATIVE=1\\): products run about ${FALLBACK_SLOWDOWN.cpu}× slower`,
    ),
  );
});

test('--backend auto without OpenBLAS says so on stderr exactly once per process, however often the backend is asked for', () => {
  const script = `const b = await import(${JSON.stringify(backendModule)});
    const a = await b.initBackend('auto'); await b.initBackend('auto');
    process.stdout.write(a.name);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: NO_BLAS, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const fallback = r.stdout === 'wasm' ? 'wasm' : 'cpu';
  const expected = `specpipe: OpenBLAS not found (/nonexistent/libopenblas.so.0): products run about ${FALLBACK_SLOWDOWN[fallback]}× slower on the fallback backend (${fallback}); apt-get install libopenblas0`;
  assert.deepEqual(
    r.stderr.split('\n').filter((l) => l.includes('OpenBLAS')),
    [expected],
  );
});

test('a CLI command (specpipe train) forced onto the fallback prints the one-line warning once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-slowpath-'));
  try {
    const r = spawnSync(
      process.execPath,
      [
        main,
        'train',
        '--data',
        'mnist',
        '--model',
        'mlp:784-8-10:tanh',
        '--epochs',
        '1',
        '--train-per-class',
        '3',
        '--test-per-class',
        '1',
        '--batch-size',
        '10',
        '--out',
        join(dir, 'run'),
      ],
      { env: NO_BLAS, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('specpipe: OpenBLAS'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /^specpipe: OpenBLAS not found \(\/nonexistent\/libopenblas\.so\.0\): products run about \d+× slower on the fallback backend \((wasm|cpu)\); apt-get install libopenblas0$/,
    );
    assert.equal((r.stdout + r.stderr).split('specpipe: OpenBLAS not found').length - 1, 1, 'not repeated on stdout either');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with OpenBLAS loadable (the default), nothing is printed', () => {
  const script = `const b = await import(${JSON.stringify(backendModule)}); const a = await b.initBackend('auto'); process.stdout.write(a.kernels);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  if (r.stdout === 'openblas') assert.doesNotMatch(r.stderr, /OpenBLAS/);
  else assert.match(r.stderr, /specpipe: OpenBLAS/, 'this machine has no OpenBLAS: then the warning must be there');
});
