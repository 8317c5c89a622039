import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { PipelineError } from '../../pipeline/diagnostic.js';
import { preparePlan } from '../../pipeline/preparePlan.js';

/** `specpipe validate FILE… [--set …] [--json]`: schema, references, cycles, per-instance params. */
export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { set: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  });
  if (positionals.length === 0)
    throw new SpecpipeError('bad-args', 'usage: specpipe validate FILE… [--set STAGE.with.PARAM=VALUE] [--json]', 2);
  let bad = 0;
  const report: unknown[] = [];
  for (const file of positionals) {
    try {
      const { plan } = await preparePlan(file, values.set ?? [], { resolveBackend: false });
      const stages = new Set(plan.nodes.map((n) => n.stage)).size;
      report.push({ file, ok: true, stages, instances: plan.nodes.length });
      if (values.json !== true) process.stdout.write(`${file}: ok (${stages} stages, ${plan.nodes.length} instances)\n`);
    } catch (e) {
      if (!(e instanceof PipelineError)) throw e;
      bad++;
      report.push({ file, ok: false, reason: e.reason, diagnostics: e.diagnostics });
      if (values.json !== true) process.stderr.write(e.message + '\n');
    }
  }
  if (values.json === true) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return bad === 0 ? 0 : 1;
}
