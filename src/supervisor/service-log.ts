import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { LogSpec } from './service-spec.ts';

/** Where instance `index` of a service logs: the spec's file for 0, `<name>-<index>.log` beside it for the others. */
export function instanceLogFile(spec: LogSpec, index: number): string {
  if (index === 0) return spec.file;
  const name = basename(spec.file).replace(/(\.log)?$/, `-${index}$1`);
  return join(dirname(spec.file), name);
}

/**
 * A service instance's stdout and stderr, as written, in one file rotated
 * by size and, with `interval`, by age (rotating-file-stream: `<file>.1`,
 * `<file>.2`, … keeping `keep`).
 * Rotation is built in, not a separate module as with pm2-logrotate.
 */
export class ServiceLog {
  readonly file: string;
  readonly #stream: RotatingFileStream;
  #failed = false;

  constructor(spec: LogSpec, index: number, onError: (error: Error) => void) {
    this.file = instanceLogFile(spec, index);
    mkdirSync(dirname(this.file), { recursive: true });
    this.#stream = createStream(basename(this.file), {
      path: dirname(this.file),
      size: spec.size,
      rotate: spec.keep,
      ...(spec.interval && { interval: spec.interval }),
    });
    this.#stream.on('error', (error: Error) => {
      if (this.#failed) return;
      this.#failed = true;
      onError(error);
    });
  }

  write(chunk: Buffer): void {
    if (!this.#failed && !this.#stream.destroyed) this.#stream.write(chunk);
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    if (this.#stream.destroyed || this.#stream.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      this.#stream.once('finish', () => resolve());
      this.#stream.once('error', () => resolve());
      this.#stream.end();
    });
  }
}
