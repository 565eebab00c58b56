import { loadOptional } from '../../core/optional-package.ts';
import type { RecipeEntry } from '../registry.ts';

/**
 * What the recipe's code imports beyond autoloop's own dependencies: the LLM
 * client and the indicator library, optional dependencies of autoloop that
 * only a config with `recipe: signals` needs.
 */
const PACKAGES = ['openai@6.49.0', 'trading-signals@8.3.0'];

/** The signals recipe as the registry lists it; its code loads on first use. */
export const signalsEntry: RecipeEntry = {
  name: 'signals',
  description:
    'every minute, per symbol: candles -> indicators -> a scored BUY/SELL/HOLD signal -> optional LLM stages',
  load: () => loadOptional('the signals recipe', PACKAGES, () => import('./recipe.ts')).then((m) => m.signals),
};
