import { SpecpipeError } from '../util/errors.js';
import type { StageContext, UpstreamArtifact } from './registry.js';

/** What a stage can read: its `needs` artifacts, then its gathered ones, then their ancestors, nearest first. */
export function visibleArtifacts(ctx: StageContext<unknown>): UpstreamArtifact[] {
  return [...Object.values(ctx.needs), ...Object.values(ctx.gathered).flat(), ...ctx.ancestors];
}

/** The nearest visible artifact of a kind (or of a kind group when `kind` ends in "/"). */
export function findArtifact(ctx: StageContext<unknown>, kind: string): UpstreamArtifact | undefined {
  const match = kind.endsWith('/') ? (a: UpstreamArtifact) => a.kind.startsWith(kind) : (a: UpstreamArtifact) => a.kind === kind;
  return visibleArtifacts(ctx).find(match);
}

/** As `findArtifact`, or an error naming the stage instance, what it needs and how to provide it. */
export function requireArtifact(ctx: StageContext<unknown>, kind: string, hint: string): UpstreamArtifact {
  const a = findArtifact(ctx, kind);
  if (a !== undefined) return a;
  const seen = visibleArtifacts(ctx).map((u) => `${u.name} (${u.kind})`);
  throw new SpecpipeError(
    'missing-upstream',
    `${ctx.instance.name}: needs a ${kind.endsWith('/') ? `${kind}*` : kind} stage upstream (among its needs or their ancestors); ${hint} (upstream: ${seen.join(', ') || 'none'})`,
  );
}
