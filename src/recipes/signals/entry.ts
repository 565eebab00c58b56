import type { RecipeEntry } from '../registry.ts';

/** The signals recipe as the registry lists it; its code loads on first use. */
export const signalsEntry: RecipeEntry = {
  name: 'signals',
  description:
    'every minute, per symbol: candles -> indicators -> a scored BUY/SELL/HOLD signal -> optional LLM stages',
  load: () => import('./recipe.ts').then((m) => m.signals),
};
