import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { newAjv } from '../../src/pipeline/ajvErrors.js';
import { loadSchema, schemasDirectory } from '../../src/util/schemaFiles.js';
import { getStageKind, loadStageKinds } from '../../src/stages/registry.js';
import { registerBuiltinStageKinds } from '../../src/stages/builtin.js';

const repoRoot = dirname(schemasDirectory());
const REGENERATE =
  'the params types or the editor schema are out of date with schemas/: run `npm run gen:types` and commit the result';

test('src/params/*.generated.ts and schemas/pipeline.editor.schema.json are what scripts/gen-param-types.mjs makes of schemas/', () => {
  const out = mkdtempSync(join(tmpdir(), 'specpipe-gen-types-'));
  try {
    const editor = join(out, 'pipeline.editor.schema.json');
    const r = spawnSync(
      process.execPath,
      [join(repoRoot, 'scripts', 'gen-param-types.mjs'), '--out', join(out, 'params'), '--editor-schema', editor],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, `gen-param-types.mjs failed:\n${r.stderr}`);
    const fresh = readdirSync(join(out, 'params')).sort();
    const checkedIn = readdirSync(join(repoRoot, 'src', 'params'))
      .filter((f) => f.endsWith('.generated.ts'))
      .sort();
    assert.deepEqual(checkedIn, fresh, `${REGENERATE} (files differ)`);
    for (const f of fresh)
      assert.equal(
        readFileSync(join(repoRoot, 'src', 'params', f), 'utf8'),
        readFileSync(join(out, 'params', f), 'utf8'),
        `src/params/${f}: ${REGENERATE}`,
      );
    assert.equal(
      readFileSync(join(repoRoot, 'schemas', 'pipeline.editor.schema.json'), 'utf8'),
      readFileSync(editor, 'utf8'),
      `schemas/pipeline.editor.schema.json: ${REGENERATE}`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

const stageFiles = readdirSync(join(schemasDirectory(), 'stages')).sort();

test('every built-in stage kind has its schema file schemas/stages/<group>-<name>.schema.json, and uses it', async () => {
  registerBuiltinStageKinds();
  const kinds = stageFiles.map((f) => f.replace(/\.schema\.json$/, '').replace('-', '/'));
  await loadStageKinds(kinds);
  assert.equal(stageFiles.length, 13, 'the 13 built-in kinds');
  for (const f of stageFiles) {
    const kind = f.replace(/\.schema\.json$/, '').replace('-', '/');
    const k = getStageKind(kind);
    assert.ok(k !== undefined, `${f}: no stage kind ${kind}`);
    assert.equal(k.paramsSchema, loadSchema(`stages/${f}`), `${kind}: paramsSchema is loadSchema('stages/${f}')`);
  }
});

test('the editor schema accepts the example pipelines and checks `with:` against the `uses:` kind', () => {
  const ajv = newAjv();
  const validate = ajv.compile(JSON.parse(readFileSync(join(schemasDirectory(), 'pipeline.editor.schema.json'), 'utf8')));
  const pipelines = join(repoRoot, 'pipelines');
  for (const f of readdirSync(pipelines).filter((x) => x.endsWith('.yaml'))) {
    const doc = parse(readFileSync(join(pipelines, f), 'utf8'));
    assert.ok(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`);
  }
  const bad = { name: 'x', stages: { t: { uses: 'train/sgd', with: { model: { kind: 'lenet' }, epochs: -1, lr0: 1 } } } };
  assert.equal(validate(bad), false);
  const where = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  assert.ok(where.includes("/stages/t/with/model must have required property 'channels'"), where.join('\n'));
  assert.ok(where.includes('/stages/t/with/epochs must be >= 0'), where.join('\n'));
  assert.ok(where.includes('/stages/t/with must NOT have additional properties'), where.join('\n'));
});
