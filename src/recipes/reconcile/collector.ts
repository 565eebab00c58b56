import { runCommand } from '../../execution/command.ts';
import type { Clock } from '../../time/clock.ts';
import type { Gap } from './classify.ts';
import { compileTemplate, type KeyTemplate } from './key-template.ts';

/** What a collector is given: the gap, where to write it, and the attempt's signal. */
export interface CollectRequest {
  readonly gap: Gap;
  /** Where the object goes: a file path, or an `s3://` URL. */
  readonly path: string;
  readonly signal: AbortSignal;
  readonly attempt: number;
}

/**
 * Collects one gap: writes (or uploads) the object its key names. Resolves
 * with anything JSON (stored as the item's result); rejects to fail the
 * attempt (retried per the loop's policy; a TerminalError is not).
 */
export type Collector = (request: CollectRequest) => Promise<unknown>;

export interface CommandCollectorOptions {
  /** `python scrapers/{source}.py --date {date} --out {path}`: any field of the gap, plus key, path, reason, priority. */
  readonly command: string;
  readonly timeoutMs: number;
  readonly cwd: string;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly loop: string;
}

/**
 * A collector that runs a command template per gap. Placeholders are
 * filled from the gap (`{source}`, `{key}`, `{date}`, `{date:YYYYMMDD}`,
 * `{hour}`, `{path}`, `{reason}`, `{priority}`, and every field of the
 * coverage entry such as `{season}`), each value shell-quoted unless it is
 * plain (letters, digits, `_@%+=:,./-`). The command runs as a loop's
 * `act: { command }` does (execution/command.ts): the gap as JSON on stdin,
 * its own process group (killed on timeout, budget or shutdown), exit 3 =
 * do not retry. Its environment adds RECONCILE_SOURCE, RECONCILE_KEY,
 * RECONCILE_PATH, RECONCILE_DATE and RECONCILE_REASON.
 */
export function commandCollector(options: CommandCollectorOptions): Collector {
  const template: KeyTemplate = compileTemplate(options.command);
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env)) if (v !== undefined) baseEnv[k] = v;
  return ({ gap, path, signal, attempt }) => {
    const fields: Record<string, string> = {};
    const raw = { ...gap.fields, key: gap.key, path, reason: gap.reason, priority: gap.priority, source: gap.source };
    for (const [k, v] of Object.entries(raw)) fields[k] = shellQuote(v);
    return runCommand({
      command: template.render(fields),
      input: { ...gap, path, attempt },
      timeoutMs: options.timeoutMs,
      signal,
      clock: options.clock,
      cwd: options.cwd,
      env: {
        ...baseEnv,
        AUTOLOOP_LOOP: options.loop,
        AUTOLOOP_ATTEMPT: String(attempt),
        RECONCILE_SOURCE: gap.source,
        RECONCILE_KEY: gap.key,
        RECONCILE_PATH: path,
        RECONCILE_DATE: gap.date ?? '',
        RECONCILE_REASON: gap.reason,
      },
      what: `collect ${gap.key}`,
    });
  };
}

/** `value` as one shell word: unchanged when plain, else single-quoted. */
export function shellQuote(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
