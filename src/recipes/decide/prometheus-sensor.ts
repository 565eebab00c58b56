/**
 * A Prometheus server as a sensor: the instant queries named in config
 * (`sources.prometheus.queries: { <name>: <PromQL> }`), each answered by
 * `GET <url>/api/v1/query?query=...` and reduced to one number, which user
 * rules read by its name (`when: [{ value: <name>, above: 2 }]`).
 *
 * A query must come back as a scalar or a vector of exactly one series
 * (aggregate with `sum()`/`max()` otherwise). No series, several series, a
 * non-number, an HTTP error or a timeout is a problem named
 * `prometheus:<name>` in the cycle's status; the other queries and the
 * cycle go on.
 */
import type { Clock } from '../../time/clock.ts';
import { timeoutSignal } from '../../time/clock.ts';
import type { SensorProblem } from './coordination-sensor.ts';

export interface PrometheusSource {
  /** The server's base URL, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Per query. */
  readonly timeoutMs: number;
  readonly queries: Readonly<Record<string, string>>;
}

export interface PrometheusReading {
  readonly values: Record<string, number>;
  readonly problems: SensorProblem[];
}

interface QueryAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** Runs every query (at once) and returns the numbers it could read. */
export async function readPrometheus(
  source: PrometheusSource,
  clock: Clock,
  signal?: AbortSignal,
): Promise<PrometheusReading> {
  const values: Record<string, number> = {};
  const problems: SensorProblem[] = [];
  await Promise.all(
    Object.entries(source.queries).map(async ([name, query]) => {
      try {
        values[name] = await instantQuery(source, query, clock, signal);
      } catch (error) {
        problems.push({ file: `prometheus:${name}`, reason: (error as Error).message });
      }
    }),
  );
  problems.sort((a, b) => a.file.localeCompare(b.file));
  return { values, problems };
}

/** One instant query reduced to a number; throws with the reason otherwise. */
export async function instantQuery(
  source: Pick<PrometheusSource, 'url' | 'timeoutMs'>,
  query: string,
  clock: Clock,
  signal?: AbortSignal,
): Promise<number> {
  const url = `${source.url.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
  const t = timeoutSignal(
    clock,
    source.timeoutMs,
    signal,
    () => new Error(`no answer from ${source.url} within ${source.timeoutMs} ms`),
  );
  let answer: QueryAnswer;
  try {
    const res = await fetch(url, { signal: t.signal, headers: { accept: 'application/json' } });
    const text = await res.text();
    try {
      answer = JSON.parse(text) as QueryAnswer;
    } catch {
      throw new Error(`HTTP ${res.status} from ${source.url}: not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok || answer.status !== 'success') {
      throw new Error(`HTTP ${res.status} from ${source.url}: ${answer.error ?? answer.status ?? 'no status'}`);
    }
  } catch (error) {
    if (t.signal.aborted && t.signal.reason instanceof Error) throw t.signal.reason;
    throw error;
  } finally {
    t.dispose();
  }
  return numberOf(answer.data);
}

function numberOf(data: QueryAnswer['data']): number {
  const result = data?.result;
  let raw: unknown;
  if (data?.resultType === 'scalar' && Array.isArray(result)) raw = result[1];
  else if (data?.resultType === 'vector' && Array.isArray(result)) {
    if (result.length !== 1) {
      throw new Error(
        result.length === 0
          ? 'no series (the query matched nothing yet)'
          : `${result.length} series; expected one: aggregate it, e.g. sum(...) or max(...)`,
      );
    }
    raw = (result[0] as { value?: unknown[] }).value?.[1];
  } else {
    throw new Error(`expected a scalar or a vector of one series, got ${data?.resultType ?? 'no data'}`);
  }
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value)) throw new Error(`not a finite number: ${String(raw)}`);
  return value;
}
