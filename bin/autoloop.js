#!/usr/bin/env node
// Loads TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
// `autoloop cycles x | head`: a reader that went away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
