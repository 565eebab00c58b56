/**
 * Loading a config, in three stages (STYLE.md #9):
 *   1. raw       YAML text parsed and `${VAR}`-interpolated, or a TS/JS module's default export;
 *   2. validated zod schemas check every value and fill defaults (durations in ms);
 *   3. resolved  module references imported, command steps built, store path made
 *                absolute, everything frozen.
 * Every stage collects all issues it can before failing, so one
 * `autoloop validate` run shows every mistake in the file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { BackupSpec } from '../backup/backup-spec.ts';
import type { ResolvedDependency, ResolvedLoop } from '../core/loop.ts';
import type { WebhookTarget } from '../observability/webhooks.ts';
import type { Recipe } from '../recipes/recipe.ts';
import { recipeRegistry } from '../recipes/registry.ts';
import type { ServiceSpec } from '../supervisor/service-spec.ts';
import { resolveBackup } from './backup-schema.ts';
import { ConfigError, type ConfigIssue, formatPath } from './config-error.ts';
import { resolveDependency } from './dependency-schema.ts';
import { type FileSettings, fileConfigSchema, moduleConfigSchema } from './file-schema.ts';
import { importModule } from './import-module.ts';
import { coerceSubstituted, type Env, type Substitution } from './interpolate.ts';
import {
  type ResolvedAlertsConfig,
  type ResolvedLogConfig,
  type ResolvedTracingConfig,
  resolveObservability,
} from './observability-schema.ts';
import { resolveRecipeLoops, splitRecipeLoops } from './recipe-loops.ts';
import { resolveFileLoops } from './resolve-file-loop.ts';
import { checkLoop } from './resolve-loop.ts';
import { resolveServices } from './services-schema.ts';
import type { ResolvedSimulateConfig, ResolvedSlo } from './simulate-schema.ts';
import { readYaml } from './yaml-source.ts';
import { type Validated, validate } from './zod-issues.ts';

/** A deployment's config after all three stages. Frozen; every duration in ms. */
export interface ResolvedConfig {
  /** Absolute path of the config file. */
  readonly file: string;
  /** Its directory: the base of relative module paths, store paths and command working directories. */
  readonly dir: string;
  /** Store URL; a relative sqlite path has been made absolute (`sqlite:///abs/path.db`). */
  readonly store: string;
  /** Port 0 picks a free port. */
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** Admin bearer token ('' = none: admin endpoints refuse every request). Never log or serve it. */
    readonly token: string;
    readonly allowedHosts: readonly string[];
  };
  /** How long shutdown lets in-flight work drain. */
  readonly shutdown: { readonly graceMs: number };
  /** Records and events older than this are pruned hourly; null: kept forever. */
  readonly retentionMs: number | null;
  /** Level and rotating log file (null: none). */
  readonly log: ResolvedLogConfig;
  /** Alert rules written in the config, and whether seed 002's defaults are added. */
  readonly alerts: ResolvedAlertsConfig;
  /** Where firing and resolved alerts are POSTed. */
  readonly webhooks: readonly WebhookTarget[];
  readonly tracing: ResolvedTracingConfig;
  /** Lease TTL for item keys, queue claims and instance heartbeats. */
  readonly leases: { readonly ttlMs: number };
  readonly dependencies: ReadonlyArray<ResolvedDependency>;
  readonly loops: ReadonlyArray<ResolvedLoop>;
  /** Supervised services (`services:`), in file order; empty when there are none. */
  readonly services: readonly ServiceSpec[];
  /** Scheduled backups of the SQLite store (`backup:`); null: none. */
  readonly backup: BackupSpec | null;
  /** Limits of the daemon's own process (`resources:`), for `autoloop unit`; null where not set. */
  readonly resources: { readonly memoryMax: string | null; readonly cpuQuota: string | null };
  /** Facts to log at start that are not errors (e.g. a recipe's LLM stages are off: no endpoint set). */
  readonly notes: readonly string[];
  /** Recipes given to the loader besides the built-in ones (the runtime needs them too). */
  readonly recipes: readonly Recipe[];
  /** Act models and faults for `autoloop simulate`; null: neutral defaults. */
  readonly simulate: ResolvedSimulateConfig | null;
  /** What `autoloop simulate` checks; null: nothing declared. */
  readonly slo: ResolvedSlo | null;
}

/** Command-line flags that replace config values. A relative sqlite path here is relative to the working directory. */
export interface ConfigOverrides {
  store?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
}

export interface LoadConfigOptions {
  /** Source of `${VAR}` values and the environment of command steps, usually `process.env`. */
  env: Env;
  overrides?: ConfigOverrides;
  /** Recipes besides the built-in ones that `recipe:` may name (defined with `defineRecipe`). */
  recipes?: readonly Recipe[];
}

const DEFAULT_STORE = 'sqlite://./.autoloop/state.db';

