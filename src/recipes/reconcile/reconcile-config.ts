/**
 * `recipe: reconcile` in autoloop.yaml: seed 000's data-collection
 * controller. Each key maps onto the seed's `autonomous_config.yaml` (see
 * docs/configuration.md, "reconcile"):
 *
 * ```yaml
 * loops:
 *   collect:
 *     recipe: reconcile
 *     trigger: { interval: 1h }                 # reconciliation_interval_hours (default 1h)
 *     inventory: { dir: ./data }                # or { s3: { bucket: lake, prefix: raw/, parallel: 8 } }
 *     coverage: ./coverage.yaml                 # or the spec inline
 *     collector: { command: "python scrapers/{source}.py --date {date} --out {path}", timeout: 10m }
 *     budget: 2h                                # max_orchestrator_runtime_minutes
 *     concurrency: { default: 2, nba_api: 1 }   # collections at once, per source
 *     threshold: { minTasks: 1, every: 30s }    # min_tasks_to_trigger, checked every 30 s
 *     report: { file: ./inventory/gaps.json }   # the seed's task file, for tools that read it
 *     health: { maxInventoryAge: 24h }          # the seed's "metrics file age < 24 h"
 * ```
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import { durationMs } from '../../config/schema.ts';
import { AutoloopError } from '../../core/errors.ts';
import type { LoopPolicies, TriggerSpec } from '../../core/loop.ts';
import { systemClock } from '../../time/system-clock.ts';
import type { RecipeSite } from '../recipe.ts';
import { type Collector, commandCollector } from './collector.ts';
import { CommandInventory } from './command-inventory.ts';
import { type CoverageSpec, loadCoverageFile, resolveCoverage } from './coverage-spec.ts';
import { DirectoryInventory } from './directory-inventory.ts';
import { httpCollector } from './http-collector.ts';
import type { Inventory } from './inventory.ts';
import { moduleCollector } from './module-collector.ts';
import { ModuleInventory } from './module-inventory.ts';
import { ReconcileLoop } from './reconcile-loop.ts';
import { lazyS3Inventory, lazyS3InventoryReport, type S3Settings } from './s3-settings.ts';

const s3Schema = z.strictObject({
  bucket: z.string().min(3),
  prefix: z.string().optional(),
  region: z.string().min(1).optional(),
  /** A non-AWS endpoint (MinIO, s3rver, R2): `http://127.0.0.1:4568`. */
  endpoint: z.url().optional(),
  forcePathStyle: z.boolean().optional(),
  /** Prefix shards listed at once (large buckets). Default 1. */
  parallel: z.number().int().min(1).max(64).optional(),
});

export const reconcileConfigSchema = z.strictObject({
  description: z.string().optional(),
  /** Validated again by defineLoop; default `{ interval: 1h }`. */
  trigger: z.record(z.string(), z.unknown()).optional(),
  inventory: z.union(
    [
      z.strictObject({
        dir: z.string().min(1),
        include: z.array(z.string().min(1)).optional(),
        exclude: z.array(z.string().min(1)).optional(),
      }),
      z.strictObject({ s3: s3Schema }),
      z.strictObject({
        /** Prints one JSON object per line: { key, size, modifiedAt }. */
        command: z.string().min(1),
        /** Where collectors write, put before each key as `{path}` (a directory or URL prefix). */
        root: z.string().optional(),
      }),
      z.strictObject({
        /** `./list.ts#list` (default export name `list`): yields { key, size, modifiedAt }. */
        module: z.string().min(1),
        root: z.string().optional(),
      }),
      z.strictObject({
        s3Inventory: z.strictObject({
          bucket: z.string().min(3),
          prefix: z.string().min(1),
          sourcePrefix: z.string().optional(),
          region: z.string().min(1).optional(),
          endpoint: z.url().optional(),
          forcePathStyle: z.boolean().optional(),
        }),
      }),
    ],
    {
      error:
        'an inventory: { dir: ./data }, { s3: { bucket, prefix } }, { s3Inventory: { bucket, prefix } }, { command: ./list-objects } or { module: ./list.ts#list }',
    },
  ),
  coverage: z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
    error: 'a coverage file (./coverage.yaml) or the spec inline ({ sources: ... })',
  }),
  collector: z.union(
    [
      z.strictObject({
        command: z.string().min(1),
        timeout: durationMs({ minMs: 1 }).optional(),
        /** Working directory of the command; default the config's directory. */
        cwd: z.string().min(1).optional(),
      }),
      z.strictObject({
        /** `./collect.ts#collect` (default export name `collect`). */
        module: z.string().min(1),
        timeout: durationMs({ minMs: 1 }).optional(),
      }),
      z.strictObject({
        http: z.strictObject({
          url: z.string().regex(/^https?:\/\//, { error: 'an http:// or https:// URL' }),
          method: z.enum(['GET', 'POST', 'PUT']).optional(),
          headers: z.record(z.string(), z.string()).optional(),
        }),
        timeout: durationMs({ minMs: 1 }).optional(),
      }),
    ],
    {
      error:
        'a collector: { command: "python scrapers/{source}.py --date {date}" }, { module: ./collect.ts#collect } or { http: { url } }',
    },
  ),
  budget: durationMs({ minMs: 1 }).optional(),
  concurrency: z
    .union([z.number().int().min(1), z.record(z.string(), z.number().int().min(1))], {
      error: 'collections at once per source: a number, or { default: 2, <source>: n }',
    })
    .optional(),
  rateLimit: z
    .record(z.string(), z.strictObject({ requests: z.number().int().min(1), per: durationMs({ minMs: 1 }) }), {
      error: 'collections per window per source: { default: { requests: 10, per: 1m }, <source>: { ... } }',
    })
    .optional(),
  maxItems: z.number().int().min(1).max(10_000).optional(),
  threshold: z
    .strictObject({ minTasks: z.number().int().min(1), every: durationMs({ minMs: 1 }).optional() })
    .optional(),
  report: z.strictObject({ file: z.string().min(1) }).optional(),
  health: z.strictObject({ maxInventoryAge: durationMs({ minMs: 1 }).optional() }).optional(),
  policies: z.record(z.string(), z.unknown()).optional(),
});

