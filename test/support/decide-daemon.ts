/**
 * A real daemon (`autoloop start`, SQLite, HTTP on loopback with an admin
 * token) with a `work` loop whose items all fail (concurrency 2, run once
 * so there are readings) and a decide loop `autopilot` over it, for the
 * decide CLI tests.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoloop, type Finished } from './cli.ts';

export interface DecideDaemon {
  readonly file: string;
  readonly url: string;
  readonly env: { readonly AUTOLOOP_TOKEN: string };
  /** `autoloop <args> --config <file>` in the project, with the token in the environment (overridable). */
  cli(args: string[], extra?: NodeJS.ProcessEnv): Promise<Finished>;
  /** `autoloop stop`, checked. */
  stop(): Promise<void>;
}

/** Starts the daemon in `project` (made); `decide` lines are added to the autopilot loop's keys. */
export async function startDecideDaemon(project: string, token: string, decide: string[]): Promise<DecideDaemon> {
  mkdirSync(project, { recursive: true });
  const file = join(project, 'autoloop.yaml');
  writeFileSync(
    file,
    [
      'store: sqlite://./state.db',
      `http: { host: 127.0.0.1, port: 0, token: "\${AUTOLOOP_TOKEN:-}" }`,
      'shutdown: { grace: 5s }',
      'loops:',
      '  work:',
      '    trigger: { manual: true }',
      '    items: [a, b, c]',
      '    act: { command: "exit 1" }',
      '    policies: { concurrency: 2, retry: { attempts: 1 } }',
      '  autopilot:',
      '    recipe: decide',
      '    interval: 1h',
      '    targets: [work]',
      ...decide.map((line) => `    ${line}`),
      '',
    ].join('\n'),
  );
  const env = { AUTOLOOP_TOKEN: token };
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    autoloop([...args, '--config', file], { cwd: project, env: { ...env, ...extra } });
  const started = await cli(['start', '--port', '0']);
  assert.equal(started.code, 0, started.stderr + started.stdout);
  const url = /health +(http:\/\/127\.0\.0\.1:\d+)\/health/.exec(started.stdout)?.[1] as string;
  const stop = async () => {
    const stopped = await cli(['stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
  };
  try {
    const ran = await fetch(`${url}/loops/work/run`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(ran.status, 200);
  } catch (error) {
    await stop();
    throw error;
  }
  return { file, url, env, cli, stop };
}