/**
 * Loads `file` (`.yaml`/`.yml`, or a `.ts`/`.js`/`.mjs` module whose default
 * export is `{ loops: LoopDefinition[], store?, http?, shutdown?, log? }`).
 * Throws a {@link ConfigError} listing every problem found.
 *
 * @example
 * const config = await loadConfig('autoloop.yaml', { env: process.env, overrides: { port: 0 } });
 */
export async function loadConfig(file: string, options: LoadConfigOptions): Promise<ResolvedConfig> {
  const absolute = resolve(file);
  const shown = displayName(file);
  if (/\.ya?ml$/i.test(absolute)) {
    const text = await readFile(absolute, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError([{ file: shown, path: '', expected: 'a readable config file', got: errnoText(error) }]);
    });
    return parseConfigText(text, { ...options, file });
  }
  if (/\.(ts|mts|js|mjs)$/i.test(absolute)) return loadConfigModule(absolute, shown, options);
  const got = `a file named ${JSON.stringify(file)}`;
  throw new ConfigError([{ file: shown, path: '', expected: 'a .yaml, .yml, .ts, .js or .mjs file', got }]);
}

/** {@link loadConfig} without overrides, for `autoloop validate`. */
export function validateConfigFile(file: string, env: Env): Promise<ResolvedConfig> {
  return loadConfig(file, { env });
}

/**
 * Resolves YAML `text` as if read from `file` (which sets the directory
 * relative paths start from and the name in messages). Useful for tests and
 * for configs that do not live on disk.
 */
export async function parseConfigText(
  text: string,
  options: LoadConfigOptions & { file: string },
): Promise<ResolvedConfig> {
  const absolute = resolve(options.file);
  const shown = displayName(options.file);
  const raw = readYaml(text, shown, options.env);
  if (!raw.ok) throw new ConfigError(raw.issues);
  const dir = dirname(absolute);
  // Loops with `recipe:` are validated by their recipe's schema, the others by the file schema.
  const split = splitRecipeLoops(raw.data);
  const checked = validateFile(split.data, shown, raw.interpolation.substituted);
  const registry = recipeRegistry(options.recipes ?? []);
  const recipes = await resolveRecipeLoops(split.recipes, { file: shown, dir, env: options.env, registry });
  // A value left as "${VAR}" by a missing variable fails validation too; report the cause only.
  const missing = raw.interpolation.issues;
  const interpolated = new Set(missing.map((issue) => issue.path));
  const found = [...(checked.ok ? [] : checked.issues), ...(recipes.ok ? [] : recipes.issues)];
  const issues = [...missing, ...found.filter((i) => !interpolated.has(i.path))];
  if (!checked.ok || !recipes.ok || issues.length > 0) throw new ConfigError(issues);
  const loops = await resolveFileLoops(checked.value.loops, { file: shown, dir, env: options.env });
  if (!loops.ok) throw new ConfigError(loops.issues);
  const byName = new Map([...loops.value, ...recipes.value.map((r) => r.loop)].map((loop) => [loop.name, loop]));
  // In the order the file lists them.
  const ordered = Object.keys((raw.data as { loops: object }).loops).flatMap((name) => byName.get(name) ?? []);
  const notes = recipes.value.flatMap((r) => r.notes);
  return finish(absolute, checked.value, ordered, options, notes);
}

/** Validates YAML data, retrying once with `${VAR}` values typed as the schema expects. */
function validateFile(data: unknown, shown: string, substituted: ReadonlyMap<string, Substitution>) {
  const first = validate(fileConfigSchema, data, shown);
  const checked =
    first.ok || !coerceSubstituted(data, first.issues, substituted) ? first : validate(fileConfigSchema, data, shown);
  if (checked.ok) return checked;
  for (const issue of checked.issues) {
    const from = substituted.get(issue.path);
    if (from && issue.hint === undefined) issue.hint = `the value came from ${from.expression}`;
  }
  return checked;
}

async function loadConfigModule(absolute: string, shown: string, options: LoadConfigOptions): Promise<ResolvedConfig> {
  let exported: unknown;
  try {
    exported = (await importModule(absolute)).default;
  } catch (error) {
    const got = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
    throw new ConfigError([{ file: shown, path: '', expected: 'a config module that loads', got }], { cause: error });
  }
  const checked = validate(moduleConfigSchema, exported, shown);
  const defs = (exported as { loops?: unknown } | null)?.loops;
  const loops = Array.isArray(defs) ? checkModuleLoops(defs, shown) : { ok: true as const, value: [] };
  const issues = [...(checked.ok ? [] : checked.issues), ...(loops.ok ? [] : loops.issues)];
  if (!checked.ok || !loops.ok) throw new ConfigError(issues);
  return finish(absolute, checked.value, loops.value, options);
}

