/**
 * autoloop: a runtime for autonomous, self-healing background loops.
 *
 * @example
 * import { createRuntime, defineLoop } from 'autoloop';
 * const prices = defineLoop({
 *   name: 'prices',
 *   trigger: { cron: '*\/10 * * * * *' },
 *   observe: () => ['BTC/USD', 'ETH/USD'],
 *   act: async (item, { signal }) => fetchPrice(item.key, { signal }),
 *   policies: { timeout: '5s', retry: { attempts: 3 } },
 * });
 * const runtime = createRuntime({ loops: [prices], store: 'sqlite://./.autoloop/state.db' });
 * await runtime.start();
 */

export { ConfigError } from './config/config-error.ts';
export { defineLoop } from './config/define-loop.ts';
export type { ConfigOverrides, LoadConfigOptions, ResolvedConfig } from './config/load-config.ts';
export { loadConfig } from './config/load-config-on-use.ts';
export type { CycleOutcome, CycleRecord, ItemResult, Tick } from './core/cycle-record.ts';
export { AutoloopError, CommandError, ShutdownError, TerminalError, TimeoutError } from './core/errors.ts';
export type { Logger } from './core/logger.ts';
export type {
  CycleContext,
  ItemContext,
  LoopDefinition,
  LoopPolicies,
  OverlapPolicy,
  ResolvedLoop,
  RetrySpec,
  TriggerSpec,
} from './core/loop.ts';
export { MissingPackageError } from './core/optional-package.ts';
export {
  type RetryOutcome,
  RetryRequestedError,
  retryAfter,
  type SkipOutcome,
  skipItem,
} from './core/outcome.ts';
export type { PlannedItem, Priority, WorkItem } from './core/work-item.ts';
export { PRIORITIES } from './core/work-item.ts';
export { type AnyEvent, EventBus, type EventMap, type EventName } from './observability/events.ts';
export type { HookSpan, SpanAttributes, SpanHook, SpanStart } from './observability/span-hook.ts';
export { defineRecipe, type Recipe, type RecipeContext, type RecipeParts, recipeLoops } from './recipes/recipe.ts';
export { RecipeRegistry } from './recipes/registry.ts';
export { runtimeOptionsFromConfig } from './runtime/from-config.ts';
export type { ComponentHealth, HealthCheck, HealthReport } from './runtime/health.ts';
export { createRuntime, Runtime, type RuntimeOptions } from './runtime/runtime.ts';
export { openStore } from './storage/open-store.ts';
export type {
  CycleStore,
  DocumentStore,
  EventLog,
  JournalStore,
  QueuedItem,
  Store,
  StoredEvent,
  WorkQueue,
} from './storage/store.ts';
export type { Clock, TimerHandle } from './time/clock.ts';
export type { Duration } from './time/duration.ts';
export type { Entropy } from './time/entropy.ts';
export { systemClock } from './time/system-clock.ts';
export { systemEntropy } from './time/system-entropy.ts';
