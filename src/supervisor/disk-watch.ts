import { statfsSync } from 'node:fs';
import type { DiskSpec, DiskThreshold } from './service-spec.ts';

/** Free and total bytes of a filesystem (what an unprivileged process may use: `bavail`). */
export interface DiskSpace {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export type DiskLevel = 'ok' | 'warning' | 'critical';

/** The filesystem holding `path`. Throws when the path does not exist or cannot be read. */
export function diskSpace(path: string): DiskSpace {
  const stats = statfsSync(path);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
}

/** A threshold in bytes on a filesystem of `totalBytes`. */
export function thresholdBytes(threshold: DiskThreshold, totalBytes: number): number {
  return 'bytes' in threshold ? threshold.bytes : Math.round((totalBytes * threshold.percent) / 100);
}

/**
 * The disk watch of one service (`services.<name>.disk`): each reading of
 * the watched path's filesystem puts it at a level, `critical` (free below
 * `criticalBelow`), `warning` (below `warnBelow`) or `ok`, and
 * {@link check} returns the level only when it changed, so the supervisor
 * emits one event per change, not one per sample.
 *
 * @example
 * const watch = new DiskWatch(spec.disk);
 * const changed = watch.check(diskSpace(spec.disk.path)); // 'warning' once free space fell below warnBelow
 */
export class DiskWatch {
  readonly spec: DiskSpec;
  #level: DiskLevel = 'ok';
  #last: DiskSpace | null = null;

  constructor(spec: DiskSpec) {
    this.spec = spec;
  }

  get level(): DiskLevel {
    return this.#level;
  }

  /** The last reading, or null before the first. */
  get last(): DiskSpace | null {
    return this.#last;
  }

  /** The threshold (bytes) of the current level, or of `warnBelow` (else `criticalBelow`) when ok. */
  threshold(space: DiskSpace): number {
    const { warnBelow, criticalBelow } = this.spec;
    const t = this.#level === 'critical' ? criticalBelow : (warnBelow ?? criticalBelow);
    return t ? thresholdBytes(t, space.totalBytes) : 0;
  }

  /** Takes one reading; returns the new level when it differs from the last one, else null. */
  check(space: DiskSpace): DiskLevel | null {
    this.#last = space;
    const below = (t: DiskThreshold | null) => t !== null && space.freeBytes < thresholdBytes(t, space.totalBytes);
    const level: DiskLevel = below(this.spec.criticalBelow)
      ? 'critical'
      : below(this.spec.warnBelow)
        ? 'warning'
        : 'ok';
    if (level === this.#level) return null;
    this.#level = level;
    return level;
  }
}
