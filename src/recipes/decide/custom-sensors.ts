/**
 * A decide loop's own sensors (`sources.sensors`), read once per cycle, at
 * once, each within its `timeout`:
 *
 * - `{ module: ./sensors.ts#read }`: the function is called with the
 *   targets and an AbortSignal and returns (or resolves to) an object of
 *   named numbers;
 * - `{ command: ./bin/read-backlog }`: run as a command step (execution/
 *   command.ts: `/bin/sh -c` in the config's directory, `{ targets }` as
 *   JSON on stdin) that prints one JSON object of named numbers on stdout.
 *
 * Sensor `backlog` answering `{ depth: 12 }` gives value `backlog.depth` to
 * every target's sample (user rules, a scorer, `sources.readings`). A sensor
 * that throws, exits non-zero, times out or answers something else than an
 * object of finite numbers is a problem named `module:<name>` or
 * `command:<name>`; a key whose value is not a finite number is left out and
 * named in the problem. The other sensors and the cycle go on.
 */
import { runCommand } from '../../execution/command.ts';
import type { Clock } from '../../time/clock.ts';
import { timeoutSignal } from '../../time/clock.ts';
import type { SensorProblem } from './coordination-sensor.ts';
import type { DecideConfig } from './decide-config.ts';
import type { SensorFn } from './user-modules.ts';

export interface SensorContext {
  readonly clock: Clock;
  /** Where commands run: the config's directory. */
  readonly dir: string;
  readonly targets: readonly string[];
  /** The loaded module sensors by name. */
  readonly modules: ReadonlyMap<string, SensorFn>;
  readonly signal?: AbortSignal;
}

type SensorSpecs = NonNullable<DecideConfig['sources']['sensors']>;

/** Reads every sensor and returns the values it could read (`<sensor>.<key>`) and the problems. */
export async function readSensors(
  specs: SensorSpecs,
  ctx: SensorContext,
): Promise<{ values: Record<string, number>; problems: SensorProblem[] }> {
  const values: Record<string, number> = {};
  const problems: SensorProblem[] = [];
  await Promise.all(
    Object.entries(specs).map(async ([name, spec]) => {
      const kind = 'module' in spec ? 'module' : 'command';
      try {
        const got = 'module' in spec ? await callModule(name, spec.timeout, ctx) : await callCommand(spec, ctx);
        const bad = numbersInto(values, name, got);
        if (bad.length > 0)
          problems.push({ file: `${kind}:${name}`, reason: `not finite numbers, left out: ${bad.join(', ')}` });
      } catch (error) {
        problems.push({ file: `${kind}:${name}`, reason: (error as Error).message });
      }
    }),
  );
  problems.sort((a, b) => a.file.localeCompare(b.file));
  return { values, problems };
}

async function callModule(name: string, timeoutMs: number, ctx: SensorContext): Promise<unknown> {
  const fn = ctx.modules.get(name);
  if (!fn) throw new Error('its module is not loaded');
  const t = timeoutSignal(ctx.clock, timeoutMs, ctx.signal, () => new Error(`no answer within ${timeoutMs} ms`));
  try {
    // A sensor may ignore its signal: the race still gives up at the timeout.
    const aborted = new Promise<never>((_, reject) => {
      if (t.signal.aborted) reject(t.signal.reason);
      t.signal.addEventListener('abort', () => reject(t.signal.reason), { once: true });
    });
    return await Promise.race([Promise.resolve(fn({ targets: ctx.targets, signal: t.signal })), aborted]);
  } finally {
    t.dispose();
  }
}

function callCommand(spec: { command: string; timeout: number }, ctx: SensorContext): Promise<unknown> {
  return runCommand({
    command: spec.command,
    input: { targets: ctx.targets },
    timeoutMs: spec.timeout,
    clock: ctx.clock,
    cwd: ctx.dir,
    ...(ctx.signal && { signal: ctx.signal }),
  });
}

/** Copies `got`'s finite numbers into `values` as `<name>.<key>`; returns the keys that were not. Throws when `got` is no object. */
function numbersInto(values: Record<string, number>, name: string, got: unknown): string[] {
  if (typeof got !== 'object' || got === null || Array.isArray(got)) {
    throw new Error(
      `expected an object of named numbers like { "depth": 12 }, got ${JSON.stringify(got) ?? String(got)}`,
    );
  }
  const bad: string[] = [];
  for (const [key, v] of Object.entries(got)) {
    if (typeof v === 'number' && Number.isFinite(v)) values[`${name}.${key}`] = v;
    else bad.push(`${key} (${JSON.stringify(v) ?? String(v)})`);
  }
  return bad;
}
