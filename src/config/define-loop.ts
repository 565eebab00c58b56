import type { LoopDefinition } from '../core/loop.ts';
import { resolveLoop } from './resolve-loop.ts';

/**
 * Declares a loop in TypeScript. Validates it now, so a bad trigger or
 * duration fails where the loop is written (a {@link ConfigError} from
 * `defineLoop(<name>)`), and returns it unchanged with its types inferred:
 * the snapshot type flows from observe to plan, the payload type from plan
 * to act.
 *
 * @example
 * export default defineLoop({
 *   name: 'prices',
 *   trigger: { cron: '*\/1 * * * *' },
 *   observe: async ({ signal }) => listSymbols(signal),
 *   plan: (symbols) => symbols.map((s) => ({ key: s, payload: { symbol: s } })),
 *   act: async (item, { signal }) => analyse(item.payload.symbol, signal),
 *   policies: { timeout: '10s', retry: { attempts: 2 } },
 * });
 */
export function defineLoop<S = unknown, P = unknown>(def: LoopDefinition<S, P>): LoopDefinition<S, P> {
  const name = typeof def?.name === 'string' ? def.name : '?';
  resolveLoop(def, `defineLoop(${name})`);
  return def;
}
