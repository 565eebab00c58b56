import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../context.ts';
import type { Output } from '../output.ts';
import { STARTER_CONFIG } from '../starter-config.ts';

export function registerInit(program: Command, output: Output): void {
  program
    .command('init [file]')
    .description('write a commented starter config (default ./autoloop.yaml): every key with its default and why')
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nExit 1 when the file exists and --force is not given.')
    .action((file: string | undefined, flags: { force?: boolean }) => {
      const path = resolve(process.cwd(), file ?? 'autoloop.yaml');
      try {
        writeFileSync(path, STARTER_CONFIG, { flag: flags.force ? 'w' : 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CliExit(EXIT.failed, `init: ${path} exists; keep it, or pass --force to overwrite it`);
        }
        throw new CliExit(EXIT.failed, `init: cannot write ${path}: ${(error as Error).message}`);
      }
      const shown = relative(process.cwd(), path) || path;
      output.out(`wrote ${shown}: one loop ("hello", every minute); every key shows its default`);
      output.out('next: autoloop validate, autoloop run hello, autoloop start; add .autoloop/ to .gitignore');
    });
}
