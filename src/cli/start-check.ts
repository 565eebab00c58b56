import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { ResolvedConfig } from '../config/load-config.ts';

/** One line of `autoloop start --check-only`. */
export interface CheckLine {
  readonly status: 'ok' | 'warn' | 'fail';
  /** What was checked: `config`, `store`, `http.port`, `services.web.command`, … */
  readonly what: string;
  readonly detail: string;
}

/**
 * Seed 003's `--check-only`: what `autoloop start` needs, checked without
 * starting anything: every service's program on PATH (or its path
 * executable) and its working directory, the store (a SQLite file opened
 * and `quick_check`ed read-only, or a Redis ping), the backup directory
 * writable, the HTTP port and the services' readiness ports free. The
 * config itself was loaded and validated before this runs.
 */
export async function checkStart(config: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<CheckLine[]> {
  const lines: CheckLine[] = [
    {
      status: 'ok',
      what: 'config',
      detail: `${config.file}: ${config.loops.length} loop(s), ${config.services.length} service(s)`,
    },
  ];
  for (const service of config.services) lines.push(...checkService(service, env));
  lines.push(await checkStore(config));
  if (config.backup) lines.push(checkWritable('backup.dir', config.backup.dir));
  if (config.http.port !== 0) lines.push(await checkPort('http.port', config.http.host, config.http.port, 'fail'));
  for (const service of config.services) {
    const ready = service.ready;
    if (ready?.kind === 'port') {
      lines.push(await checkPort(`services.${service.name}.ready.port`, ready.host, ready.port, 'warn'));
    }
  }
  return lines;
}

function checkService(service: ResolvedConfig['services'][number], env: NodeJS.ProcessEnv): CheckLine[] {
  const what = `services.${service.name}`;
  const out: CheckLine[] = [];
  const cwd = service.cwd;
  out.push(
    existsSync(cwd) && statSync(cwd).isDirectory()
      ? { status: 'ok', what: `${what}.cwd`, detail: cwd }
      : { status: 'fail', what: `${what}.cwd`, detail: `${cwd}: no such directory` },
  );
  const shell = service.argv[0] === '/bin/sh' && service.argv[1] === '-c';
  const program = shell ? firstWord(service.argv[2] ?? '') : (service.argv[0] as string);
  if (program === null) {
    out.push({ status: 'ok', what: `${what}.command`, detail: 'a shell command (not checked further)' });
    return out;
  }
  const found = findProgram(program, cwd, env.PATH ?? '');
  if (found) out.push({ status: 'ok', what: `${what}.command`, detail: `${program} → ${found}` });
  else {
    // A shell string may start with a builtin or a function: only a warning there.
    out.push({
      status: shell ? 'warn' : 'fail',
      what: `${what}.command`,
      detail: `${program}: not found${isAbsolute(program) || program.includes('/') ? '' : ' on PATH'} or not executable`,
    });
  }
  return out;
}

/** The program a simple shell string runs, or null when it starts with shell syntax (`exit 3`, `VAR=x cmd`, `(…)`). */
function firstWord(text: string): string | null {
  const word = text.trim().split(/\s+/)[0] ?? '';
  if (word === '' || /[=(){};|&$`'"<>]/.test(word)) return null;
  return ['exec', 'exit', 'cd', 'echo', 'true', 'false', 'sleep', ':', 'test', '['].includes(word) ? null : word;
}

function findProgram(program: string, cwd: string, path: string): string | null {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : join(cwd, program)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, program));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // next
    }
  }
  return null;
}

async function checkStore(config: ResolvedConfig): Promise<CheckLine> {
  const [{ sqliteFile }, { redactStoreUrl, openStore }] = await Promise.all([
    import('../config/backup-schema.ts'),
    import('../storage/open-store.ts'),
  ]);
  const shown = redactStoreUrl(config.store);
  const file = sqliteFile(config.store);
  try {
    if (file !== null) return await checkSqliteStore(file, config);
    if (config.store.startsWith('memory://'))
      return { status: 'ok', what: 'store', detail: `${shown} (in memory, lost on exit)` };
    const store = await openStore(config.store, { cwd: config.dir });
    try {
      await store.ping();
    } finally {
      await store.close();
    }
    return { status: 'ok', what: 'store', detail: `${shown} answers` };
  } catch (error) {
    return { status: 'fail', what: 'store', detail: `${shown}: ${(error as Error).message}` };
  }
}

async function checkSqliteStore(file: string, config: ResolvedConfig): Promise<CheckLine> {
  const [{ checkSqliteFile }, { listBackups }] = await Promise.all([
    import('../backup/sqlite-check.ts'),
    import('../backup/sqlite-backup.ts'),
  ]);
  const check = checkSqliteFile(file, { mode: 'quick', readonly: true });
  if (check.kind === 'ok') return { status: 'ok', what: 'store', detail: `${file} opens, quick_check ok` };
  if (check.kind === 'missing') {
    const dir = checkWritable('store', dirname(file));
    return dir.status === 'ok' ? { status: 'ok', what: 'store', detail: `${file} will be created` } : dir;
  }
  const newest = config.backup ? listBackups(config.backup.dir, file)[0] : undefined;
  return newest
    ? {
        status: 'warn',
        what: 'store',
        detail: `${file} is corrupt (${check.detail}); start will restore a backup (newest: ${newest.file})`,
      }
    : {
        status: 'fail',
        what: 'store',
        detail: `${file} is corrupt (${check.detail}) and there is no backup to restore`,
      };
}

function checkWritable(what: string, dir: string): CheckLine {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return { status: 'ok', what, detail: `${dir} writable` };
  } catch (error) {
    return {
      status: 'fail',
      what,
      detail: `${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    };
  }
}

function checkPort(what: string, host: string, port: number, ifTaken: 'warn' | 'fail'): Promise<CheckLine> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      resolve({
        status: ifTaken,
        what,
        detail: `${host}:${port} ${error.code === 'EADDRINUSE' ? 'is in use' : `cannot be bound: ${error.code ?? error.message}`}`,
      }),
    );
    server.listen(port, host, () =>
      server.close(() => resolve({ status: 'ok', what, detail: `${host}:${port} free` })),
    );
  });
}
