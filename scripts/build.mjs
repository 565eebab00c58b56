#!/usr/bin/env node
// Builds dist/: the compiled modules of src/ (TypeScript 7 emit, see
// tsconfig.build.json), then every file of src/ that is not TypeScript and
// not a test (dashboard assets, recipe panels, any Lua or SQL read at run
// time) copied beside its module, so `new URL('./x', import.meta.url)` finds
// it in dist/ as it does in src/. New folders and files need no entry here.
//
// Runs on `npm ci` in a checkout and before `npm pack` (`prepare`), and
// before `npm test` with --if-stale: only when a file of src/ or a tsconfig
// changed since the last build (the CLI and consumer tests run dist/).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');
const started = Date.now();

if (process.argv.includes('--if-stale') && !stale()) process.exit(0);

// A renamed or deleted module must not survive in dist/ from an earlier build.
rmSync(dist, { recursive: true, force: true });
// typescript's exports map hides bin/tsc; find it next to its package.json.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });

let assets = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || /\.[cm]?ts$/.test(entry.name) || /\.test\./.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(dist, relative(src, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  assets += 1;
}
// Stamped with the start time: a file saved during the build makes the next one run.
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
utimesSync(stamp, started / 1000, started / 1000);
console.log(`autoloop: built dist/ (${assets} assets copied) in ${Date.now() - started} ms`);

/** Whether a source or config file is newer than the last build's stamp. */
function stale() {
  let built;
  try {
    built = statSync(stamp).mtimeMs;
  } catch {
    return true;
  }
  const inputs = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'].map((f) => join(root, f));
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) inputs.push(join(entry.parentPath, entry.name));
  }
  return inputs.some((file) => statSync(file).mtimeMs > built);
}
