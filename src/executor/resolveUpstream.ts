import { SpecpipeError } from '../util/errors.js';
import type { ArtifactStore, VerifyMode } from '../store/artifactStore.js';
import type { Manifest } from '../store/manifest.js';
import type { PlanUpstream } from '../pipeline/plan.js';
import type { UpstreamArtifact } from '../stages/registry.js';

function asArtifact(store: ArtifactStore, key: string, m: Manifest, at: Omit<PlanUpstream, 'key'> | undefined): UpstreamArtifact {
  return {
    stage: at?.stage ?? m.stage,
    name: at?.name ?? m.instance,
    kind: at?.kind ?? m.kind,
    key,
    matrix: at?.matrix ?? m.matrix,
    coords: at?.coords ?? m.coords,
    params: m.params,
    dir: store.dir(key),
    manifest: m,
  };
}

/** A plan node's upstream instance, verified in the store (a missing or corrupt one is an error naming it). */
export function upstreamArtifact(store: ArtifactStore, u: PlanUpstream, verify: VerifyMode, of: string): UpstreamArtifact {
  const v = store.verify(u.key, verify);
  if (!v.ok) {
    throw new SpecpipeError(
      'upstream-missing',
      `${of}: upstream artifact ${u.name} (${u.key.slice(0, 12)}) is not usable: ${v.reason}`,
    );
  }
  return asArtifact(store, u.key, v.manifest, u);
}

function upstreamKeys(m: Manifest): string[] {
  return Object.values(m.upstream).flatMap((k) => (typeof k === 'string' ? [k] : Object.values(k)));
}

/**
 * Every ancestor of `direct` (their upstream keys as recorded in their verified manifests, then
 * theirs, …), breadth first so the nearest come first, each verified through the store. The keys
 * were hashed into the direct artifacts' keys, so this is exactly the plan's lineage.
 */
export function ancestorArtifacts(
  store: ArtifactStore,
  direct: readonly UpstreamArtifact[],
  verify: VerifyMode,
  of: string,
): UpstreamArtifact[] {
  const seen = new Set(direct.map((a) => a.key));
  const out: UpstreamArtifact[] = [];
  let frontier = direct.flatMap((a) => upstreamKeys(a.manifest));
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const key of frontier) {
      if (seen.has(key)) continue;
      seen.add(key);
      const v = store.verify(key, verify);
      if (!v.ok)
        throw new SpecpipeError('upstream-missing', `${of}: ancestor artifact ${key.slice(0, 12)} is not usable: ${v.reason}`);
      out.push(asArtifact(store, key, v.manifest, undefined));
      next.push(...upstreamKeys(v.manifest));
    }
    frontier = next;
  }
  return out;
}
