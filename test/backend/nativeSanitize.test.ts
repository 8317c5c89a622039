/**
 * The native kernel library under AddressSanitizer + UndefinedBehaviorSanitizer
 * (scripts/native-sanitize.mjs + scripts/native-sanitize-harness.c): every kernel on random shapes
 * with exactly sized buffers, edge cases included. It found a heap overflow in im2col (left padding
 * wider than the windows reach). Skipped where the C compiler cannot build with -fsanitize=address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const repoRoot = compiled ? join(here, '..', '..', '..') : join(here, '..', '..');
const SLOW = process.env['SPECPIPE_SLOW'] === '1';

function sanitizerMissing(): string | false {
  const cc = process.env['CC'] ?? 'gcc';
  const r = spawnSync(cc, ['-fsanitize=address,undefined', '-x', 'c', '-o', '/dev/null', '-'], {
    input: 'int main(void) { return 0; }\n',
    encoding: 'utf8',
  });
  return r.status === 0 ? false : `${cc} cannot build with -fsanitize=address,undefined`;
}

test(
  'native kernels: no AddressSanitizer / UBSan report on random shapes and edge cases',
  { skip: sanitizerMissing(), timeout: 600_000 },
  () => {
    // The harness runs its rounds once per instruction-set cap (base, AVX2, AVX-512 where present).
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'native-sanitize.mjs'), '20261205', SLOW ? '5000' : '150'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr.slice(-6000)}`);
    assert.match(r.stdout, /seed 20261205: no sanitizer report/);
  },
);
