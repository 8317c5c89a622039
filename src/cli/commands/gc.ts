import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import { SpecpipeError } from '../../util/errors.js';
import { ArtifactStore } from '../../store/artifactStore.js';
import { defaultRunsDir, listRunIds, readRunRecord } from '../../store/runRecord.js';
import { leasedKeys } from '../../store/lease.js';
import { pinnedRuns } from '../../store/runPins.js';
import { runsToKeep, type RetentionReason } from '../../store/runRetention.js';

/** "500M", "2G", "1024" (bytes) → bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (m === null) throw new SpecpipeError('bad-args', `--max-size expects a size like 500M or 2G, received "${s}"`, 2);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** "7d", "12h", "30m", "45s" → milliseconds. */
export function parseAge(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(s.trim());
  if (m === null) throw new SpecpipeError('bad-args', `--max-age expects a duration like 7d, 12h or 30m, received "${s}"`, 2);
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export interface GcPlan {
  readonly kept: number;
  /** The runs whose artifacts were kept, and why (recent | recent-failed | pinned). */
  readonly keptRuns: Record<string, RetentionReason>;
  readonly removed: { key: string; bytes: number; instance: string }[];
  readonly freedBytes: number;
  readonly sweptEntries: number;
  /** Artifacts gc would have removed but left alone: a running run holds a lease on them. */
  readonly leased: number;
}

/**
 * Artifacts referenced by the runs `runsToKeep` keeps are always kept: the last `keepRuns` successful
 * runs of each pipeline (failed and interrupted runs since then ride along without counting) and the
 * pinned runs. The others are removed:
 * all of them by default; with `maxAgeMs`, those older than it; with `maxBytes`, the oldest until
 * the store fits (both: either rule). Artifacts being written (locked) and artifacts a running run
 * reads or writes (leased, see store/lease.ts) are never touched.
 */
export function collectGarbage(
  store: ArtifactStore,
  runsDir: string,
  options: {
    keepRuns: number;
    maxBytes?: number;
    maxAgeMs?: number;
    dryRun?: boolean;
    /** Called under a doomed key's lock, after the lease check found it free, just before it goes (a seam for tests). */
    beforeDiscard?: (key: string) => void;
  },
): GcPlan {
  const records = listRunIds(runsDir).map((id) => readRunRecord(runsDir, id));
  const keptRuns = runsToKeep(records, options.keepRuns, pinnedRuns(runsDir));
  const referenced = new Set<string>();
  for (const r of records) if (keptRuns.has(r.run)) for (const s of r.stages) referenced.add(s.key);
  const entries = store.keys().map((key) => {
    let mtime = 0;
    try {
      mtime = statSync(store.dir(key)).mtimeMs;
    } catch {
      /* vanished */
    }
    return { key, bytes: store.sizeOf(key), mtime, instance: store.readManifest(key)?.instance ?? '(no manifest)' };
  });
  const leasedAtStart = leasedKeys(store.root);
  let leased = entries.filter((e) => !referenced.has(e.key) && leasedAtStart.has(e.key)).length;
  const candidates = entries.filter((e) => !referenced.has(e.key) && !leasedAtStart.has(e.key)).sort((a, b) => a.mtime - b.mtime);
  let total = entries.reduce((s, e) => s + e.bytes, 0);
  const doomed = new Set<string>();
  if (options.maxBytes === undefined && options.maxAgeMs === undefined) for (const c of candidates) doomed.add(c.key);
  if (options.maxAgeMs !== undefined) for (const c of candidates) if (Date.now() - c.mtime > options.maxAgeMs) doomed.add(c.key);
  for (const c of candidates) if (doomed.has(c.key)) total -= c.bytes;
  if (options.maxBytes !== undefined) {
    for (const c of candidates) {
      if (total <= options.maxBytes) break;
      if (doomed.has(c.key)) continue;
      doomed.add(c.key);
      total -= c.bytes;
    }
  }
  const removed: GcPlan['removed'] = [];
  for (const c of candidates) {
    if (!doomed.has(c.key)) continue;
    if (options.dryRun === true) {
      removed.push(c);
      continue;
    }
    const lock = store.tryLock(c.key, 'gc');
    if (lock === undefined) continue;
    try {
      // A run leases a key before it checks it, and checks only unlocked keys (ArtifactStore.verifyUnlocked):
      // a lease written after this look belongs to a run that will find the key locked, then gone.
      if (leasedKeys(store.root).has(c.key)) {
        leased++;
        continue;
      }
      options.beforeDiscard?.(c.key);
      store.discard(c.key);
      removed.push(c);
    } finally {
      lock.release();
    }
  }
  const sweptEntries = options.dryRun === true ? 0 : store.sweep();
  return {
    kept: entries.length - removed.length,
    keptRuns: Object.fromEntries(keptRuns),
    removed,
    freedBytes: removed.reduce((s, r) => s + r.bytes, 0),
    sweptEntries,
    leased,
  };
}

/** `specpipe gc [--keep-runs K] [--max-size SIZE] [--max-age AGE] [--dry-run]`. */
export async function gcCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string' },
      runs: { type: 'string' },
      'keep-runs': { type: 'string' },
      'max-size': { type: 'string' },
      'max-age': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const storePath = values.store ?? 'artifacts';
  const runsDir = values.runs ?? defaultRunsDir(storePath);
  const keepRuns = values['keep-runs'] === undefined ? 10 : Number(values['keep-runs']);
  if (!Number.isInteger(keepRuns) || keepRuns < 0)
    throw new SpecpipeError('bad-args', `--keep-runs must be a non-negative integer, received "${values['keep-runs']}"`, 2);
  const plan = collectGarbage(new ArtifactStore(storePath), runsDir, {
    keepRuns,
    ...(values['max-size'] !== undefined ? { maxBytes: parseSize(values['max-size']) } : {}),
    ...(values['max-age'] !== undefined ? { maxAgeMs: parseAge(values['max-age']) } : {}),
    dryRun: values['dry-run'] === true,
  });
  const pinned = Object.values(plan.keptRuns).filter((r) => r === 'pinned').length;
  if (values.json === true) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
  else {
    for (const r of plan.removed)
      process.stdout.write(
        `${values['dry-run'] === true ? 'would remove' : 'removed'} ${r.key.slice(0, 12)} ${r.instance} (${r.bytes} B)\n`,
      );
    process.stdout.write(
      `${plan.removed.length} artifacts ${values['dry-run'] === true ? 'to remove' : 'removed'} (${(plan.freedBytes / 1048576).toFixed(1)} MiB), ${plan.kept} kept (referenced by the last ${keepRuns} successful runs of each pipeline, ${pinned} pinned run${pinned === 1 ? '' : 's'}, or within limits); ${plan.leased} skipped (in use by a running run); ${plan.sweptEntries} temp/lock entries cleaned\n`,
    );
  }
  return 0;
}
