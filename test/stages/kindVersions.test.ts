import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUILTIN_STAGE_KINDS } from '../../src/stages/builtin.js';
import { kindFingerprint, kindFolder } from '../../src/stages/kindFingerprint.js';

const root = process.cwd();
const src = join(root, 'src');
const table = JSON.parse(readFileSync(join(src, 'stages/kindVersions.json'), 'utf8')) as Record<
  string,
  { version: number; fingerprint: string }
>;

test('every built-in stage kind is in the version table', () => {
  assert.deepEqual(Object.keys(table).sort(), BUILTIN_STAGE_KINDS.map((k) => k.kind).sort());
});

for (const kind of BUILTIN_STAGE_KINDS) {
  test(`${kind.kind}: its code matches the fingerprint recorded for version ${kind.version}`, () => {
    const entry = table[kind.kind];
    assert.ok(entry !== undefined, `${kind.kind} is missing from src/stages/kindVersions.json: run npm run kinds:fingerprint`);
    const now = kindFingerprint(src, kind.kind);
    const where = join('src', 'stages', kindFolder(src, kind.kind).split(/[\\/]/).pop()!);
    if (now.fingerprint !== entry.fingerprint && kind.version === entry.version)
      assert.fail(
        `stage kind ${kind.kind}: the code that computes its results changed (${now.files.length} files behind it, e.g. ${now.files.slice(0, 4).join(', ')}) but its version is still ${kind.version}, so cached artifacts of the old code would be reused. If results can change, bump \`version\` to ${kind.version + 1} in ${where}; then (or if they cannot) run \`npm run kinds:fingerprint\` to record it.`,
      );
    assert.equal(
      kind.version,
      entry.version,
      `stage kind ${kind.kind}: version ${kind.version} is not the recorded ${entry.version}: run npm run kinds:fingerprint`,
    );
    assert.equal(now.fingerprint, entry.fingerprint);
  });
}

test('the fingerprint follows run-time imports into the numerical layers and ignores comments', () => {
  const { files } = kindFingerprint(src, 'spectrum/slq');
  assert.ok(files.includes('stages/spectrum-slq/kind.ts'));
  assert.ok(files.includes('linalg/slq.ts'), 'SLQ itself is behind spectrum/slq');
  assert.ok(files.includes('curvature/batchCurvature.ts'), 'the curvature products are behind spectrum/slq');
  assert.ok(!files.some((f) => f.startsWith('backend/') || f.startsWith('store/')), 'backend and store are not followed');
  assert.ok(!kindFingerprint(src, 'data/mnist').files.includes('linalg/slq.ts'), 'data kinds do not depend on SLQ');
});

test('a code change behind a kind changes its fingerprint; a comment change does not', async () => {
  const { cpSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const copy = join(mkdtempSync(join(tmpdir(), 'specpipe-fingerprint-')), 'src');
  try {
    cpSync(src, copy, { recursive: true });
    const before = kindFingerprint(copy, 'spectrum/slq').fingerprint;
    const slq = join(copy, 'linalg/slq.ts');
    writeFileSync(slq, `// a new comment\n${readFileSync(slq, 'utf8')}\n/* and another */\n`);
    assert.equal(kindFingerprint(copy, 'spectrum/slq').fingerprint, before, 'comments do not count');
    writeFileSync(slq, `${readFileSync(slq, 'utf8')}\nexport const changed = 1;\n`);
    assert.notEqual(kindFingerprint(copy, 'spectrum/slq').fingerprint, before, 'code does');
    assert.equal(kindFingerprint(copy, 'data/mnist').fingerprint, kindFingerprint(src, 'data/mnist').fingerprint);
  } finally {
    rmSync(dirname(copy), { recursive: true, force: true });
  }
});
