/**
 * Demo loop `prices`: every 10 s, fan out over 20 symbols and "fetch" a price
 * for each. The prices are SIMULATED (no network): latency is random in
 * 50 ms - 1.5 s and about one call in twenty fails, so retries, failures and
 * the pool show up in the records, logs and metrics.
 */
import type { CycleContext, ItemContext } from '../../src/index.ts';

export const SYMBOLS = [
  'BTC/USD',
  'ETH/USD',
  'SOL/USD',
  'XRP/USD',
  'ADA/USD',
  'DOGE/USD',
  'AVAX/USD',
  'DOT/USD',
  'LINK/USD',
  'MATIC/USD',
  'LTC/USD',
  'BCH/USD',
  'ATOM/USD',
  'UNI/USD',
  'XLM/USD',
  'ETC/USD',
  'FIL/USD',
  'APT/USD',
  'NEAR/USD',
  'ARB/USD',
];

/** The symbols to price this cycle. */
export function observe(_ctx: CycleContext): string[] {
  return SYMBOLS;
}

/** BTC and ETH first: they matter most to whoever reads the result. */
export function plan(symbols: string[]) {
  return symbols.map((symbol) => ({
    key: symbol,
    priority: symbol === 'BTC/USD' || symbol === 'ETH/USD' ? ('high' as const) : ('medium' as const),
    payload: { symbol },
  }));
}

/** One simulated price lookup; honours its AbortSignal like a real HTTP call would. */
export async function act(item: { payload: unknown }, { signal, clock }: ItemContext) {
  const { symbol } = item.payload as { symbol: string };
  await clock.sleep(50 + Math.random() * 1450, signal);
  if (Math.random() < 0.05) throw new Error(`simulated upstream error for ${symbol}`);
  return { symbol, price: Number((100 + Math.random() * 900).toFixed(2)), source: 'simulated' };
}
