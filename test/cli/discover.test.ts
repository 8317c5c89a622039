/**
 * Discoverability, as a user finds it: `specpipe kinds`, `specpipe kinds KIND`, `specpipe init`, and
 * the editor-schema line at the top of every pipeline file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBuiltinCli, runCli } from '../pipeline/cliHarness.js';
import { BUILTIN_STAGE_KINDS } from '../../src/stages/builtin.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'specpipe-discover-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const EDITOR_LINE = /^# yaml-language-server: \$schema=(\S+)\n/;

const cli = (args: string[], cwd = dir) => runBuiltinCli(args, cwd);

test('specpipe kinds lists every built-in kind on one line with its description', async () => {
  const r = await cli(['kinds']);
  assert.equal(r.code, 0, r.stderr);
  const sorted = [...BUILTIN_STAGE_KINDS].sort((a, b) => a.kind.localeCompare(b.kind));
  const width = Math.max(...sorted.map((k) => k.kind.length)) + 2;
  assert.equal(
    r.stdout,
    sorted.map((k) => `${k.kind.padEnd(width)}${k.description}\n`).join('') +
      '\nspecpipe kinds KIND for the params of one kind.\n',
  );
  assert.match(r.stdout, /^spectrum\/slq {15}Stochastic Lanczos quadrature/m);
  const json = await cli(['kinds', '--json']);
  assert.deepEqual(
    JSON.parse(json.stdout),
    sorted.map((k) => ({ kind: k.kind, description: k.description })),
  );
});

test('specpipe kinds spectrum/slq prints each param with its type, default and description from the schema', async () => {
  const r = await cli(['kinds', 'spectrum/slq']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^spectrum\/slq — Stochastic Lanczos quadrature \(\+ top-k, deflation, Hutch\+\+ trace\)/);
  const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
  const op = at('  operator ');
  assert.equal(lines[op], '  operator'.padEnd(24) + 'hessian|ggn|residual|a1|a2|b1|b2|a1+a2+b1  (default hessian)');
  assert.equal(
    lines[op + 1],
    "      Hess, G (Gauss-Newton), H = Hess - G, or a piece of G (Papyan's A1, A2, B1, B2 = G - A1 - A2 -",
  );
  assert.equal(lines[at('  checkpoint ')], '  checkpoint'.padEnd(24) + 'integer ≥ 0 | "final"  (default final)');
  assert.equal(lines[at('  lanczos_steps ')], '  lanczos_steps'.padEnd(24) + 'integer ≥ 2  (default 64)');
  assert.equal(lines[at('  max_samples ')], '  max_samples'.padEnd(24) + 'integer ≥ 1  (optional, no default)');
  // The longest name sets the column: recording_budget_mib (20 characters) + 2 spaces.
  assert.equal(lines[at('  recording_budget_mib ')], '  recording_budget_mib  integer ≥ 0  (default 1024)');
  assert.equal(lines[at('  top_k_tol ')], '  top_k_tol'.padEnd(24) + 'number > 0, ≤ 1  (default 0.0001)');
  const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'stages', 'spectrum-slq.schema.json'), 'utf8')) as {
    properties: Record<string, { default?: unknown; description?: string }>;
  };
  const json = JSON.parse((await cli(['kinds', 'spectrum/slq', '--json'])).stdout) as {
    params: { name: string; default?: unknown; description?: string; required: boolean }[];
  };
  assert.deepEqual(
    json.params.map((p) => p.name),
    Object.keys(schema.properties),
  );
  for (const p of json.params) {
    assert.deepEqual(p.default, schema.properties[p.name]!.default, p.name);
    assert.equal(p.description, schema.properties[p.name]!.description, p.name);
  }
  const train = await cli(['kinds', 'train/sgd']);
  assert.match(train.stdout, /\n {2}model +model spec \(schemas\/model\.schema\.json\) {2}\(required\)\n/);
  assert.match(train.stdout, /\n {2}checkpoints +array of integer ≥ 0 {2}\(optional, no default\)\n/);

  const bad = await cli(['kinds', 'spectrum/lanczos']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(
    bad.stderr,
    /^specpipe kinds: unknown stage kind "spectrum\/lanczos"; known kinds: data\/cifar10, .*spectrum\/slq, train\/sgd, validate\/dense\n$/,
  );
});

test('every pipelines/*.yaml starts with the editor-schema line, its path relative to the file', () => {
  const files = readdirSync(join(repoRoot, 'pipelines')).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.includes('minimal.yaml') && files.includes('mnist-mlp.yaml'));
  for (const f of files) {
    const text = readFileSync(join(repoRoot, 'pipelines', f), 'utf8');
    const m = EDITOR_LINE.exec(text);
    assert.ok(m !== null, `${f}: first line ${JSON.stringify(text.split('\n')[0])}`);
    assert.equal(m[1], '../schemas/pipeline.editor.schema.json', f);
    assert.ok(existsSync(resolve(repoRoot, 'pipelines', m[1])), f);
  }
});

test('specpipe init writes a commented starter pipeline that validates, and never overwrites a file', async () => {
  const work = join(dir, 'init');
  mkdirSync(join(work, 'sub'), { recursive: true });
  const r = await cli(['init'], work);
  assert.deepEqual(r, {
    code: 0,
    stdout: 'wrote pipeline.yaml (template minimal); next: specpipe validate pipeline.yaml && specpipe run pipeline.yaml\n',
    stderr: '',
  });
  const text = readFileSync(join(work, 'pipeline.yaml'), 'utf8');
  const minimal = readFileSync(join(repoRoot, 'pipelines', 'minimal.yaml'), 'utf8');
  assert.equal(text.replace(EDITOR_LINE, ''), minimal.replace(EDITOR_LINE, ''), 'the minimal template below its first line');
  const schemaPath = EDITOR_LINE.exec(text)![1]!;
  assert.equal(resolve(work, schemaPath), resolve(repoRoot, 'schemas', 'pipeline.editor.schema.json'));
  assert.ok((text.match(/^\s*#/gm) ?? []).length >= 8, 'commented');

  const again = await cli(['init'], work);
  assert.deepEqual(again, {
    code: 1,
    stdout: '',
    stderr: 'specpipe init: pipeline.yaml already exists; init never overwrites a file (remove it or name another FILE)\n',
  });
  assert.equal(readFileSync(join(work, 'pipeline.yaml'), 'utf8'), text, 'unchanged');

  const paper = await cli(['init', '--template', 'paper', 'sub/paper.yaml'], work);
  assert.equal(paper.code, 0, paper.stderr);
  const paperText = readFileSync(join(work, 'sub', 'paper.yaml'), 'utf8');
  assert.equal(
    resolve(work, 'sub', EDITOR_LINE.exec(paperText)![1]!),
    resolve(repoRoot, 'schemas', 'pipeline.editor.schema.json'),
  );

  const v = await runCli(['validate', 'pipeline.yaml', 'sub/paper.yaml'], { cwd: work });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, 'pipeline.yaml: ok (3 stages, 3 instances)\nsub/paper.yaml: ok (17 stages, 124 instances)\n');

  const bad = await cli(['init', '--template', 'huge', 'x.yaml'], work);
  assert.deepEqual(bad, {
    code: 2,
    stdout: '',
    stderr: 'specpipe init: --template: expected minimal or paper, received "huge"\n',
  });
  assert.ok(!existsSync(join(work, 'x.yaml')));
});
