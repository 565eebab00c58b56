/**
 * What a decide loop remembers from cycle to cycle, kept in the store as
 * document `decide/<loop>/state` so a restart (or another instance taking
 * the loop over) goes on where the last cycle stopped:
 *
 * - `windows`: each target's last `window` samples (the trend the
 *   confidence is computed over);
 * - `verifying`: executed decisions waiting for their verification, with
 *   the change to undo and when they are due;
 * - `held`: targets held after a rollback, until when;
 * - `lastExecuted`: when a decision last executed on each target
 *   (anti-flap `minInterval`);
 * - `history`: each target's score per cycle (the panel's chart);
 * - `applied`: the changes decide made that are in force, per knob (a
 *   loop's concurrency or pause, a dependency's rate, a service's
 *   instances). A runtime starts those from the config, so at the first
 *   cycle after a start these are set again
 *   ({@link DecideMemory.reapply}): the decision being verified is then
 *   judged on the state it made, and a verified one keeps holding.
 *
 * Written after every change (once or twice a cycle); read once per
 * process, at the loop's first cycle (or by `decide analyze`, read only).
 * A document of another shape (an older release) is ignored with a warning.
 */
import type { Logger } from '../../core/logger.ts';
import type { Store } from '../../storage/store.ts';
import type { DecisionRecord } from './decide-loop.ts';
import type { Sample } from './decision-rules.ts';
import { type Change, type EffectTargets, isKnobChange, knobOf, setAgain } from './effectors.ts';
import type { HealthState } from './health-score.ts';

/** An executed decision waiting for its verification. */
export interface PendingVerification {
  readonly record: DecisionRecord;
  readonly change: Change;
  readonly dueAt: number;
}

export interface HistoryPoint {
  readonly target: string;
  readonly at: number;
  readonly score: number;
  readonly state: HealthState;
}

interface Saved {
  readonly version: 1;
  readonly windows: Record<string, Sample[]>;
  readonly verifying: PendingVerification[];
  readonly held: Record<string, number>;
  readonly lastExecuted: Record<string, number>;
  readonly history: HistoryPoint[];
  readonly applied: Record<string, Change>;
}

/** The store namespace of the recipe's documents (`<loop>/state`: this memory; `<loop>/latest`: the last analysis). */
export const NAMESPACE = 'decide';

/** Score points kept per target for the panel. */
export const HISTORY = 60;

/** One decide loop's memory (see the header). */
export class DecideMemory {
  readonly windows = new Map<string, Sample[]>();
  verifying: PendingVerification[] = [];
  readonly held = new Map<string, number>();
  readonly lastExecuted = new Map<string, number>();
  readonly history: HistoryPoint[] = [];
  readonly #applied = new Map<string, Change>();
  readonly #key: string;
  #loaded = false;

  constructor(loop: string) {
    this.#key = `${loop}/state`;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Reads the stored memory (once; later calls do nothing). True when there was one. */
  async load(store: Store, logger: Logger): Promise<boolean> {
    if (this.#loaded) return false;
    this.#loaded = true;
    const doc = await store.documents.get(NAMESPACE, this.#key);
    const saved = doc?.value as Partial<Saved> | undefined;
    if (!saved) return false;
    if (saved.version !== 1) {
      logger.warn({ key: this.#key }, `decide: ignored the stored state ${this.#key} of version ${saved.version}`);
      return false;
    }
    for (const [t, w] of Object.entries(saved.windows ?? {})) this.windows.set(t, w);
    this.verifying = [...(saved.verifying ?? [])];
    for (const [t, until] of Object.entries(saved.held ?? {})) this.held.set(t, until);
    for (const [t, at] of Object.entries(saved.lastExecuted ?? {})) this.lastExecuted.set(t, at);
    this.history.push(...(saved.history ?? []));
    for (const [k, c] of Object.entries(saved.applied ?? {})) this.#applied.set(k, c);
    return true;
  }

  async save(store: Store, now: number): Promise<void> {
    const saved: Saved = {
      version: 1,
      windows: Object.fromEntries(this.windows),
      verifying: this.verifying,
      held: Object.fromEntries(this.held),
      lastExecuted: Object.fromEntries(this.lastExecuted),
      history: this.history,
      applied: Object.fromEntries(this.#applied),
    };
    await store.documents.put(NAMESPACE, this.#key, saved, { now });
  }

  /** Records a change decide made (or undid) as the one in force for its knob (a loop's concurrency or pause, a dependency's rate, a service's instances). */
  changed(change: Change): void {
    if (isKnobChange(change)) this.#applied.set(knobOf(change), change);
  }

  /** Appends this cycle's scores, keeping {@link HISTORY} per target. */
  scored(points: readonly HistoryPoint[], targets: number): void {
    this.history.push(...points);
    const keep = HISTORY * Math.max(1, targets);
    if (this.history.length > keep) this.history.splice(0, this.history.length - keep);
  }

  /**
   * Sets the changes in force again (after a start, the loops, limiters and
   * services run their config's values). Returns what it set, in words; a
   * target the runtime no longer has is forgotten.
   */
  async reapply(targets: EffectTargets): Promise<string[]> {
    const done: string[] = [];
    for (const [key, change] of this.#applied) {
      if (!isKnobChange(change)) continue;
      const r = await setAgain(change, targets);
      if (r.kind === 'gone') this.#applied.delete(key);
      else if (r.kind === 'set') done.push(r.words);
    }
    return done;
  }
}
