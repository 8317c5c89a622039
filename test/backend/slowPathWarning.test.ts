import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FALLBACK_SLOWDOWN, slowPathWarning, type FallbackPath } from '../../src/backend/backend.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const backendModule = new URL('../../src/backend/backend.js', import.meta.url).href;
/** libopenblas made unloadable: the loader tries exactly this file, which does not exist. */
const NO_BLAS = { ...process.env, SPECPIPE_OPENBLAS_LIB: '/nonexistent/libopenblas.so.0', SPECPIPE_NO_NATIVE: '' };
/** No C compiler either (and no cached build of the C library: a fresh cache directory). */
function noBlasNoCompiler(dir: string): NodeJS.ProcessEnv {
  return { ...NO_BLAS, CC: '/nonexistent/cc', SPECPIPE_NATIVE_DIR: dir, TMPDIR: dir };
}
/** The fallback a child process reports by printing its BackendInfo as JSON. */
function fallbackOf(info: { name: string; kernels: string }): FallbackPath {
  return info.kernels === 'specpipe-sgemm' ? 'specpipe-sgemm' : info.name === 'wasm' ? 'wasm' : 'cpu';
}
const FALLBACK_WORDS: Record<FallbackPath, string> = {
  'specpipe-sgemm': "cpu with specpipe's C sgemm",
  wasm: 'wasm',
  cpu: 'plain cpu',
};

test('the warning names the library, the measured slow-down and the fix', () => {
  assert.equal(
    slowPathWarning('libopenblas could not be loaded (/x/libopenblas.so.0: cannot open)', 'wasm').replace(
      process.env.SPECPIPE_OPENBLAS_LIB || 'libopenblas.so.0',
      'LIB',
    ),
    `specpipe: OpenBLAS not found (LIB): products run about ${FALLBACK_SLOWDOWN.wasm}× slower on the fallback (wasm); apt-get install libopenblas0`,
  );
  assert.equal(
    slowPathWarning('libopenblas could not be loaded (/x/libopenblas.so.0: cannot open)', 'specpipe-sgemm').replace(
      process.env.SPECPIPE_OPENBLAS_LIB || 'libopenblas.so.0',
      'LIB',
    ),
    `specpipe: OpenBLAS not found (LIB): products run about ${FALLBACK_SLOWDOWN['specpipe-sgemm']}× slower on the fallback (cpu with specpipe's C sgemm); apt-get install libopenblas0`,
  );
  assert.match(
    slowPathWarning('native kernels disabled by SPECPIPE_NO_NATIVE=1', 'cpu'),
    new RegExp(
      `^specpipe: OpenBLAS not used \\(native kernels disabled by SPECPIPE_NO_NATIVE=1\\): products run about ${FALLBACK_SLOWDOWN.cpu}× slower on the fallback \\(plain cpu\\)`,
    ),
  );
});

/** Runs initBackend('auto') twice in a child process; its BackendInfo and stderr. */
function autoBackendIn(env: NodeJS.ProcessEnv): { info: { name: string; kernels: string; reason: string }; stderr: string } {
  const script = `const b = await import(${JSON.stringify(backendModule)});
    const a = await b.initBackend('auto'); await b.initBackend('auto');
    process.stdout.write(JSON.stringify(a));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { info: JSON.parse(r.stdout) as { name: string; kernels: string; reason: string }, stderr: r.stderr };
}

test('--backend auto without OpenBLAS says so on stderr exactly once per process, however often the backend is asked for', () => {
  const { info, stderr } = autoBackendIn(NO_BLAS);
  const fallback = fallbackOf(info);
  const expected = `specpipe: OpenBLAS not found (/nonexistent/libopenblas.so.0): products run about ${FALLBACK_SLOWDOWN[fallback]}× slower on the fallback (${FALLBACK_WORDS[fallback]}); apt-get install libopenblas0`;
  assert.deepEqual(
    stderr.split('\n').filter((l) => l.includes('OpenBLAS')),
    [expected],
  );
});

test("--backend auto without OpenBLAS but with a C compiler runs cpu over specpipe's C sgemm and says so in the reason", () => {
  const { info } = autoBackendIn(NO_BLAS);
  assert.equal(info.name, 'cpu');
  assert.equal(info.kernels, 'specpipe-sgemm', `this machine has cc (the C library builds), yet: ${info.reason}`);
  assert.match(
    info.reason,
    /^auto: tfjs-node not installed; cpu with specpipe's C sgemm \(OpenBLAS not loadable: libopenblas could not be loaded \(\/nonexistent\/libopenblas\.so\.0: .*\)\); apt-get install libopenblas0 for the fast path$/,
  );
});

test('--backend auto without OpenBLAS and without a C compiler falls back to wasm, as before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-nocc-'));
  try {
    const { info, stderr } = autoBackendIn(noBlasNoCompiler(dir));
    assert.equal(info.name, 'wasm', info.reason);
    assert.match(info.reason, /no C compiler: "\/nonexistent\/cc" not found/);
    assert.deepEqual(
      stderr.split('\n').filter((l) => l.includes('OpenBLAS')),
      [
        `specpipe: OpenBLAS not found (/nonexistent/libopenblas.so.0): products run about ${FALLBACK_SLOWDOWN.wasm}× slower on the fallback (wasm); apt-get install libopenblas0`,
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
      /^specpipe: OpenBLAS not found \(\/nonexistent\/libopenblas\.so\.0\): products run about [\d.]+× slower on the fallback \((cpu with specpipe's C sgemm|wasm|plain cpu)\); apt-get install libopenblas0$/,
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
