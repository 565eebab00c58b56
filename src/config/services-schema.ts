/**
 * The `services:` section (seed 003's supervised processes): validated with
 * defaults here (stage 2), resolved to frozen {@link ServiceSpec}s with
 * absolute paths and byte sizes by {@link resolveServices} (stage 3).
 *
 * Seed 003's JSON keys map onto it as: `max_retries` → `restart.limit.restarts`,
 * `retry_delay` → `restart.backoff.initial` (with `multiplier: 1` for a fixed
 * delay), `max_memory_percent` → `limits.memory: "85%"`, `check_interval` →
 * `health.interval`, `enable_auto_restart: false` → `restart.policy: never`,
 * `max_cpu_percent` → `limits.cpu.percent`, `max_disk_percent: 95` →
 * `disk.criticalBelow: "5%"`.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { SERVICE_DEFAULTS, type ServiceSpec } from '../supervisor/service-spec.ts';
import { lazySection } from './lazy-section.ts';
import { INTERVAL_EXPECTED, rotateInterval } from './observability-schema.ts';
import { durationMs, loopSchemas } from './schema.ts';

const loopNameSchema = loopSchemas().loopName;

const SIZE_EXPECTED = 'a size like "512MB", "1GB" or "256M", or a share of the machine like "85%"';
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const;
const UNITS: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512MB`, `256M`, `1.5G`, `1048576` → bytes; `85%` → a percent of the machine. */
export function parseSize(text: string | number): { bytes: number } | { percent: number } | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? { bytes: text } : undefined;
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
  if (percent) {
    const value = Number(percent[1]);
    return value > 0 && value <= 100 ? { percent: value } : undefined;
  }
  const match = /^(\d+(?:\.\d+)?)\s*([BKMGT])?(?:I?B)?$/i.exec(text.trim());
  if (!match) return undefined;
  const bytes = Math.round(Number(match[1]) * (UNITS[(match[2] ?? 'B').toUpperCase()] as number));
  return bytes > 0 ? { bytes } : undefined;
}

