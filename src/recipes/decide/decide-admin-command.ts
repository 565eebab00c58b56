/**
 * `autoloop decide history | execute | rollback`: the audit trail from the
 * store, and the two actions that need the running daemon (its loops hold
 * the state a decision changed), sent to the recipe's admin routes with
 * the admin token (the instance's runtime file, else the config's
 * `http.token`, else `$AUTOLOOP_TOKEN`: cli/admin-token.ts).
 */

import { requireClientToken } from '../../cli/admin-token.ts';
import { CliExit, EXIT, loadCliConfig } from '../../cli/context.ts';
import {
  type DaemonFlags,
  type DaemonResponse,
  daemonRequest,
  errorText,
  instanceToken,
  locateDaemon,
  requireDaemonUrl,
} from '../../cli/daemon-client.ts';
import { type Output, table } from '../../cli/output.ts';
import type { ResolvedConfig } from '../../config/load-config.ts';
import type { DecideStatus, DecisionRecord } from './decide-loop.ts';

export interface HistoryFlags extends DaemonFlags {
  store?: string;
  json?: boolean;
  limit?: string;
}

/** The decide loop a command is about: the one named, or the only one. Exit 2 otherwise. */
export function decideLoopName(config: ResolvedConfig, loop: string | undefined, command: string): string {
  const loops = config.loops.filter((l) => l.recipe === 'decide').map((l) => l.name);
  const name = loop ?? (loops.length === 1 ? loops[0] : undefined);
  if (!name || !loops.includes(name)) {
    throw new CliExit(
      EXIT.usage,
      `decide ${command}: ${loop ? `"${loop}" is not a decide loop` : 'name the loop'} in ${config.file}; decide loops: ${loops.join(', ') || '(none)'}`,
    );
  }
  return name;
}

/** One line per decision: what, on what, how sure, what became of it, why. */
export function decisionTable(records: readonly DecisionRecord[]): string {
  return table(
    ['id', 'at', 'type', 'target', 'confidence', 'result', 'rationale'],
    records.map((d) => [
      d.id,
      new Date(d.at).toISOString(),
      d.type,
      d.target,
      String(d.confidence),
      d.result.kind,
      d.rationale,
    ]),
  );
}

/** `autoloop decide history [loop] [--limit N] [--json]`: the journal, newest first (daemon running or not). */
export async function decideHistoryCommand(
  loop: string | undefined,
  flags: HistoryFlags,
  output: Output,
): Promise<void> {
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CliExit(EXIT.usage, `decide history: --limit: expected an integer >= 1, got "${flags.limit}"`);
  }
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const name = decideLoopName(config, loop, 'history');
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  let records: DecisionRecord[];
  try {
    const entries = await store.journals.read(`decide:${name}`, { limit: 100_000 });
    records = entries
      .slice(-limit)
      .reverse()
      .map((e) => e.value as DecisionRecord);
  } finally {
    await store.close();
  }
  if (flags.json) {
    output.out(JSON.stringify({ loop: name, decisions: records }, null, 2));
    return;
  }
  output.out(records.length === 0 ? `decide ${name}: no decisions yet` : decisionTable(records));
}

/**
 * POSTs `path` to the daemon with the admin token (the daemon located and
 * the token read at each call: a restarted daemon has a new port and
 * runtime file). A daemon that does not answer is a CliExit naming the URL.
 */
export async function adminRequest<T>(command: string, path: string, flags: DaemonFlags): Promise<DaemonResponse<T>> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const daemon = locateDaemon(flags, process.env, process.cwd(), `decide ${command}`);
  const url = requireDaemonUrl(daemon);
  const token = requireClientToken(instanceToken(daemon), config, process.env, `decide ${command}`);
  return daemonRequest<T>(url, path, { method: 'POST', token });
}

/** {@link adminRequest}: the body of a 2xx, else exits naming the reason. */
async function adminPost<T>(command: string, path: string, flags: DaemonFlags): Promise<T> {
  const response = await adminRequest<T>(command, path, flags);
  if (response.status >= 200 && response.status < 300) return response.body;
  throw new CliExit(EXIT.failed, `decide ${command}: ${errorText(response)}`);
}

/** `autoloop decide rollback <id> [--loop L]`: undoes an executed decision in the running daemon. */
export async function decideRollbackCommand(
  id: string,
  flags: DaemonFlags & { loop?: string; json?: boolean },
  output: Output,
): Promise<void> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const name = decideLoopName(config, flags.loop, 'rollback');
  const record = await adminPost<DecisionRecord>(
    'rollback',
    `/decide/${encodeURIComponent(name)}/rollback/${encodeURIComponent(id)}`,
    flags,
  );
  if (flags.json) output.out(JSON.stringify(record, null, 2));
  else
    output.out(
      `rolled back ${id}: ${JSON.stringify(record.result.kind === 'rolled-back' ? record.result.change : record.result)}`,
    );
}

/** What `POST /decide/<loop>/execute` answers: the cycle, its decisions, and the analysis it made. */
export interface ExecuteAnswer {
  readonly cycle: { readonly id: string };
  readonly decisions: DecisionRecord[];
  readonly latest?: DecideStatus | null;
}

/** `POST /decide/<loop>/execute` with the flags as its query (checked by the daemon: HTTP 400 naming the field). */
export function executePath(name: string, flags: { max?: string; minConfidence?: string; dryRun?: boolean }): string {
  const query = new URLSearchParams();
  if (flags.max !== undefined) query.set('max', flags.max);
  if (flags.minConfidence !== undefined) query.set('minConfidence', flags.minConfidence);
  if (flags.dryRun) query.set('dryRun', 'true');
  return `/decide/${encodeURIComponent(name)}/execute${query.size > 0 ? `?${query}` : ''}`;
}

/**
 * `autoloop decide execute [loop] [--max N] [--min-confidence C] [--dry-run]`:
 * one decide cycle now in the running daemon (the flags hold for that cycle
 * only; the daemon checks them, HTTP 400 naming the field), and what it decided.
 */
export async function decideExecuteCommand(
  loop: string | undefined,
  flags: DaemonFlags & { json?: boolean; max?: string; minConfidence?: string; dryRun?: boolean },
  output: Output,
): Promise<void> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const name = decideLoopName(config, loop, 'execute');
  const body = await adminPost<ExecuteAnswer>('execute', executePath(name, flags), flags);
  if (flags.json) {
    output.out(JSON.stringify(body, null, 2));
    return;
  }
  output.out(`decide ${name}: cycle ${body.cycle.id}`);
  output.out(body.decisions.length === 0 ? 'no decisions' : decisionTable(body.decisions));
}
