/**
 * docs/results.md against the runs it cites (issue 13).
 *
 * 1. Generated blocks: every `<!-- paper-tables RUN_ID -->` … `<!-- /paper-tables -->` block (format in
 *    scripts/paper-tables.mjs) is re-printed by `node scripts/paper-tables.mjs RUN_ID --store S --runs R`
 *    and compared: each non-blank line of the block must be a line of the output, in the output's order (an
 *    ordered subset: a block may quote a few rows of a long table, but every row it quotes is verbatim, so a
 *    changed number, a reformatted row or a row from another run fails). Skipped, naming the run, when its
 *    record is in no runs folder given (CI: a clean clone has no runs).
 * 2. Run ids: with SPECPIPE_RESULTS_STORE set, every run id quoted anywhere (20YYMMDD-HHMMSS-mmm-xxxxxx, or
 *    abbreviated `…HHMMSS-mmm-xxxxxx`) has its record, and the numbers quoted beside it — "N instances",
 *    "N s in the engine" (or "N instances, M s"), and a table row's "instances" / "engine time" cells — equal
 *    the record's instance count (`stages.length`) and engine seconds (`seconds`, rounded as quoted).
 *
 * Stores: SPECPIPE_RESULTS_STORE (default artifacts/ of this checkout) and SPECPIPE_RESULTS_RUNS (default:
 * runs/ next to each store); several of each separated by ":" (";" on Windows), paired in order, e.g.
 *   SPECPIPE_RESULTS_STORE=/work/results-store:/work/paper-store SPECPIPE_RESULTS_RUNS=/work/runs:/work/paper-runs
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const RESULTS = join(repoRoot, 'docs', 'results.md');
const SCRIPT = join(repoRoot, 'scripts', 'paper-tables.mjs');

const RUN_ID = /\b20\d{6}-\d{6}-\d{3}-[0-9a-f]{6}\b/g;
/** An id abbreviated to its time and suffix: `…205711-973-b64b21`. */
const SHORT_ID = /…(\d{6}-\d{3}-[0-9a-f]{6})\b/g;

interface Marker {
  readonly run: string;
  /** 1-based line of the opening marker. */
  readonly line: number;
  readonly body: string;
}

/** The paper-tables blocks of a Markdown text; throws on an unclosed, nested or stray marker. */
function paperTablesBlocks(text: string): Marker[] {
  const lines = text.split('\n');
  const out: Marker[] = [];
  let open: { run: string; line: number; from: number } | undefined;
  lines.forEach((l, i) => {
    const start = /^<!-- paper-tables (\S+) -->\s*$/.exec(l);
    if (start !== null) {
      if (open !== undefined) throw new Error(`line ${i + 1}: paper-tables marker inside the block opened on line ${open.line}`);
      if (!new RegExp(`^${RUN_ID.source}$`).test(start[1]!))
        throw new Error(`line ${i + 1}: "${start[1]}" is not a run id (20YYMMDD-HHMMSS-mmm-xxxxxx)`);
      open = { run: start[1]!, line: i + 1, from: i + 1 };
    } else if (/^<!-- \/paper-tables -->\s*$/.test(l)) {
      if (open === undefined) throw new Error(`line ${i + 1}: <!-- /paper-tables --> without an opening marker`);
      out.push({ run: open.run, line: open.line, body: lines.slice(open.from, i).join('\n') });
      open = undefined;
    } else if (/<!--\s*\/?paper-tables/.test(l)) throw new Error(`line ${i + 1}: malformed paper-tables marker: ${l}`);
  });
  if (open !== undefined) throw new Error(`line ${open.line}: <!-- paper-tables ${open.run} --> is never closed`);
  return out;
}

/** The block's lines that are not lines of the output in order (empty: the block quotes the output). */
function unquotedLines(block: string, output: string): string[] {
  const have = output.split('\n');
  let at = 0;
  const missing: string[] = [];
  for (const l of block.split('\n').filter((x) => x.trim() !== '')) {
    const i = have.indexOf(l, at);
    if (i < 0) missing.push(l);
    else at = i + 1;
  }
  return missing;
}

/** A store and the folder of its run records. */
interface Store {
  readonly store: string;
  readonly runs: string;
}

function storesFromEnv(): { stores: Store[]; given: boolean } {
  const s = process.env['SPECPIPE_RESULTS_STORE'];
  const given = s !== undefined && s !== '';
  const stores = (given ? s : join(repoRoot, 'artifacts')).split(delimiter).map((p) => resolve(p));
  const r = process.env['SPECPIPE_RESULTS_RUNS'];
  const runs = r !== undefined && r !== '' ? r.split(delimiter).map((p) => resolve(p)) : stores.map((p) => join(dirname(p), 'runs'));
  if (runs.length !== stores.length)
    throw new Error(`SPECPIPE_RESULTS_RUNS names ${runs.length} folder(s) for ${stores.length} store(s) in SPECPIPE_RESULTS_STORE`);
  return { stores: stores.map((store, i) => ({ store, runs: runs[i]! })), given };
}

