/**
 * One alert's state (one rule and one label set), as a discriminated union
 * with one function per kind of evaluation result. Prometheus' semantics:
 *
 * | state    | condition holds                                   | condition clear (or no data)   |
 * | -------- | ------------------------------------------------- | ------------------------------ |
 * | inactive | `for` = 0: firing (emit firing); else pending     | inactive                       |
 * | pending  | held for `for`: firing (emit firing); else stays  | inactive (never fired, silent) |
 * | firing   | firing                                            | resolved (emit resolved)       |
 * | resolved | as inactive: a new activation                     | resolved                       |
 *
 * Times are the evaluator's clock (epoch ms). A series that disappears
 * (no data, a ratio's denominator 0) counts as the condition being clear.
 */
export type AlertState =
  | { readonly kind: 'inactive' }
  | { readonly kind: 'pending'; readonly activeAt: number }
  | { readonly kind: 'firing'; readonly activeAt: number; readonly firedAt: number }
  | { readonly kind: 'resolved'; readonly activeAt: number; readonly firedAt: number; readonly resolvedAt: number };

/** What an evaluation did: the next state and whether to notify. */
export interface Step {
  readonly state: AlertState;
  readonly emit: 'firing' | 'resolved' | null;
}

export const INACTIVE: AlertState = Object.freeze({ kind: 'inactive' });

/** The condition held at `now`. */
export function conditionHeld(state: AlertState, now: number, forMs: number): Step {
  switch (state.kind) {
    case 'inactive':
    case 'resolved':
      return forMs <= 0 ? fire(now, now) : { state: { kind: 'pending', activeAt: now }, emit: null };
    case 'pending':
      return now - state.activeAt >= forMs ? fire(state.activeAt, now) : { state, emit: null };
    case 'firing':
      return { state, emit: null };
  }
}

/** The condition did not hold at `now`, or there was no value. */
export function conditionCleared(state: AlertState, now: number): Step {
  switch (state.kind) {
    case 'inactive':
    case 'resolved':
      return { state, emit: null };
    case 'pending':
      return { state: INACTIVE, emit: null };
    case 'firing':
      return {
        state: { kind: 'resolved', activeAt: state.activeAt, firedAt: state.firedAt, resolvedAt: now },
        emit: 'resolved',
      };
  }
}

function fire(activeAt: number, now: number): Step {
  return { state: { kind: 'firing', activeAt, firedAt: now }, emit: 'firing' };
}
