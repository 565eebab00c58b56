import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { InventoryError, type InventoryObject } from './inventory.ts';
import { inventoryObjectOf, ListingInventory } from './listing-inventory.ts';

export interface CommandInventoryOptions {
  /** Passed to `/bin/sh -c`; prints one JSON object per line: `{"key": "a/b.json", "size": 123, "modifiedAt": "2024-03-01T10:00:00Z"}`. */
  readonly command: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Put before a key to say where a collector writes it (`{path}`): a directory or URL prefix. Default: none (the key itself). */
  readonly root: string;
}

/**
 * HAVE from a command of your own (a database query, an API listing, a
 * catalogue file): each line it prints is one object, `key`, `size` (bytes)
 * and `modifiedAt` (epoch ms or an ISO time). Exit 0 ends the listing; any
 * other exit, or a line that is not such an object, fails the scan, naming
 * the command and the line. `stat` and `probe` run the listing again (one
 * run per collection: fit for inventories a command lists in seconds).
 */
export class CommandInventory extends ListingInventory {
  readonly description: string;
  readonly #o: CommandInventoryOptions;

  constructor(options: CommandInventoryOptions) {
    super(options.root);
    this.#o = options;
    this.description = `command \`${options.command}\``;
  }

  protected list(signal: AbortSignal, add: (o: InventoryObject) => void): Promise<void> {
    signal.throwIfAborted();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.#o.env)) if (v !== undefined) env[k] = v;
    const child = spawn('/bin/sh', ['-c', this.#o.command], {
      cwd: this.#o.cwd,
      env,
      signal,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2_000);
    });
    let bad: InventoryError | null = null;
    let n = 0;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      n++;
      if (bad || line.trim() === '') return;
      const o = objectOf(line);
      if (o) add(o);
      else {
        bad = new InventoryError(
          `inventory ${this.description}: line ${n}: expected {"key": "...", "size": bytes, "modifiedAt": ms or ISO time}, got ${line.slice(0, 200)}`,
        );
        child.kill('SIGTERM');
      }
    });
    return new Promise((resolve, reject) => {
      child.on('error', (error) =>
        reject(signal.aborted ? signal.reason : new InventoryError(`inventory ${this.description}: ${error.message}`)),
      );
      child.on('close', (code) => {
        if (signal.aborted) reject(signal.reason);
        else if (bad) reject(bad);
        else if (code !== 0) {
          reject(new InventoryError(`inventory ${this.description} exited with code ${code}: ${stderr.trim()}`));
        } else resolve();
      });
    });
  }
}

function objectOf(line: string): InventoryObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return inventoryObjectOf(value);
}
