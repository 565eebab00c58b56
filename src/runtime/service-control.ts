import { AutoloopError } from '../core/errors.ts';

/**
 * The supervised services as a controller sees them: how many instances
 * each runs, and a way to change that at run time. Given to recipes as
 * `context.services` (the decide recipe's `scale_service` effector), so a
 * YAML-only config can scale its own services.
 *
 * Deliberately left out: starting, stopping and restarting (the admin
 * routes' job), and anything about processes. A scale holds until the
 * daemon restarts; the config's `instances` is the count at start.
 */
export interface ServiceControl {
  /** The services in config order; empty when this runtime supervises none. */
  names(): readonly string[];
  /** How many instances `service` runs now. Throws an `AutoloopError` naming the services for an unknown one. */
  instances(service: string): number;
  /**
   * Runs `count` instances of `service`: new ones get the next indexes and
   * start at once (the promise does not wait for them to be ready); the
   * highest indexes are stopped (the service's stop signal, then SIGKILL
   * at its kill timeout) and the promise resolves once their groups are
   * gone. Scales of one service run one after another. Rejects with a
   * RangeError for a count that is not an integer in [1, 64], and with an
   * `AutoloopError` for an unknown service or before the services started.
   */
  scale(service: string, count: number): Promise<void>;
}

/** The control of a runtime without supervised services. */
export const NO_SERVICES: ServiceControl = {
  names: () => [],
  instances: (service) => {
    throw new AutoloopError(`no supervised service "${service}": this runtime runs no services`);
  },
  scale: (service) =>
    Promise.reject(new AutoloopError(`no supervised service "${service}": this runtime runs no services`)),
};
