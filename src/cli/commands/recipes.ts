import type { Command } from 'commander';
import { RecipeRegistry } from '../../recipes/registry.ts';
import { write } from '../context.ts';
import type { Output } from '../output.ts';

/**
 * `autoloop recipes`: the recipes a config can name with `recipe:`, and the
 * commands each recipe adds (from its registry entry, so the recipe's own
 * code loads only when one of its commands runs).
 */
export function registerRecipes(program: Command, output: Output): void {
  const registry = new RecipeRegistry();
  program
    .command('recipes')
    .description('list the recipes a loop can name with `recipe:`')
    .option('--json', 'print as JSON')
    .action((flags: { json?: boolean }) => {
      const rows = registry.entries().map(({ name, description }) => ({ name, description }));
      write(output, flags.json === true, rows, () =>
        rows.map((r) => `${r.name.padEnd(12)} ${r.description}`).join('\n'),
      );
    });
  for (const entry of registry.entries()) entry.commands?.(program, output);
}
