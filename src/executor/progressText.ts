import type { StageProgress } from '../stages/registry.js';

/**
 * A formatter of one stage instance's sub-progress lines, "unit done/total note ETA s". The rate is
 * measured from the first report on, so the stage's setup (loading data, starting workers) does not
 * inflate the ETA, and no ETA is shown before two reports give a rate.
 */
export function progressFormatter(clock: () => number = () => performance.now()): (p: StageProgress) => string {
  let first: { readonly at: number; readonly done: number } | undefined;
  return (p) => {
    const now = clock();
    if (first === undefined || p.done < first.done) first = { at: now, done: p.done };
    const seconds = (now - first.at) / 1000;
    const rate = seconds > 0 ? (p.done - first.done) / seconds : 0;
    const eta = rate > 0 && p.done < p.total ? ` ETA ${Math.round((p.total - p.done) / rate)} s` : '';
    return `${p.unit ?? 'step'} ${p.done}/${p.total}${p.note !== undefined ? ` ${p.note}` : ''}${eta}`;
  };
}
