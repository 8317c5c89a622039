import { SpecpipeError } from '../../util/errors.js';

/** `specpipe runs` — not implemented yet. */
export async function runsCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe runs is not implemented yet');
}
