// Pre-builds specpipe's optional native kernels so the first run does not compile them:
//   npm run build && node scripts/build-native.mjs
// The C library (src/backend/native/elementwiseSource.ts) is compiled with `$CC` (default cc)
// into $SPECPIPE_NATIVE_DIR (default ~/.cache/specpipe/native); OpenBLAS is only checked
// (Debian/Ubuntu: apt-get install libopenblas0). Never fails: without a compiler or OpenBLAS,
// specpipe falls back to tfjs's JavaScript kernels and says so.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/src/backend/native/', import.meta.url);
if (!existsSync(new URL('elementwiseLibrary.js', dist))) {
  console.error('build-native: dist/ is missing; run `npm run build` first');
  process.exit(0);
}
const { buildNativeLibrary } = await import(new URL('elementwiseLibrary.js', dist).href);
const { loadOpenBlas } = await import(new URL('openblasLibrary.js', dist).href);

const blas = loadOpenBlas();
console.log(
  blas.ok
    ? `OpenBLAS: ${blas.blas.library}`
    : `OpenBLAS: unavailable (${blas.reason}); matMul/conv use tfjs's JavaScript kernels`,
);
const built = buildNativeLibrary();
console.log(
  built.ok
    ? `native kernels: ${built.path}${built.built ? ' (built now)' : ' (already built)'}`
    : `native kernels: unavailable (${built.reason}); elementwise ops use tfjs's JavaScript kernels`,
);
