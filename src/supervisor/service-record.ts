import type { Store } from '../storage/store.ts';
import type { ExitRecord } from './service-instance.ts';

/** The store namespace of service state: one document per host, service and instance. */
export const SERVICES_NAMESPACE = 'services';

/**
 * What the store keeps of one service instance (`store.documents`,
 * namespace `services`, key `<host>/<service>/<instance>`): enough for the
 * next supervisor on this host to find the process group a killed
 * supervisor left behind, and to carry on the restart count and backoff.
 */
export interface InstanceRecord {
  readonly service: string;
  readonly instance: number;
  /** The machine it runs on: a supervisor only ever stops groups recorded on its own host. */
  readonly host: string;
  readonly supervisorPid: number;
  readonly state: string;
  /** The group leader, whose pid is the group id; null when nothing runs. */
  readonly pid: number | null;
  readonly pgid: number | null;
  /** The leader's start time in clock ticks since boot: tells our process from a later one that got its pid. */
  readonly startTicks: number | null;
  /** Epoch ms. */
  readonly startedAt: number | null;
  readonly restarts: number;
  /** Backoff position. */
  readonly attempt: number;
  readonly failing: boolean;
  readonly lastExit: ExitRecord | null;
}

export function recordKey(host: string, service: string, instance: number): string {
  return `${host}/${service}/${instance}`;
}

/**
 * Writes records one at a time per key, the newest winning: a write that
 * comes while one is in flight replaces any queued one, so a crash loop
 * never builds a queue of stale writes. Failures are reported, not thrown
 * (a store outage must not stop a service).
 */
export class RecordWriter {
  readonly #store: () => Store;
  readonly #now: () => number;
  readonly #onError: (error: unknown, key: string) => void;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #queued = new Map<string, InstanceRecord>();

  constructor(store: () => Store, now: () => number, onError: (error: unknown, key: string) => void) {
    this.#store = store;
    this.#now = now;
    this.#onError = onError;
  }

  write(record: InstanceRecord): void {
    const key = recordKey(record.host, record.service, record.instance);
    this.#queued.set(key, record);
    if (!this.#inFlight.has(key)) this.#drain(key);
  }

  /** Resolves once every queued write was attempted. */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight.values()]);
  }

  #drain(key: string): void {
    const record = this.#queued.get(key);
    if (!record) {
      this.#inFlight.delete(key);
      return;
    }
    this.#queued.delete(key);
    const write = this.#store()
      .documents.put(SERVICES_NAMESPACE, key, record, { now: this.#now() })
      .then(
        () => {},
        (error) => this.#onError(error, key),
      )
      .then(() => this.#drain(key));
    this.#inFlight.set(key, write);
  }
}
