import { SpecpipeError } from '../../util/errors.js';

/** `specpipe worker` — not implemented yet. */
export async function workerCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe worker is not implemented yet');
}
