#!/usr/bin/env node
// Builds dist/: the compiled modules of src/ (TypeScript 7 emit, see
// tsconfig.build.json), then every file of src/ that is not TypeScript and
// not a test (dashboard assets, recipe panels, any Lua or SQL read at run
// time) copied beside its module, so `new URL('./x', import.meta.url)` finds
// it in dist/ as it does in src/. New folders and files need no entry here.
// Then the often-used packages go into dist/vendor/ (vendor below) and the
// compiled modules into entry points and shared chunks (bundle below).
//
// Runs on `npm ci` in a checkout and before `npm pack` (`prepare`), and
// before `npm test` with --if-stale: only when a file of src/ or a tsconfig
// changed since the last build (the CLI and consumer tests run dist/).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');
const started = Date.now();

/**
 * `keepNames` (in bundle below) keeps every function's and class's `name` as written
 * when the bundle renames a binding to avoid a clash (an error class, a
 * function named in a message or a stack), through a helper esbuild calls
 * on each named function, including each closure a function makes at run
 * time: `__name(() => ..., "onAbort")`, an `Object.defineProperty` per
 * closure made (~3 % of the engine's CPU per item). Almost always the name
 * is already the one given: the helper then leaves the function alone (the
 * same property, value and attributes either way), and a statement that
 * names a function declaration after itself (`__name(parse, "parse");`, one
 * per module-level function, run at load) is dropped.
 */
const NAME_HELPER = 'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
const CHEAP_NAME_HELPER =
  'var __name = (target, value) => target.name === value ? target : __defProp(target, "name", { value, configurable: true });';
const SAME_NAME_STATEMENT = /^[ \t]*__name\(([\w$]+), "\1"\);\n/gm;
/** The same helper, declared in each file that uses it (a declaration: defined before any code of the file runs). */
const LOCAL_NAME_HELPER =
  'function __name(target, value) { return target.name === value ? target : Object.defineProperty(target, "name", { value, configurable: true }); }';

if (process.argv.includes('--if-stale') && !stale()) process.exit(0);

// A renamed or deleted module must not survive in dist/ from an earlier build.
rmSync(dist, { recursive: true, force: true });
// typescript's exports map hides bin/tsc; find it next to its package.json.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });

