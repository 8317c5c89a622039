// Builds the native kernel library's C source (dist/src/backend/native/elementwiseSource.js) with
// scripts/native-sanitize-harness.c under AddressSanitizer + UndefinedBehaviorSanitizer and runs
// it: every kernel on random shapes with exactly sized buffers. Usage (after `npx tsc`):
//   node scripts/native-sanitize.mjs [SEED] [ROUNDS]
// Exits non-zero on a sanitizer report (the report names the kernel and the line).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { NATIVE_C_SOURCE } = await import(join(here, '..', 'dist', 'src', 'backend', 'native', 'elementwiseSource.js'));
const dir = mkdtempSync(join(tmpdir(), 'specpipe-sanitize-'));
writeFileSync(join(dir, 'kernels.c'), NATIVE_C_SOURCE);
const cc = process.env.CC ?? 'gcc';
const exe = join(dir, 'harness');
execFileSync(
  cc,
  [
    '-O1',
    '-g',
    '-fno-omit-frame-pointer',
    '-fsanitize=address,undefined',
    '-fno-sanitize-recover=all',
    '-pthread',
    '-std=gnu99',
    '-o',
    exe,
    join(dir, 'kernels.c'),
    join(here, 'native-sanitize-harness.c'),
    '-lm',
  ],
  { stdio: 'inherit' },
);
const seed = process.argv[2] ?? '1';
const rounds = process.argv[3] ?? '300';
const r = spawnSync(exe, [seed, rounds], {
  stdio: 'inherit',
  env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0' },
});
process.exitCode = r.status ?? 1;
