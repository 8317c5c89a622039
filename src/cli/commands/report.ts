import { SpecpipeError } from '../../util/errors.js';

/** `specpipe report` — not implemented yet. */
export async function reportCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe report is not implemented yet');
}
