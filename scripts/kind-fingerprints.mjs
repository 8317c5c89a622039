// Rewrites src/stages/kindVersions.json: each built-in stage kind's version and implementation
// fingerprint (src/stages/kindFingerprint.ts). Run after bumping a kind's version: npm run kinds:fingerprint
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const { BUILTIN_STAGE_KINDS } = await import(join(root, 'dist/src/stages/builtin.js'));
const { kindFingerprint } = await import(join(root, 'dist/src/stages/kindFingerprint.js'));
const table = {};
for (const k of [...BUILTIN_STAGE_KINDS].sort((a, b) => a.kind.localeCompare(b.kind)))
  table[k.kind] = { version: k.version, fingerprint: kindFingerprint(join(root, 'src'), k.kind).fingerprint };
writeFileSync(join(root, 'src/stages/kindVersions.json'), JSON.stringify(table, null, 2) + '\n');
console.log(`wrote src/stages/kindVersions.json (${Object.keys(table).length} kinds)`);