export type ReconcileConfig = z.output<typeof reconcileConfigSchema>;

/** Defaults, in one place (the seed's where it has one). */
export const RECONCILE_DEFAULTS = {
  trigger: { interval: '1h' },
  collectorTimeoutMs: 10 * 60_000,
  sourceConcurrency: 2,
  maxItems: 1_000,
  thresholdEveryMs: 30_000,
  maxInventoryAgeMs: 24 * 3_600_000,
  defaultTaskMs: 60_000,
} as const;

/** A built loop, and notes for the operator. */
export interface BuiltReconcile {
  readonly loop: ReconcileLoop;
  readonly notes: string[];
}

/**
 * Builds the loop a validated `recipe: reconcile` entry describes. Throws a
 * ConfigError (paths relative to the loop) for options that do not fit the
 * coverage spec, or an AutoloopError naming the coverage file for a bad file.
 */
export function buildReconcileLoop(config: ReconcileConfig, site: RecipeSite): BuiltReconcile {
  const at = (path: string) => (isAbsolute(path) ? path : resolve(site.dir, path));
  const coverage = coverageOf(config, site, at);
  const issues: ConfigIssue[] = [];
  const names = new Set(coverage.sources.map((s) => s.name));
  const limits = typeof config.concurrency === 'object' ? config.concurrency : {};
  const rates = config.rateLimit ?? {};
  for (const [key, source] of [
    ...Object.keys(limits).map((source) => ['concurrency', source] as const),
    ...Object.keys(rates).map((source) => ['rateLimit', source] as const),
  ]) {
    if (source !== 'default' && !names.has(source)) {
      issues.push({
        file: site.name,
        path: `${key}.${source}`,
        expected: `a source of the coverage spec (${[...names].join(', ')}) or default`,
        got: JSON.stringify(source),
      });
    }
  }
  const timeoutMs = config.collector.timeout ?? RECONCILE_DEFAULTS.collectorTimeoutMs;
  const collector = collectorOf(config.collector, { at, site, timeoutMs, issues });
  const inventory = inventoryOf(config, at, site, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  // A validator runs like a command collector (placeholders, stdin, process group), from the config's directory.
  const validators = new Map<string, Collector>();
  for (const { name, validate } of coverage.sources) {
    if (!validate) continue;
    const command = { command: validate.command, timeoutMs: validate.timeoutMs ?? timeoutMs, cwd: site.dir };
    validators.set(name, commandCollector({ ...command, clock: systemClock, env: site.env, loop: site.name }));
  }
  const fallback =
    typeof config.concurrency === 'number'
      ? config.concurrency
      : (limits.default ?? RECONCILE_DEFAULTS.sourceConcurrency);
  const sourceConcurrency = (source: string) => limits[source] ?? fallback;
  const poolSize = coverage.sources.reduce((n, s) => n + sourceConcurrency(s.name), 0);
  const policies: LoopPolicies = {
    // The collector's own timeout kills it; the item's leaves room for the kill grace.
    timeout: timeoutMs + 5_000,
    concurrency: poolSize,
    retry: { attempts: 2, backoff: '10s' },
    ...(config.policies as LoopPolicies | undefined),
  };
  const loop = new ReconcileLoop({
    name: site.name,
    ...(config.description !== undefined && { description: config.description }),
    trigger: (config.trigger ?? RECONCILE_DEFAULTS.trigger) as unknown as TriggerSpec,
    inventory,
    coverage,
    collector,
    budgetMs: config.budget ?? null,
    sourceConcurrency,
    validator: (source) => validators.get(source) ?? null,
    sourceRateLimit: (source) => {
      const rate = rates[source] ?? rates.default;
      return rate ? { requests: rate.requests, perMs: rate.per } : null;
    },
    maxItems: config.maxItems ?? RECONCILE_DEFAULTS.maxItems,
    reportFile: config.report ? at(config.report.file) : null,
    policies,
    defaultTaskMs: RECONCILE_DEFAULTS.defaultTaskMs,
    threshold: config.threshold
      ? { minTasks: config.threshold.minTasks, everyMs: config.threshold.every ?? RECONCILE_DEFAULTS.thresholdEveryMs }
      : null,
    maxInventoryAgeMs: config.health?.maxInventoryAge ?? RECONCILE_DEFAULTS.maxInventoryAgeMs,
  });
  const notes = [
    `loop ${site.name}: ${inventory.description} against ${coverage.sources.length} source(s) of ${coverage.origin}` +
      (config.budget ? `, budget ${config.budget} ms per cycle` : ', no budget'),
  ];
  return { loop, notes };
}

function coverageOf(config: ReconcileConfig, site: RecipeSite, at: (path: string) => string): CoverageSpec {
  if (typeof config.coverage === 'object') {
    // Paths relative to the loop: the config loader puts them under loops.<name>.
    return resolveCoverage(config.coverage, { file: site.name, prefix: ['coverage'], dir: site.dir });
  }
  try {
    return loadCoverageFile(at(config.coverage));
  } catch (error) {
    if (error instanceof ConfigError) throw new AutoloopError(`coverage: ${error.message}`, { cause: error });
    throw error;
  }
}

/** The inventory the `inventory:` key names; a module that is not there is an issue at `inventory.module`. */
function inventoryOf(
  config: ReconcileConfig,
  at: (path: string) => string,
  site: RecipeSite,
  issues: ConfigIssue[],
): Inventory {
  const region = site.env.AWS_REGION;
  const inv = config.inventory;
  const rootOf = (root: string | undefined) =>
    root === undefined ? '' : /^[a-z][a-z0-9+.-]*:\/\//.test(root) ? root : `${at(root)}/`;
  if ('command' in inv) {
    return new CommandInventory({ command: inv.command, cwd: site.dir, env: site.env, root: rootOf(inv.root) });
  }
  if ('module' in inv) {
    const hash = inv.module.lastIndexOf('#');
    const file = at(hash < 0 ? inv.module : inv.module.slice(0, hash));
    if (!existsSync(file)) {
      issues.push({ file: site.name, path: 'inventory.module', expected: 'a module file that exists', got: file });
    }
    return new ModuleInventory({
      file,
      exportName: hash < 0 ? 'list' : inv.module.slice(hash + 1),
      root: rootOf(inv.root),
    });
  }
  if ('dir' in inv) {
    return new DirectoryInventory({
      dir: at(inv.dir),
      ...(inv.include && { include: inv.include }),
      ...(inv.exclude && { exclude: inv.exclude }),
    });
  }
  if ('s3Inventory' in inv)
    return lazyS3InventoryReport({ ...inv.s3Inventory, region: inv.s3Inventory.region ?? region });
  const s3: S3Settings = { ...inv.s3, region: inv.s3.region ?? region };
  return lazyS3Inventory(s3);
}

/** The collector the `collector:` key names; a module that is not there is an issue at `collector.module`. */
function collectorOf(
  c: ReconcileConfig['collector'],
  o: { at: (path: string) => string; site: RecipeSite; timeoutMs: number; issues: ConfigIssue[] },
): Collector {
  if ('command' in c) {
    const cwd = c.cwd ? o.at(c.cwd) : o.site.dir;
    const { env, name: loop } = o.site;
    return commandCollector({ command: c.command, timeoutMs: o.timeoutMs, cwd, clock: systemClock, env, loop });
  }
  if ('http' in c) {
    return httpCollector({ url: c.http.url, method: c.http.method ?? 'POST', headers: c.http.headers ?? {} });
  }
  const hash = c.module.lastIndexOf('#');
  const file = o.at(hash < 0 ? c.module : c.module.slice(0, hash));
  if (!existsSync(file)) {
    o.issues.push({ file: o.site.name, path: 'collector.module', expected: 'a module file that exists', got: file });
  }
  return moduleCollector(file, hash < 0 ? 'collect' : c.module.slice(hash + 1));
}
