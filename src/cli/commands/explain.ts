import { SpecpipeError } from '../../util/errors.js';

/** `specpipe explain` — not implemented yet. */
export async function explainCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe explain is not implemented yet');
}