/** `services:`, built when a config has it (lazy-section.ts). */
function buildServicesSchema() {
  const sizeSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
    const size = parseSize(value);
    if (!size) {
      ctx.addIssue({ code: 'custom', message: SIZE_EXPECTED, input: value });
      return z.NEVER;
    }
    return size;
  });

  const commandSchema = z.union([z.string().trim().min(1), z.array(z.string().min(1)).min(1)], {
    error: 'a command like "node server.js" (run by /bin/sh) or a list like [node, server.js] (run as is)',
  });

  const envSchema = z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'an environment variable name' }),
      z.union([z.string(), z.number(), z.boolean()]).transform(String),
    )
    .default({});

  const restartObject = z.strictObject({
    policy: z.enum(['always', 'on-failure', 'never']).default('always'),
    backoff: z
      .strictObject({
        initial: durationMs().default(SERVICE_DEFAULTS.backoff.initialMs),
        multiplier: z.number().min(1).default(SERVICE_DEFAULTS.backoff.multiplier),
        max: durationMs().default(SERVICE_DEFAULTS.backoff.maxMs),
        resetAfter: durationMs({ minMs: 1 }).default(SERVICE_DEFAULTS.backoff.resetAfterMs),
      })
      .prefault({}),
    limit: z
      .strictObject({
        restarts: z.number().int().min(1).default(SERVICE_DEFAULTS.limit.restarts),
        window: durationMs({ minMs: 1 }).default(SERVICE_DEFAULTS.limit.windowMs),
        onLimit: z.enum(['retry', 'stop']).default('retry'),
      })
      .prefault({}),
  });

  /** `restart: always` is short for `restart: { policy: always }`. */
  const restartSchema = z
    .union([z.enum(['always', 'on-failure', 'never']).transform((policy) => ({ policy })), z.object({}).passthrough()])
    .pipe(restartObject)
    .prefault({});

  const readySchema = z
    .strictObject({
      port: z.number().int().min(1).max(65535).optional(),
      host: z.string().min(1).optional(),
      http: z.url({ protocol: /^https?$/, error: 'an http(s) URL like "http://127.0.0.1:3000/health"' }).optional(),
      log: z.string().min(1).optional(),
      timeout: durationMs({ minMs: 1 }).default(SERVICE_DEFAULTS.readyTimeoutMs),
    })
    .superRefine((ready, ctx) => {
      const kinds = (['port', 'http', 'log'] as const).filter((k) => ready[k] !== undefined);
      if (kinds.length !== 1) {
        const got = kinds.length === 0 ? 'none of them' : kinds.join(' and ');
        ctx.addIssue({
          code: 'custom',
          message: 'exactly one of port, http or log',
          params: { got, hint: 'e.g. ready: { port: 3000 } or ready: { log: "listening on" }' },
        });
      }
      if (ready.log !== undefined) {
        try {
          new RegExp(ready.log);
        } catch {
          ctx.addIssue({ code: 'custom', path: ['log'], message: 'a regular expression', input: ready.log });
        }
      }
    });

  const diskSchema = z
    .strictObject({
      path: z.string().trim().min(1).optional(),
      warnBelow: sizeSchema.optional(),
      criticalBelow: sizeSchema.optional(),
    })
    .superRefine((disk, ctx) => {
      if (disk.warnBelow === undefined && disk.criticalBelow === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'warnBelow, criticalBelow or both',
          params: { hint: 'e.g. disk: { path: ./data, warnBelow: 10%, criticalBelow: 5% }' },
        });
      }
    });

  const healthSchema = z
    .strictObject({
      http: z.url({ protocol: /^https?$/, error: 'an http(s) URL like "http://127.0.0.1:3000/health"' }).optional(),
      command: z.string().trim().min(1).optional(),
      interval: durationMs({ minMs: 100 }).default(SERVICE_DEFAULTS.health.intervalMs),
      timeout: durationMs({ minMs: 1 }).default(SERVICE_DEFAULTS.health.timeoutMs),
      failures: z.number().int().min(1).default(SERVICE_DEFAULTS.health.failures),
      startPeriod: durationMs().default(SERVICE_DEFAULTS.health.startPeriodMs),
    })
    .superRefine((health, ctx) => {
      if ((health.http === undefined) === (health.command === undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: 'exactly one of http or command',
          params: { hint: 'e.g. health: { http: "http://127.0.0.1:3000/health", interval: 10s }' },
        });
      }
    });

  const logsSchema = z.union([
    z.literal(false),
    z
      .strictObject({
        file: z.string().trim().min(1).optional(),
        size: z
          .string({ error: 'a size like "10M" (a whole number and B, K, M or G)' })
          .regex(/^[1-9]\d*[BKMG]$/, { error: 'a size like "10M" (a whole number and B, K, M or G)' })
          .default('10M'),
        keep: z.number().int().min(1).max(999).default(5),
        /** Also rotate by age: "1d", "12h", "30m"; false (default): by size only. */
        interval: z.union([rotateInterval, z.literal(false)], { error: INTERVAL_EXPECTED }).default(false),
      })
      .prefault({}),
  ]);

  const serviceSchema = z.strictObject({
    command: commandSchema,
    cwd: z.string().trim().min(1).optional(),
    env: envSchema,
    instances: z.number().int().min(1).max(64).default(1),
    dependsOn: z.array(loopNameSchema).default([]),
    restart: restartSchema,
    stopSignal: z.enum(SIGNALS).default('SIGTERM'),
    killTimeout: durationMs().default(SERVICE_DEFAULTS.killTimeoutMs),
    ready: readySchema.optional(),
    limits: z
      .strictObject({
        memory: sizeSchema.optional(),
        samples: z.number().int().min(1).max(60).default(SERVICE_DEFAULTS.memorySamples),
        cpu: z
          .strictObject({
            percent: z.number({ error: 'a percent of one core like 90 (100 = one core busy)' }).positive(),
            window: durationMs({ minMs: 1_000 }).default(SERVICE_DEFAULTS.cpuWindowMs),
            restart: z.boolean().default(false),
          })
          .optional(),
      })
      .prefault({}),
    disk: diskSchema.optional(),
    health: healthSchema.optional(),
    logs: logsSchema.prefault({}),
    hang: z.strictObject({ silentFor: durationMs({ minMs: 100 }) }).optional(),
  });

  /** `services:`: names (like loop names) to services; each `dependsOn` must name another, without cycles. */
  const servicesSchema = z
    .record(loopNameSchema, serviceSchema, { error: 'a mapping of service names to services' })
    .default({})
    .superRefine((services, ctx) => {
      const names = Object.keys(services);
      for (const [name, service] of Object.entries(services)) {
        service.dependsOn.forEach((dep, index) => {
          if (names.includes(dep) && dep !== name) return;
          const known = names.filter((n) => n !== name).join(', ') || '(none)';
          const message = `another service under services: (${known})`;
          ctx.addIssue({ code: 'custom', path: [name, 'dependsOn', index], message, input: dep });
        });
      }
      const cycle = dependencyCycle(services);
      if (cycle) {
        const message = 'services that do not depend on each other in a cycle';
        ctx.addIssue({
          code: 'custom',
          path: [cycle[0] as string, 'dependsOn'],
          message,
          params: { got: cycle.join(' -> ') },
        });
      }
    });
  return servicesSchema;
}

