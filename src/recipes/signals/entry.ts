import { loadOptional } from '../../core/optional-package.ts';
import type { RecipeEntry } from '../registry.ts';

/**
 * What the recipe's code imports beyond autoloop's own dependencies: the
 * indicator library, an optional dependency of autoloop that only a config
 * with `recipe: signals` needs. The LLM client (openai) loads at an LLM
 * stage's first call (llm-stage.ts), so a config without stages needs none.
 */
const PACKAGES = ['trading-signals@8.3.0'];

/** The signals recipe as the registry lists it; its code loads on first use. */
export const signalsEntry: RecipeEntry = {
  name: 'signals',
  description:
    'every minute, per symbol: candles -> indicators -> a scored BUY/SELL/HOLD signal -> optional LLM stages',
  load: () => loadOptional('the signals recipe', PACKAGES, () => import('./recipe.ts')).then((m) => m.signals),
};
