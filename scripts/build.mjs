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
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
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
const vendored = await vendor();

// Stamped with the start time: a file saved during the build makes the next one run.
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
utimesSync(stamp, started / 1000, started / 1000);
console.log(
  `autoloop: built dist/ (${assets} assets copied; ${vendored.join(', ')} bundled into dist/vendor/) in ${Date.now() - started} ms`,
);

/**
 * The dependencies loaded as many small modules (zod: ~100 files, yaml: ~70),
 * each bundled into one file of dist/vendor/ that the compiled modules import
 * instead: on Node 20 the module loader's cost per file, not the code, was
 * most of their load time and memory (zod 12 MiB and ~90 ms as files, 6 MiB
 * and ~30 ms as one). The .d.ts files still name the packages, which stay
 * dependencies for their types. A user's own zod schemas (a recipe's
 * `options`) work with the bundled copy: zod 4 checks schemas by their
 * traits, not by class identity. esbuild is the one tsx brings.
 */
async function vendor() {
  const esbuild = await import('esbuild');
  const require = createRequire(import.meta.url);
  // A CommonJS package's names are only known by loading it (yaml is one).
  const names = (name) =>
    Object.keys(require(name))
      .filter((key) => key !== 'default' && /^[A-Za-z_$][\w$]*$/.test(key))
      .join(', ');
  const entries = {
    zod: "export * from 'zod';",
    yaml: `import YAML from 'yaml';\nexport default YAML;\nexport const { ${names('yaml')} } = YAML;\n`,
  };
  for (const [name, contents] of Object.entries(entries)) {
    await esbuild.build({
      stdin: { contents, resolveDir: root, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Whitespace and local names only matter to a reader of the bundle; parsing 40% less is felt at each start.
      minify: true,
      outfile: join(dist, 'vendor', `${name}.js`),
      // A CommonJS package bundled into ESM still calls require('process').
      banner: { js: "import { createRequire as vendorRequire } from 'node:module';\nconst require = vendorRequire(import.meta.url);" },
      logLevel: 'warning',
    });
  }
  const specifier = new RegExp(`(from\\s*|import\\(\\s*)(['"])(${Object.keys(entries).join('|')})\\2`, 'g');
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js') || entry.parentPath.startsWith(join(dist, 'vendor'))) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(specifier, (_, lead, quote, name) => {
      const to = relative(entry.parentPath, join(dist, 'vendor', `${name}.js`));
      return `${lead}${quote}${to.startsWith('.') ? to : `./${to}`}${quote}`;
    });
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  return Object.keys(entries);
}

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
