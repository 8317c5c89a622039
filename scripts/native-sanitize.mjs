// Builds the native kernel library's C source (dist/src/backend/native/elementwiseSource.js) with
// scripts/native-sanitize-harness.c under AddressSanitizer + UndefinedBehaviorSanitizer and runs
// it: every kernel on random shapes with exactly sized buffers. Usage (after `npx tsc`):
//   node scripts/native-sanitize.mjs [SEED] [ROUNDS] [--valgrind]
// --valgrind builds with the library's own optimisation (-O3, the vectorised loops) and no
// sanitizer, and runs the harness under valgrind memcheck instead.
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
const valgrind = process.argv.includes('--valgrind');
execFileSync(
  cc,
  [
    ...(valgrind
      ? ['-O3', '-fno-math-errno', '-fno-trapping-math']
      : ['-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=all']),
    '-g',
    '-fno-omit-frame-pointer',
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
const [seed = '1', rounds = '300'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const command = valgrind ? 'valgrind' : exe;
const args = valgrind
  ? ['--error-exitcode=9', '--leak-check=full', '--errors-for-leak-kinds=definite', exe, seed, rounds]
  : [seed, rounds];
const r = spawnSync(command, args, {
  stdio: 'inherit',
  env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0' },
});
process.exitCode = r.status ?? 1;