/** `services:` as a key of the settings: no services when absent. */
export const services = lazySection(buildServicesSchema, (): Record<string, FileService> => ({}));

export type FileService = z.output<ReturnType<typeof buildServicesSchema>>[string];

function dependencyCycle(services: Record<string, { dependsOn: string[] }>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | null => {
    if (state.get(name) === 'done' || !services[name]) return null;
    if (state.get(name) === 'visiting') return [...path, name];
    state.set(name, 'visiting');
    for (const dep of services[name].dependsOn) {
      const found = visit(dep, [...path, name]);
      if (found) return found;
    }
    state.set(name, 'done');
    return null;
  };
  for (const name of Object.keys(services)) {
    const found = visit(name, []);
    if (found) return found;
  }
  return null;
}

/** Stage 3: commands to argv, paths absolute against the config's directory, everything frozen. */
export function resolveServices(services: Record<string, FileService>, dir: string): readonly ServiceSpec[] {
  return Object.freeze(Object.entries(services).map(([name, s]) => resolveService(name, s, dir)));
}

function resolveService(name: string, s: FileService, dir: string): ServiceSpec {
  const at = (path: string) => (isAbsolute(path) ? path : resolve(dir, path));
  const r = s.restart;
  return Object.freeze({
    name,
    argv: Object.freeze(typeof s.command === 'string' ? ['/bin/sh', '-c', s.command] : [...s.command]),
    cwd: at(s.cwd ?? '.'),
    env: Object.freeze({ ...s.env }),
    instances: s.instances,
    dependsOn: Object.freeze([...s.dependsOn]),
    restart: Object.freeze({
      policy: r.policy,
      backoff: Object.freeze({
        initialMs: r.backoff.initial,
        multiplier: r.backoff.multiplier,
        maxMs: r.backoff.max,
        resetAfterMs: r.backoff.resetAfter,
      }),
      limit: Object.freeze({ restarts: r.limit.restarts, windowMs: r.limit.window, onLimit: r.limit.onLimit }),
    }),
    stopSignal: s.stopSignal as NodeJS.Signals,
    killTimeoutMs: s.killTimeout,
    ready: s.ready ? Object.freeze(readySpec(s.ready)) : null,
    memory: s.limits.memory ? Object.freeze({ limit: s.limits.memory, samples: s.limits.samples }) : null,
    cpu: s.limits.cpu
      ? Object.freeze({ percent: s.limits.cpu.percent, windowMs: s.limits.cpu.window, restart: s.limits.cpu.restart })
      : null,
    disk: s.disk
      ? Object.freeze({
          path: at(s.disk.path ?? s.cwd ?? '.'),
          warnBelow: s.disk.warnBelow ?? null,
          criticalBelow: s.disk.criticalBelow ?? null,
        })
      : null,
    health: s.health ? Object.freeze(healthSpec(s.health)) : null,
    logs:
      s.logs === false
        ? null
        : Object.freeze({
            file: at(s.logs.file ?? `.autoloop/services/${name}.log`),
            size: s.logs.size,
            keep: s.logs.keep,
            interval: s.logs.interval === false ? null : s.logs.interval.trim(),
          }),
    hang: s.hang ? Object.freeze({ silentForMs: s.hang.silentFor }) : null,
  });
}

function readySpec(r: NonNullable<FileService['ready']>): NonNullable<ServiceSpec['ready']> {
  if (r.port !== undefined) return { kind: 'port', host: r.host ?? '127.0.0.1', port: r.port, timeoutMs: r.timeout };
  if (r.http !== undefined) return { kind: 'http', url: r.http, timeoutMs: r.timeout };
  return { kind: 'log', pattern: new RegExp(r.log as string), timeoutMs: r.timeout };
}

function healthSpec(h: NonNullable<FileService['health']>): NonNullable<ServiceSpec['health']> {
  const timing = {
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    failures: h.failures,
    startPeriodMs: h.startPeriod,
  };
  return h.http !== undefined
    ? { kind: 'http', url: h.http, ...timing }
    : { kind: 'command', command: h.command as string, ...timing };
}
