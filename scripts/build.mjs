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
import { fileURLToPath, pathToFileURL } from 'node:url';

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
 * The dependencies loaded as many small modules, each bundled into one file
 * of dist/vendor/ that the compiled modules import instead: on Node 20 the
 * module loader's cost per file, not the code, was most of their load time
 * and memory (zod: ~100 files, 12 MiB and ~90 ms as files, 6 MiB and ~30 ms
 * as one; yaml, hono, prom-client and pino ~5 MiB each). A vendor file may stand
 * for several specifiers of one package family (hono's subpaths). The .d.ts
 * files still name the packages, which stay dependencies for their types.
 * A user's own zod schemas (a recipe's `options`) and prom-client metrics
 * (a recipe's, in the runtime's registry) work with the bundled copies: zod
 * 4 checks schemas by their traits, prom-client's registry by shape, not by
 * class identity (so autoloop's own checks never use `instanceof` on them). pino's worker transports, which load their files by
 * path, would not work from the bundle: autoloop logs on the main thread
 * (logging.ts) and never starts one. esbuild is a devDependency (the same
 * version tsx uses).
 */
async function vendor() {
  const esbuild = await import('esbuild');
  const require = createRequire(import.meta.url);
  // A CommonJS package's names are only known by loading it.
  const commonJs = (name) => {
    const names = Object.keys(require(name)).filter((key) => key !== 'default' && /^[A-Za-z_$][\w$]*$/.test(key));
    return `import pkg from '${name}';\nexport default pkg;\nexport const { ${names.join(', ')} } = pkg;\n`;
  };
  const reExport = (specifiers) => specifiers.map((s) => `export * from '${s}';`).join('\n');
  const HONO = ['hono', 'hono/http-exception', 'hono/streaming'];
  const entries = [
    { file: 'zod', specifiers: ['zod'], contents: reExport(['zod']) },
    { file: 'yaml', specifiers: ['yaml'], contents: commonJs('yaml') },
    { file: 'hono', specifiers: HONO, contents: reExport(HONO) },
    // Apart from hono: it loads node's fetch classes (undici, ~8 MiB) at import, which the probe routes never need.
    { file: 'hono-node-server', specifiers: ['@hono/node-server'], contents: reExport(['@hono/node-server']) },
    { file: 'prom-client', specifiers: ['prom-client'], contents: commonJs('prom-client') },
    { file: 'commander', specifiers: ['commander'], contents: reExport(['commander']) },
    // pino's worker transports would look for their files beside the bundle; autoloop logs on the main thread only.
    { file: 'pino', specifiers: ['pino'], contents: commonJs('pino') },
  ];
  // zod's namespaces carry every message locale (~60, half its source); autoloop's messages are its own
  // and zod's English is the only one it sets, so the bundle keeps `en` alone (z.locales.en).
  const englishOnly = {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        args.importer.includes(join('node_modules', 'zod', 'v4'))
          ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: "export { default as en } from './en.js';\n",
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
    },
  };
  for (const { file, contents } of entries) {
    await esbuild.build({
      plugins: file === 'zod' ? [englishOnly] : [],
      stdin: { contents, resolveDir: root, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Whitespace and local names only matter to a reader of the bundle; parsing 40% less is felt at each start.
      minify: true,
      outfile: join(dist, 'vendor', `${file}.js`),
      // A CommonJS package bundled into ESM still calls require('process').
      banner: {
        js: "import { createRequire as vendorRequire } from 'node:module';\nconst require = vendorRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
  }
  const fileOf = new Map(entries.flatMap((e) => e.specifiers.map((s) => [s, e.file])));
  const quoted = [...fileOf.keys()].map((s) => s.replace(/[/@]/g, '\\$&')).join('|');
  const specifier = new RegExp(`(from\\s*|import\\(\\s*)(['"])(${quoted})\\2`, 'g');
  const named = new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*['"](${quoted})['"]`, 'g');
  const wanted = new Map(); // vendor file -> names the compiled modules import from it
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js') || entry.parentPath.startsWith(join(dist, 'vendor'))) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, 'utf8');
    for (const [, list, spec] of text.matchAll(named)) {
      const names = list
        .split(',')
        .map((n) => n.trim().split(/\s+as\s+/)[0])
        .filter(Boolean);
      wanted.set(fileOf.get(spec), [...(wanted.get(fileOf.get(spec)) ?? []), ...names]);
    }
    const rewritten = text.replace(specifier, (_, lead, quote, spec) => {
      const to = relative(entry.parentPath, join(dist, 'vendor', `${fileOf.get(spec)}.js`));
      return `${lead}${quote}${to.startsWith('.') ? to : `./${to}`}${quote}`;
    });
    if (rewritten !== text) writeFileSync(path, rewritten);
  }
  // A name a bundle lacks would fail only when its importer loads: fail the build instead.
  for (const [file, names] of wanted) {
    const exported = await import(pathToFileURL(join(dist, 'vendor', `${file}.js`)).href);
    const missing = [...new Set(names)].filter((n) => !(n in exported));
    if (missing.length > 0) throw new Error(`build: dist/vendor/${file}.js lacks ${missing.join(', ')}`);
  }
  return entries.map((e) => e.file);
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
