import type { Command } from 'commander';
import type { Output } from '../cli/output.ts';
import { AutoloopError } from '../core/errors.ts';
import type { Store } from '../storage/store.ts';
import { decideEntry } from './decide/entry.ts';
import type { Recipe } from './recipe.ts';
import { reconcileEntry } from './reconcile/entry.ts';
import { signalsEntry } from './signals/entry.ts';

/**
 * A recipe as the registry knows it before it is needed: its name and
 * description, and how to load it. Built-in recipes load on first use, so a
 * config without `recipe: signals` never loads the LLM client or the
 * indicator library.
 */
export interface RecipeEntry {
  readonly name: string;
  readonly description: string;
  load(): Promise<Recipe>;
  /** CLI commands the recipe adds (`autoloop <command>`); keep this light and load the recipe inside actions. */
  commands?(program: Command, output: Output): void;
  /**
   * What the recipe adds to `autoloop status`. With a daemon running, the
   * status is its `/status` body's `recipes.<name>.status` (the recipe's
   * `status` part); without one, `read` builds the same shape from the
   * store for the config's `loops` of this recipe. `lines` lays it out as
   * text. Both load the recipe's code inside, as `commands` do.
   */
  readonly cliStatus?: {
    read(store: Store, loops: readonly string[]): Promise<unknown>;
    lines(status: unknown): Promise<string[]>;
  };
}

/** The recipes shipped with autoloop. The one place outside a recipe's folder that names it. */
export const BUILTIN_RECIPES: readonly RecipeEntry[] = [signalsEntry, reconcileEntry, decideEntry];

/**
 * The recipes a config may name with `recipe:` and a runtime may start:
 * the built-in ones plus any registered. The config loader, the runtime,
 * the HTTP app (through the runtime), the dashboard and the CLI all read
 * recipes from one of these.
 *
 * @example
 * const registry = new RecipeRegistry().register(myRecipe);
 * await registry.get('signals');
 */
export class RecipeRegistry {
  readonly #entries = new Map<string, RecipeEntry>();

  constructor(entries: readonly RecipeEntry[] = BUILTIN_RECIPES) {
    for (const entry of entries) this.#add(entry);
  }

  /** Adds a recipe defined in TypeScript. A name already registered is an error. */
  register(recipe: Recipe): this {
    this.#add({ name: recipe.name, description: recipe.description, load: async () => recipe });
    return this;
  }

  #add(entry: RecipeEntry): void {
    if (!/^[a-z][a-z0-9-]{0,40}$/.test(entry.name)) {
      throw new AutoloopError(
        `recipe name: expected lower-case letters, digits and dashes, starting with a letter (it is a URL path), got "${entry.name}"`,
      );
    }
    if (this.#entries.has(entry.name)) throw new AutoloopError(`a recipe named "${entry.name}" is already registered`);
    this.#entries.set(entry.name, entry);
  }

  /** Registered names, built-in first, in registration order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  entries(): RecipeEntry[] {
    return [...this.#entries.values()];
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The recipe, loaded; undefined for a name not registered. */
  async get(name: string): Promise<Recipe | undefined> {
    return this.#entries.get(name)?.load();
  }
}

/** The built-in recipes plus `extra`. */
export function recipeRegistry(extra: readonly Recipe[] = []): RecipeRegistry {
  const registry = new RecipeRegistry();
  for (const recipe of extra) registry.register(recipe);
  return registry;
}
