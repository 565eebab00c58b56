import type { RecipeEntry } from '../registry.ts';

/** The decide recipe as the registry lists it; its code loads on first use. */
export const decideEntry: RecipeEntry = {
  name: 'decide',
  description:
    "every 30 s: sense loops and the seed's coordination directory -> weighted health score -> ranked decisions with a confidence -> scale a loop's concurrency",
  load: () => import('./recipe.ts').then((m) => m.decide as never),
};