const assetFiles = new Set();
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || /\.[cm]?ts$/.test(entry.name) || /\.test\./.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(dist, relative(src, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  assetFiles.add(to);
}
const assets = assetFiles.size;
const vendored = await vendor();
const bundled = await bundle(assetFiles);

// Stamped with the start time: a file saved during the build makes the next one run.
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
utimesSync(stamp, started / 1000, started / 1000);
console.log(
  `autoloop: built dist/ (${assets} assets copied; ${vendored.join(', ')} bundled into dist/vendor/; ${bundled.modules} modules bundled into ${bundled.files} files) in ${Date.now() - started} ms`,
);

/**
 * The compiled modules bundled into few files: the package's entry points
 * (`.`, `./testing`, each recipe, the CLI) stay where the exports map and
 * the bin find them, and everything they import, statically or on use
 * (`import('./x.ts')`), goes into shared chunks under dist/chunks/, each
 * module in exactly one file: a user's module that imports `autoloop` and the
 * CLI running it share one copy of every class (`instanceof TerminalError`
 * holds across them). On Node 20, which has no compile cache, the module
 * loader's cost per file was about a third of a start (~190 files read,
 * resolved and linked before the daemon was ready). The `.d.ts` files stay
 * one per module (types only); dist/vendor/ stays as it is, and so do the
 * packages (loaded from node_modules, most of them on use).
 *
 * A module that finds a file beside itself (`new URL('./panel.css',
 * import.meta.url)`) would look beside its chunk instead: its
 * `import.meta.url` is rewritten to the URL its own file had, computed from
 * the dist/ directory of whichever file it ends up in.
 */
async function bundle(keep) {
  const esbuild = await import('esbuild');
  const entryPoints = [
    'index.js',
    'testing/index.js',
    'cli/main.js',
    ...readdirSync(join(dist, 'recipes'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `recipes/${e.name}/index.js`),
  ]
    .map((file) => join(dist, file))
    .filter((file) => existsSync(file));
  const VENDOR = '__autoloop_vendor__/';
  const metaUrl = {
    name: 'autoloop-module-url',
    setup(build) {
      // dist/vendor/ files stay files: an absolute marker here, a path relative to each output file below.
      build.onResolve({ filter: /vendor\/[\w-]+\.js$/ }, (args) => {
        const path = join(args.resolveDir, args.path);
        return dirname(path) === join(dist, 'vendor')
          ? { path: `${VENDOR}${relative(join(dist, 'vendor'), path)}`, external: true }
          : undefined;
      });
      build.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(dist)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const own = JSON.stringify(relative(dist, args.path).split('\\').join('/'));
        return { contents: text.replaceAll('import.meta.url', `(__autoloopDist + ${own})`), loader: 'js' };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints,
    outbase: dist,
    outdir: dist,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    // Error and class names are part of what users see and match on.
    keepNames: true,
    sourcemap: 'linked',
    // The dist/ URL of the file this code is in, whatever its depth (an entry, or a chunk).
    banner: { js: "const __autoloopDist = import.meta.url.slice(0, import.meta.url.lastIndexOf('/dist/') + 6);" },
    plugins: [metaUrl],
    metafile: true,
    write: false,
    allowOverwrite: true,
    logLevel: 'warning',
  });
  // Every compiled module that went into a bundle is removed (its .d.ts stays), then the bundles are written.
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = join(root, input);
    if (!path.startsWith(dist) || keep.has(path)) continue;
    rmSync(path, { force: true });
    rmSync(`${path}.map`, { force: true });
  }
  // keepNames' helper is emitted once, in a chunk of its own that every other imports it from; a new esbuild that
  // words it differently must fail the build here, not quietly bring back the per-closure cost.
  const helpers = result.outputFiles.filter((f) => f.path.endsWith('.js') && f.text.includes(NAME_HELPER));
  if (helpers.length !== 1)
    throw new Error(`build: expected esbuild's __name helper in one chunk, found it in ${helpers.length}`);
  const helper = basename(helpers[0].path).replace(/\./g, '\\.');
  // Each file defines the helper itself instead of importing it: on Node 20 an import costs a resolution and a
  // link per importing file (a third of the resolutions `import('autoloop')` made were this one chunk). Only
  // while that chunk holds the helper alone (its banner, the helper, its export): dropping an import of a chunk
  // with code of its own would change what runs.
  const rest = helpers[0].text
    .split('\n')
    .filter(
      (l) => !/^(const __autoloopDist = |var __defProp = |var __name = |export \{|\s*__name$|\};?$|\/\/# |$)/.test(l),
    );
  const never = /(?!)/;
  const namedImport =
    rest.length > 0 ? never : new RegExp(`^import \\{\\s*__name\\s*\\} from "[\\w./-]*/${helper}";\\n`, 'm');
  const bareImport = rest.length > 0 ? never : new RegExp(`^import "[\\w./-]*/${helper}";\\n`, 'gm');
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const toVendor = relative(dirname(file.path), join(dist, 'vendor')).split('\\').join('/');
    let text = file.text.replaceAll(VENDOR, `${toVendor.startsWith('.') ? toVendor : `./${toVendor}`}/`);
    if (file.path.endsWith('.js')) {
      text = text
        .replace(NAME_HELPER, CHEAP_NAME_HELPER)
        .replace(SAME_NAME_STATEMENT, '')
        .replace(namedImport, `${LOCAL_NAME_HELPER}\n`)
        .replace(bareImport, '');
      const hasName =
        text.includes('__name = ') ||
        text.includes(LOCAL_NAME_HELPER) ||
        /import\s*\{[^}]*\b__name\b[^}]*\}/.test(text);
      if (/\b__name\(/.test(text) && !hasName)
        throw new Error(`build: ${relative(dist, file.path)} calls __name without defining or importing it`);
    }
    writeFileSync(file.path, text);
  }
  const js = result.outputFiles.filter((f) => f.path.endsWith('.js'));
  return { modules: Object.keys(result.metafile.inputs).length, files: js.length };
}

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
    // Without its JIT: zod compiles a parser per object schema (new Function) at its first parse, which
    // a config validated once per process never repays (~30 ms of `autoloop status`). This copy is
    // autoloop's own, so the setting reaches no user's zod; a user's schema (a recipe's options) keeps its JIT.
    {
      file: 'zod',
      specifiers: ['zod'],
      contents: `${reExport(['zod'])}\nimport { config } from 'zod';\nconfig({ jitless: true });`,
    },
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
  // Each package is bundled as CommonJS (<file>.cjs), which an ES module of the same name (<file>.js, what the
  // compiled modules import) loads through load-vendor.js: with V8's code cache on Node 20 when the CLI asks
  // (scripts/vendor-loader.mjs says why), a plain require otherwise.
  mkdirSync(join(dist, 'vendor'), { recursive: true });
  copyFileSync(join(root, 'scripts', 'vendor-loader.mjs'), join(dist, 'vendor', 'load-vendor.js'));
  const requireDist = createRequire(join(dist, 'vendor', 'load-vendor.js'));
  for (const { file, contents } of entries) {
    const outfile = join(dist, 'vendor', `${file}.cjs`);
    await esbuild.build({
      plugins: file === 'zod' ? [englishOnly] : [],
      stdin: { contents, resolveDir: root, loader: 'js' },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      // Whitespace and local names only matter to a reader of the bundle; parsing 40% less is felt at each start.
      minify: true,
      outfile,
      // An ES module bundled into CommonJS that asks for its own URL (createRequire(import.meta.url)).
      define: { 'import.meta.url': '__vendorUrl' },
      banner: { js: "const __vendorUrl = require('node:url').pathToFileURL(__filename).href;" },
      logLevel: 'warning',
    });
    const names = Object.keys(requireDist(outfile));
    const named = names.filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
    writeFileSync(
      join(dist, 'vendor', `${file}.js`),
      [
        "import { loadVendor } from './load-vendor.js';",
        `const pkg = loadVendor(${JSON.stringify(file)}, ${JSON.stringify(createHash('sha256').update(readFileSync(outfile)).digest('hex').slice(0, 32))});`,
        ...(names.includes('default') ? ['export default pkg.default;'] : []),
        // One binding per name, exported under it: a name may be a reserved word (zod's `catch`, `enum`).
        ...named.map((n, i) => `const v${i} = pkg[${JSON.stringify(n)}];`),
        `export { ${named.map((n, i) => `v${i} as ${n}`).join(', ')} };`,
        '',
      ].join('\n'),
    );
  }
  const fileOf = new Map(entries.flatMap((e) => e.specifiers.map((s) => [s, e.file])));
  const quoted = [...fileOf.keys()].map((s) => s.replace(/[/@]/g, '\\$&')).join('|');
  // `require('zod')` too: a module that loads a package synchronously on first use (config/zod-on-use.ts).
  const specifier = new RegExp(`(from\\s*|import\\(\\s*|require\\(\\s*)(['"])(${quoted})\\2`, 'g');
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
  const inputs = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/vendor-loader.mjs'].map((f) =>
    join(root, f),
  );
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) inputs.push(join(entry.parentPath, entry.name));
  }
  return inputs.some((file) => statSync(file).mtimeMs > built);
}
