import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../../src/store/manifest.js';
import type { UpstreamArtifact } from '../../src/stages/registry.js';

/** A finished artifact directory as the typed readers (src/stages/<kind>/…Artifact.ts) take it. */
export function storedArtifact(dir: string): UpstreamArtifact {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return {
    stage: m.stage,
    name: m.instance,
    kind: m.kind,
    key: m.key,
    matrix: m.matrix,
    coords: m.coords,
    params: m.params,
    dir,
    manifest: m,
  };
}
