import { SpecpipeError } from '../util/errors.js';

/** Learning-rate schedules, applied per epoch (PyTorch `scheduler.step()` once per epoch). */
export type LrSchedule =
  /** η_e = η. */
  | { readonly kind: 'constant' }
  /** torch.optim.lr_scheduler.StepLR: η_e = η · γ^⌊e / stepSize⌋. */
  | { readonly kind: 'step'; readonly stepSize: number; readonly gamma: number }
  /** torch.optim.lr_scheduler.CosineAnnealingLR(T_max = epochs, eta_min): η_e = η_min + (η − η_min)(1 + cos(π e / E)) / 2. */
  | { readonly kind: 'cosine'; readonly minLr: number };

export const SCHEDULE_KINDS = ['constant', 'step', 'cosine'] as const;

/** Learning rate of epoch `epoch` (0-based) out of `epochs`. */
export function learningRate(baseLr: number, schedule: LrSchedule, epoch: number, epochs: number): number {
  switch (schedule.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * schedule.gamma ** Math.floor(epoch / schedule.stepSize);
    case 'cosine':
      return schedule.minLr + ((baseLr - schedule.minLr) * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
  }
}

/**
 * Schedule from CLI words: `constant`, `step` (γ = 0.1 every ⌈E/3⌉ epochs unless given: decays at 1/3 and 2/3 of
 * training, as in Papyan 2020's training recipe), `cosine` (η_min = 0).
 */
export function parseSchedule(kind: string, epochs: number, stepSize?: number, gamma?: number): LrSchedule {
  switch (kind) {
    case 'constant':
      return { kind: 'constant' };
    case 'step': {
      const s = stepSize ?? Math.max(1, Math.ceil(epochs / 3));
      if (!Number.isInteger(s) || s < 1)
        throw new SpecpipeError('bad-option', `--step-size must be a positive integer, received ${stepSize}`);
      const g = gamma ?? 0.1;
      if (!(g > 0)) throw new SpecpipeError('bad-option', `--gamma must be positive, received ${gamma}`);
      return { kind: 'step', stepSize: s, gamma: g };
    }
    case 'cosine':
      return { kind: 'cosine', minLr: 0 };
    default:
      throw new SpecpipeError('bad-option', `--schedule must be one of ${SCHEDULE_KINDS.join('|')}, received "${kind}"`);
  }
}