/** Each loop of a config module through the same checks as `defineLoop`, plus unique names. */
function checkModuleLoops(defs: unknown[], shown: string): Validated<ResolvedLoop[]> {
  const issues: ConfigIssue[] = [];
  const loops: ResolvedLoop[] = [];
  defs.forEach((def, index) => {
    const name = (def as { name?: unknown } | null)?.name;
    const prefix = ['loops', typeof name === 'string' && name !== '' ? name : index];
    const result = checkLoop(def, shown, prefix);
    if (!result.ok) issues.push(...result.issues);
    else if (loops.some((loop) => loop.name === result.value.name)) {
      const got = `a second loop named ${JSON.stringify(name)}`;
      issues.push({ file: shown, path: formatPath(prefix), expected: 'a unique loop name', got });
    } else loops.push(result.value);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: loops };
}

/** Stage 3 for the settings: overrides applied, store path made absolute, all frozen. */
function finish(
  absolute: string,
  settings: FileSettings,
  loops: ResolvedLoop[],
  options: LoadConfigOptions,
  notes: readonly string[] = [],
): ResolvedConfig {
  const overrides = options.overrides ?? {};
  const dir = dirname(absolute);
  checkOverrides(overrides);
  const store =
    overrides.store !== undefined
      ? absoluteStore(overrides.store, process.cwd())
      : absoluteStore(settings.store ?? DEFAULT_STORE, dir);
  const dependencies = Object.entries(settings.dependencies).map(([name, spec]) => resolveDependency(name, spec));
  checkUses(loops, dependencies, displayName(absolute));
  const backup = resolveBackup(settings.backup, store, dir, displayName(absolute));
  if (backup.issues.length > 0) throw new ConfigError(backup.issues);
  return Object.freeze({
    file: absolute,
    dir,
    store,
    leases: Object.freeze({ ttlMs: settings.leases.ttl }),
    dependencies: Object.freeze(dependencies),
    http: Object.freeze({
      host: overrides.host ?? settings.http.host,
      port: overrides.port ?? settings.http.port,
      token: settings.http.token,
      allowedHosts: Object.freeze([...settings.http.allowedHosts]),
    }),
    shutdown: Object.freeze({ graceMs: settings.shutdown.grace }),
    retentionMs: settings.retention ?? null,
    ...resolveObservability(settings, dir),
    loops: Object.freeze([...loops]),
    services: resolveServices(settings.services, dir),
    backup: backup.spec,
    resources: Object.freeze({
      memoryMax: settings.resources.memory ?? null,
      cpuQuota: settings.resources.cpu ?? null,
    }),
    notes: Object.freeze([...notes]),
    recipes: Object.freeze([...(options.recipes ?? [])]),
    simulate: settings.simulate ?? null,
    slo: settings.slo ?? null,
  });
}

/** Every name a loop `uses` must be declared under `dependencies`. */
function checkUses(loops: ResolvedLoop[], dependencies: ResolvedDependency[], shown: string): void {
  const declared = new Set(dependencies.map((d) => d.name));
  const issues: ConfigIssue[] = [];
  for (const loop of loops) {
    loop.policies.uses.forEach((name, index) => {
      if (declared.has(name)) return;
      const known = [...declared].join(', ') || '(none declared)';
      issues.push({
        file: shown,
        path: `loops.${loop.name}.policies.uses[${index}]`,
        expected: `a dependency declared under \`dependencies:\` (${known})`,
        got: JSON.stringify(name),
      });
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

function checkOverrides(overrides: ConfigOverrides): void {
  const issues: ConfigIssue[] = [];
  const { store, host, port } = overrides;
  if (store !== undefined && !/^((sqlite|redis|rediss):\/\/.+|memory:\/\/.*)$/.test(store)) {
    issues.push({
      file: 'command line',
      path: 'store',
      expected: 'a store URL like "sqlite://./state.db"',
      got: JSON.stringify(store),
    });
  }
  if (host !== undefined && host === '') {
    issues.push({ file: 'command line', path: 'host', expected: 'a host name or address', got: '""' });
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    issues.push({ file: 'command line', path: 'port', expected: 'a port number from 0 to 65535', got: String(port) });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

/** `sqlite://<relative>` becomes `sqlite://<absolute>` against `base`; other URLs pass through. */
function absoluteStore(url: string, base: string): string {
  const match = /^sqlite:\/\/(.*)$/.exec(url);
  if (!match) return url;
  const path = match[1] as string;
  if (path === ':memory:' || isAbsolute(path)) return url;
  return `sqlite://${resolve(base, path)}`;
}

/** The file as messages name it: relative to the working directory when inside it. */
function displayName(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function errnoText(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no such file';
  if (error.code === 'EACCES') return 'permission denied';
  if (error.code === 'EISDIR') return 'a directory';
  return error.message;
}
