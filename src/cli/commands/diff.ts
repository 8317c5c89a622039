import { SpecpipeError } from '../../util/errors.js';

/** `specpipe diff` — not implemented yet. */
export async function diffCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe diff is not implemented yet');
}
