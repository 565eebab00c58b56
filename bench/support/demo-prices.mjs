// The demo's `prices` loop (examples/demo/prices.ts) as plain JavaScript, for
// bench/http-footprint.ts: on Node 20 a .ts module would load tsx into the
// autoloop process, and the bench measures autoloop, not the loader. Same
// behaviour: 20 symbols, 50 ms - 1.5 s simulated latency, ~5 % failures.
const SYMBOLS = [
  'BTC',
  'ETH',
  'SOL',
  'XRP',
  'ADA',
  'DOGE',
  'AVAX',
  'DOT',
  'LINK',
  'MATIC',
  'LTC',
  'BCH',
  'ATOM',
  'UNI',
  'XLM',
  'ETC',
  'FIL',
  'APT',
  'NEAR',
  'ARB',
].map((base) => `${base}/USD`);

export const observe = () => SYMBOLS;

export const plan = (symbols) =>
  symbols.map((symbol) => ({
    key: symbol,
    priority: symbol === 'BTC/USD' || symbol === 'ETH/USD' ? 'high' : 'medium',
    payload: { symbol },
  }));

export async function act(item, { signal, clock }) {
  const { symbol } = item.payload;
  await clock.sleep(50 + Math.random() * 1450, signal);
  if (Math.random() < 0.05) throw new Error(`simulated upstream error for ${symbol}`);
  return { symbol, price: Number((100 + Math.random() * 900).toFixed(2)), source: 'simulated' };
}
