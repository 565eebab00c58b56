/**
 * The shape of a config file (stage 2 of 3: validated, defaults filled,
 * durations in ms; module references parsed but not yet imported).
 */
import { z } from 'zod';
import type { LoopDefinition } from '../core/loop.ts';
import { backupSchema } from './backup-schema.ts';
import { dependencySchema } from './dependency-schema.ts';
import { observabilityShape } from './observability-schema.ts';
import { durationMs, loopSchemas } from './schema.ts';
import { services } from './services-schema.ts';
import { simulate, slo } from './simulate-schema.ts';

const {
  loopName: loopNameSchema,
  trigger: triggerSchema,
  policies: policiesSchema,
  publish: publishSchema,
} = loopSchemas();

/** `./loops/demo.ts#act`, parsed. `exportName` is `default` when there is no `#`. */
export interface ModuleRef {
  kind: 'module';
  /** As written, relative to the config file's directory. */
  module: string;
  exportName: string;
}

/** `{ command: "...", timeout: 1m }`, with the timeout in ms when given. */
export interface CommandSpec {
  kind: 'command';
  command: string;
  timeoutMs: number | undefined;
}

/** A module reference `"./path.ts#name"` (the export's name: `step` in the example of its error message). */
export function moduleRef(step: string) {
  const example = `"./loops/demo.ts#${step}"`;
  return z.string().transform((text, ctx): ModuleRef => {
    const match = /^((?:\.{1,2})?\/[^#]*[^#/])(?:#([A-Za-z_$][\w$]*))?$/.exec(text.trim());
    if (!match) {
      const hint = /^\S+\.\w+(#.*)?$/.test(text.trim())
        ? 'paths are relative to the config file and start with ./ or ../'
        : `to run a command write ${step}: { command: ${JSON.stringify(text)} }`;
      ctx.addIssue({ code: 'custom', message: `a module reference like ${example}`, params: { hint } });
      return z.NEVER;
    }
    return { kind: 'module', module: match[1] as string, exportName: match[2] ?? 'default' };
  });
}

const commandSpec = z
  .strictObject({
    command: z.string().trim().min(1),
    timeout: durationMs({ minMs: 1 }).optional(),
  })
  .transform((spec): CommandSpec => ({ kind: 'command', command: spec.command, timeoutMs: spec.timeout }));

/** observe and act: a module export, or a command speaking JSON on stdin/stdout. */
function stepRef(step: 'observe' | 'act') {
  return z.union([moduleRef(step), commandSpec], {
    error: `a module reference like "./loops/demo.ts#${step}" or { command: "./bin/${step}", timeout: 1m }`,
  });
}

/** A loop in a YAML file. Its name is its key under `loops`. */
export const fileLoopSchema = z
  .strictObject({
    description: z.string().optional(),
    trigger: triggerSchema,
    observe: stepRef('observe').optional(),
    plan: moduleRef('plan').optional(),
    act: stepRef('act'),
    items: z.array(z.unknown()).optional(),
    policies: policiesSchema,
    publish: publishSchema,
  })
  .superRefine((loop, ctx) => {
    if (loop.observe !== undefined && loop.items !== undefined) {
      const hint = 'items is the snapshot of a loop without observe; remove one of them';
      ctx.addIssue({ code: 'custom', path: ['items'], message: 'no items when observe is given', params: { hint } });
    }
    // With the default plan, items' keys are known now: a duplicate would fail every cycle.
    const keys = loop.plan === undefined ? (loop.items ?? []).map(defaultKey) : [];
    keys.forEach((key, index) => {
      if (key !== undefined && keys.indexOf(key) !== index) {
        const got = `a second item with key ${JSON.stringify(key)}`;
        ctx.addIssue({ code: 'custom', path: ['items', index], message: 'unique item keys', params: { got } });
      }
    });
  });

/** The key the default plan gives an item, when it does not depend on its position. */
function defaultKey(item: unknown): string | undefined {
  if (typeof item === 'string') return item;
  const key = (item as { key?: unknown } | null)?.key;
  return typeof key === 'string' ? key : undefined;
}

export type FileLoop = z.output<typeof fileLoopSchema>;

const STORE_EXPECTED = 'a store URL like "sqlite://./.autoloop/state.db", "redis://localhost:6379/0" or "memory://"';

const settingsShape = {
  store: z
    .string({ error: STORE_EXPECTED })
    .regex(/^((sqlite|redis|rediss):\/\/.+|memory:\/\/.*)$/, { error: STORE_EXPECTED })
    .optional(),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Bearer token for admin endpoints; empty = none. Usually "${AUTOLOOP_TOKEN:-}". */
      token: z
        .string()
        .superRefine((token, ctx) => {
          if (token === '' || token.length >= 16) return;
          // Never echo a secret, not even a bad one: say only how long it was.
          const got = `a token of ${token.length} characters (not shown)`;
          const message = 'a token of at least 16 characters (or "" to turn the admin endpoints off)';
          ctx.addIssue({ code: 'custom', message, params: { got } });
        })
        .default(''),
      /** Extra Host header values accepted besides localhost, 127.0.0.1, [::1] and the bind host. */
      allowedHosts: z
        .array(
          z.string().regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, {
            error: 'a host name or IP address without port or wildcard',
          }),
        )
        .default([]),
    })
    .prefault({}),
  leases: z.strictObject({ ttl: durationMs({ minMs: 100 }).default(10_000) }).prefault({}),
  dependencies: z.record(loopNameSchema, dependencySchema()).default({}),
  shutdown: z.strictObject({ grace: durationMs().default(30_000) }).prefault({}),
  /** Cycle records, item results and events older than this are pruned hourly; absent: kept forever. */
  retention: durationMs({ minMs: 60_000 }).optional(),
  /** log, alerts, webhooks, tracing. */
  ...observabilityShape,
  /** Supervised processes (seed 003), run by the daemon beside the loops. */
  services: services.schema,
  /** Models and faults for `autoloop simulate`, and the SLOs it checks (simulate-schema.ts). */
  simulate: simulate.schema,
  slo: slo.schema,
  /** Scheduled backups of the SQLite store, restored at start when the store file is corrupt. */
  backup: backupSchema(),
  /** Limits of the daemon's own process, for the generated systemd unit and Kubernetes manifest. */
  resources: z
    .strictObject({
      /** `512M`, `2G` (binary units, as systemd reads them): MemoryMax= and the container's memory limit. */
      memory: z
        .string()
        .regex(/^\d+(\.\d+)?[KMGT]$/, { error: 'a size like "512M" or "2G" (K, M, G or T)' })
        .optional(),
      /** `80%` of one core, `200%` for two: CPUQuota= and the container's CPU limit. */
      cpu: z
        .string()
        .regex(/^[1-9]\d*%$/, { error: 'a share of one core like "80%" (or "200%" for two cores)' })
        .optional(),
    })
    .prefault({}),
};

/** A YAML config file: settings plus loops keyed by name. */
export const fileConfigSchema = z.strictObject(
  {
    ...settingsShape,
    loops: z.record(loopNameSchema, fileLoopSchema, { error: 'a mapping of loop names to loops' }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'a mapping with at least a "loops" key' : undefined) },
);

/**
 * A TS/JS config module's default export: the same settings, loops as an
 * array of {@link LoopDefinition}s (validated one by one by resolveLoop).
 */
export const moduleConfigSchema = z.strictObject(
  {
    ...settingsShape,
    loops: z.array(z.custom<LoopDefinition>(), { error: 'a list of loop definitions (defineLoop results)' }),
  },
  {
    error: (issue) => (issue.code === 'invalid_type' ? 'a default export { loops: [...], store?, http? }' : undefined),
  },
);

export type FileSettings = Omit<z.output<typeof fileConfigSchema>, 'loops'>;
