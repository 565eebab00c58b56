import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { type Clock, timeoutSignal } from '../time/clock.ts';
import { signalGroup } from './process-group.ts';

/** One probe's answer: ok, or why not (one line for events and health details). */
export type ProbeResult = { ok: true } | { ok: false; detail: string };

const OK: ProbeResult = { ok: true };

/** A TCP connection to `host:port` is accepted within `timeoutMs`. */
export function probePort(host: string, port: number, timeoutMs: number, clock: Clock): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = clock.setTimer(timeoutMs, () =>
      finish({ ok: false, detail: `${host}:${port}: no answer within ${timeoutMs} ms` }),
    );
    const finish = (result: ProbeResult) => {
      timer.cancel();
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => finish(OK));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `${host}:${port}: ${error.code ?? error.message}` }),
    );
  });
}

/** `GET url` answers 2xx within `timeoutMs`. */
export async function probeHttp(
  url: string,
  timeoutMs: number,
  clock: Clock,
  parent?: AbortSignal,
): Promise<ProbeResult> {
  const timeout = timeoutSignal(clock, timeoutMs, parent, () => new Error(`no answer within ${timeoutMs} ms`));
  try {
    const response = await fetch(url, { signal: timeout.signal, headers: { accept: '*/*' } });
    await response.body?.cancel();
    return response.ok ? OK : { ok: false, detail: `${url}: HTTP ${response.status}` };
  } catch (error) {
    const reason = timeout.signal.aborted ? `no answer within ${timeoutMs} ms` : fetchProblem(error);
    return { ok: false, detail: `${url}: ${reason}` };
  } finally {
    timeout.dispose();
  }
}

/** `/bin/sh -c command` exits 0 within `timeoutMs`; on timeout its whole process group is killed. */
export function probeCommand(
  command: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; clock: Clock },
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: 'ignore',
    });
    let timedOut = false;
    const timer = options.clock.setTimer(options.timeoutMs, () => {
      timedOut = true;
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    });
    child.once('error', (error) => {
      timer.cancel();
      resolve({ ok: false, detail: `${command}: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      timer.cancel();
      if (timedOut) resolve({ ok: false, detail: `${command}: no answer within ${options.timeoutMs} ms` });
      else if (code === 0) resolve(OK);
      else resolve({ ok: false, detail: `${command}: exited with ${code === null ? signal : `code ${code}`}` });
    });
  });
}

function fetchProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error as Error).message ?? String(error);
}
