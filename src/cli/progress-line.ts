import type { Palette } from './output.ts';

/**
 * The progress line `autoloop run` keeps at the bottom of a terminal:
 * `[10/20] 9 ok 1 failed 2 running` (finished of planned: succeeded, failed
 * and skipped; then the tallies and what is still running),
 * rewritten in place with `\r`. Item lines are printed above it: call
 * {@link ProgressLine.above} to print one without tearing the line.
 */
export class ProgressLine {
  readonly #write: (text: string) => void;
  readonly #style: Palette;
  #planned = 0;
  #ok = 0;
  #failed = 0;
  #skipped = 0;
  readonly #running = new Set<string>();
  #visible = false;

  constructor(write: (text: string) => void, style: Palette) {
    this.#write = write;
    this.#style = style;
  }

  /** Items handed to the cycle (planned, or adopted from the queue). */
  planned(count: number): void {
    this.#planned += count;
    this.render();
  }

  started(key: string): void {
    this.#running.add(key);
    this.render();
  }

  finished(key: string, outcome: 'ok' | 'failed' | 'skipped'): void {
    this.#running.delete(key);
    if (outcome === 'ok') this.#ok++;
    else if (outcome === 'failed') this.#failed++;
    else this.#skipped++;
    this.render();
  }

  /** The line's text, without control characters. */
  text(): string {
    const s = this.#style;
    const done = this.#ok + this.#failed + this.#skipped;
    // Items adopted from the queue after the count may make more than planned.
    const total = Math.max(this.#planned, done + this.#running.size);
    const parts = [`[${done}/${total}]`, s.green(`${this.#ok} ok`)];
    parts.push(this.#failed > 0 ? s.red(`${this.#failed} failed`) : `${this.#failed} failed`);
    if (this.#skipped > 0) parts.push(s.yellow(`${this.#skipped} skipped`));
    parts.push(`${this.#running.size} running`);
    return parts.join(' ');
  }

  render(): void {
    this.#write(`\r\u001b[K${this.text()}`);
    this.#visible = true;
  }

  /** Prints `print`'s output above the progress line, then redraws it. */
  above(print: () => void): void {
    this.clear();
    print();
    this.render();
  }

  /** Erases the line (before the final summary). */
  clear(): void {
    if (this.#visible) this.#write('\r\u001b[K');
    this.#visible = false;
  }
}