interface RunRecord {
  readonly run: string;
  readonly seconds?: number;
  readonly stages?: readonly unknown[];
}

class Records {
  readonly #stores: readonly Store[];
  readonly #ids: Map<string, Store>;
  constructor(stores: readonly Store[]) {
    this.#stores = stores;
    this.#ids = new Map();
    for (const s of stores)
      if (existsSync(s.runs))
        for (const f of readdirSync(s.runs)) if (f.endsWith('.json') && !this.#ids.has(f.slice(0, -5))) this.#ids.set(f.slice(0, -5), s);
  }
  /** The store holding a run's record. */
  storeOf(id: string): Store | undefined {
    return this.#ids.get(id);
  }
  /** The full ids ending with an abbreviation. */
  expand(short: string): string[] {
    return [...this.#ids.keys()].filter((id) => id.endsWith(`-${short}`));
  }
  record(id: string): RunRecord | undefined {
    const s = this.#ids.get(id);
    return s === undefined ? undefined : (JSON.parse(readFileSync(join(s.runs, `${id}.json`), 'utf8')) as RunRecord);
  }
  describe(): string {
    return this.#stores.map((s) => `${s.store} (records ${s.runs})`).join(', ');
  }
}

/** A paragraph, list item or table row of Markdown, with its table's header when it is a row. */
interface Block {
  readonly line: number;
  readonly text: string;
  readonly header?: readonly string[];
}

const cells = (row: string): string[] =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());

function markdownBlocks(text: string): Block[] {
  const out: Block[] = [];
  let para: { line: number; lines: string[] } | undefined;
  let header: string[] | undefined;
  let fence = false;
  const flush = (): void => {
    if (para !== undefined) out.push({ line: para.line, text: para.lines.join('\n') });
    para = undefined;
  };
  text.split('\n').forEach((l, i) => {
    if (/^\s*```/.test(l)) {
      flush();
      fence = !fence;
      return;
    }
    if (fence) return;
    if (/^\s*\|/.test(l)) {
      flush();
      if (header === undefined) header = cells(l);
      else if (!/^\s*\|[\s|:-]*$/.test(l)) out.push({ line: i + 1, text: l, header });
      return;
    }
    header = undefined;
    if (l.trim() === '' || /^#/.test(l)) return flush();
    if (/^\s*(?:[-*]|\d+\.)\s/.test(l)) flush();
    if (para === undefined) para = { line: i + 1, lines: [] };
    para.lines.push(l);
  });
  flush();
  return out;
}

const num = (s: string): number => Number(s.replace(/,/g, ''));
const decimals = (s: string): number => /\.(\d+)$/.exec(s)?.[1]?.length ?? 0;

/** The instance counts and engine seconds a block quotes (strings as written). */
function quotedNumbers(b: Block): { instances: string[]; seconds: string[] } {
  const N = String.raw`(\d[\d,]*(?:\.\d+)?)`;
  if (b.header !== undefined) {
    const row = cells(b.text);
    const col = (re: RegExp): string => row[b.header!.findIndex((h) => re.test(h))] ?? '';
    return {
      instances: [...col(/^instances$/).matchAll(new RegExp(`^${N}$`, 'g'))].map((m) => m[1]!),
      seconds: [...col(/engine/).matchAll(new RegExp(`${N} s\\b`, 'g'))].map((m) => m[1]!),
    };
  }
  return {
    instances: [...b.text.matchAll(new RegExp(`${N} instances\\b`, 'g'))].map((m) => m[1]!),
    // "987 s in the engine", or "124 instances, 682 s" (one number may match both: counted once, by position)
    seconds: [
      ...new Map(
        [new RegExp(`${N} s in the engine`, 'g'), new RegExp(`(?<=instances, )${N} s\\b`, 'g')]
          .flatMap((re) => [...b.text.matchAll(re)])
          .sort((x, y) => x.index! - y.index!)
          .map((m) => [m.index!, m[1]!]),
      ).values(),
    ],
  };
}

const { stores, given } = storesFromEnv();
const records = new Records(stores);
const results = readFileSync(RESULTS, 'utf8');

test('paper-tables markers in docs/results.md are well formed (unit: blocks, ordered subset)', () => {
  const doc = ['x', '<!-- paper-tables 20261205-213448-963-bfc852 -->', '| a | b |', '', '| 1 | 2 |', '<!-- /paper-tables -->'];
  assert.deepEqual(paperTablesBlocks(doc.join('\n')), [
    { run: '20261205-213448-963-bfc852', line: 2, body: '| a | b |\n\n| 1 | 2 |' },
  ]);
  assert.throws(() => paperTablesBlocks(doc.slice(0, 3).join('\n')), /line 2: .* is never closed/);
  assert.throws(() => paperTablesBlocks('<!-- paper-tables latest -->\n<!-- /paper-tables -->'), /"latest" is not a run id/);
  assert.throws(() => paperTablesBlocks('<!-- /paper-tables -->'), /without an opening marker/);
  assert.throws(() => paperTablesBlocks('<!--paper-tables 20261205-213448-963-bfc852-->'), /malformed/);
  const output = '## Run\n\n| h |\n|---|\n| r1 |\n| r2 |\n| r3 |';
  assert.deepEqual(unquotedLines('| h |\n|---|\n| r1 |\n| r3 |', output), []);
  assert.deepEqual(unquotedLines('| h |\n| r3 |\n| r1 |', output), ['| r1 |'], 'order kept');
  assert.deepEqual(unquotedLines('| h |\n| r2 (edited) |', output), ['| r2 (edited) |']);
  // The real document parses.
  paperTablesBlocks(results);
});

const markers = paperTablesBlocks(results);
for (const m of markers) {
  const store = records.storeOf(m.run);
  test(
    `docs/results.md line ${m.line}: the paper-tables block of run ${m.run} is its output`,
    { skip: store === undefined && `run ${m.run} is not in ${records.describe()}: set SPECPIPE_RESULTS_STORE / SPECPIPE_RESULTS_RUNS` },
    async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, m.run, '--store', store!.store, '--runs', store!.runs], {
        cwd: repoRoot,
        maxBuffer: 64 << 20,
      });
      assert.ok(m.body.split('\n').some((l) => l.startsWith('| ')), 'the block quotes at least one table row');
      assert.deepEqual(unquotedLines(m.body, stdout), [], `lines of the block not in \`node scripts/paper-tables.mjs ${m.run}\`, in order`);
    },
  );
}

test('quoted numbers next to run ids (unit: blocks and patterns)', () => {
  const doc = [
    '| what | run | instances | engine time |',
    '|---|---|---|---|',
    '| a | `x` | 1,366 | 1,057 s + 86.2 s |',
    '',
    '- item one, 12 instances (3 s in the engine)',
    '  continued, 124 instances, 682 s, one seed',
    '```sh',
    '99 instances',
    '```',
  ].join('\n');
  const blocks = markdownBlocks(doc);
  assert.deepEqual(
    blocks.map((b) => quotedNumbers(b)),
    [
      { instances: ['1,366'], seconds: ['1,057', '86.2'] },
      { instances: ['12', '124'], seconds: ['3', '682'] },
    ],
  );
});

test(
  'every run id in docs/results.md has its record, and the instances / engine seconds quoted beside it match',
  { skip: !given && 'SPECPIPE_RESULTS_STORE not set: the runs results.md cites are checked only against a given store' },
  (t) => {
    const missing = new Set<string>();
    const wrong: string[] = [];
    let checked = 0;
    for (const b of markdownBlocks(results)) {
      const ids: string[] = [];
      for (const m of b.text.matchAll(RUN_ID)) ids.push(m[0]);
      const full = ids.length;
      for (const m of b.text.matchAll(SHORT_ID)) {
        const e = records.expand(m[1]!);
        if (e.length === 1) ids.push(e[0]!);
        else missing.add(`…${m[1]} (line ${b.line}: ${e.length} records match)`);
      }
      for (const id of ids) if (records.storeOf(id) === undefined) missing.add(`${id} (line ${b.line})`);
      if (ids.length === 0) continue;
      const recs = ids.map((id) => records.record(id)).filter((r) => r !== undefined);
      const primary = full > 0 ? records.record(ids[0]!) : undefined;
      const q = quotedNumbers(b);
      for (const n of q.instances) {
        if (primary?.stages === undefined) continue;
        checked++;
        if (num(n) !== primary.stages.length)
          wrong.push(`line ${b.line}: ${n} instances, run ${primary.run} has ${primary.stages.length}`);
      }
      for (const s of q.seconds) {
        const withSeconds = recs.filter((r) => r.seconds !== undefined);
        if (withSeconds.length === 0) continue;
        checked++;
        const d = decimals(s);
        if (!withSeconds.some((r) => Number(r.seconds!.toFixed(d)) === num(s)))
          wrong.push(`line ${b.line}: ${s} s in the engine, runs ${withSeconds.map((r) => `${r.run} took ${r.seconds} s`).join(', ')}`);
      }
    }
    t.diagnostic(`${checked} quoted numbers checked against ${records.describe()}`);
    assert.deepEqual(
      [...[...missing].map((m) => `no record: ${m}`), ...wrong],
      [],
      `run ids without a record in ${records.describe()}, and numbers quoted beside a run id that differ from its record`,
    );
  },
);
