#!/usr/bin/env node
// The CLI as compiled JavaScript (dist/, built by `npm run build`, which
// `npm ci` runs in a checkout), on plain node: no TypeScript compile at start.
// AUTOLOOP_FROM_SOURCE=1 runs src/ through tsx instead (a checkout's tests do,
// so they follow src/ without a rebuild); so does a checkout not built yet.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';

// `autoloop --version` answers before anything else loads (no CLI parser, no
// command module): scripts and health checks call it often.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}

// `autoloop cycles x | head`: a reader that went away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// Node 22.1+: V8's code cache for the modules loaded from here on (kept in
// the OS temp dir, as Node's own CLI tools do), so a command does not compile
// them again at each start. Node 20 has no such cache: there the bundled
// packages of dist/vendor/ (zod, yaml, commander, ...) keep one of their own
// (dist/vendor/load-vendor.js), asked for here so that only the CLI writes it.
if (module.enableCompileCache) module.enableCompileCache();
else if (!process.env.NODE_DISABLE_COMPILE_CACHE) process[Symbol.for('autoloop.vendorCodeCache')] = true;

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const fromSource = existsSync(source) && (process.env.AUTOLOOP_FROM_SOURCE === '1' || !existsSync(compiled));
if (fromSource) {
  // Both hook sets, as `node --import tsx` does: user modules a config names
  // (.ts outside a "type": "module" package) need the CommonJS ones too.
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  cjs.register();
  esm.register();
}
const { main } = await import(fromSource ? source.href : compiled.href);
process.exitCode = await main(args);
