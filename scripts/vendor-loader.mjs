// Copied by scripts/build.mjs to dist/vendor/load-vendor.js. Each file of
// dist/vendor/ (zod.js, yaml.js, ...) is a small ES module that re-exports
// what loadVendor returns: the package bundled as CommonJS beside it
// (zod.cjs, ...).
//
// Why: on Node 20, which has no module.enableCompileCache, parsing and
// compiling these bundles (~360 kB for zod, yaml and commander) was a large
// part of each short CLI command (`autoloop status`). When the CLI asks for
// it (bin/autoloop.js, on a Node without enableCompileCache), a bundle is
// compiled with V8's code cache, kept in a directory of the OS temp dir that
// only this user can write ($TMPDIR/autoloop-code-cache-<uid>; NODE_DISABLE_COMPILE_CACHE=1
// turns it off, as it does Node's); the cache is written at exit the first time and
// whenever V8 refuses it (another Node, another bundle). Everywhere else (a
// program that imports autoloop, Node 22+ where the CLI turns on Node's own
// compile cache) a bundle is a plain require.
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const require = createRequire(import.meta.url);
const here = fileURLToPath(new URL('.', import.meta.url));
const CACHE_DIR = Symbol.for('autoloop.vendorCodeCache');

/** The package bundled as `<name>.cjs` beside this file (`contentHash`: its SHA-256, from the build): its `module.exports`. */
export function loadVendor(name, contentHash) {
  const file = join(here, `${name}.cjs`);
  const dir = cacheDir();
  if (dir === null) return require(file);
  const source = readFileSync(file, 'utf8');
  // Named by the content as built (V8 checks only a cache's source length, and npm gives every packed file
  // the same mtime), and by the file as it is now: a bundle edited in place after the build (by hand, by
  // patch-package) has another mtime, so it is compiled afresh rather than run from the older cache.
  const { mtimeMs, ino } = statSync(file);
  const cacheFile = join(dir, `${name}-${process.version}-${contentHash}-${Math.trunc(mtimeMs)}-${ino}.bin`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const module = { id: file, filename: file, loaded: false, exports: {} };
  // As Node's own CommonJS wrapper calls it: `this` is module.exports.
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, here);
  module.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit: the functions the command compiled go into the cache too. Written beside, then renamed (a
    // concurrent command reads a whole cache or none).
    process.once('exit', () => {
      const partial = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
        renameSync(partial, cacheFile);
      } catch {
        // A cache not written only costs the next command the compile; a partial one is not left behind.
        rmSync(partial, { force: true });
      }
      removeStale(dir, name, cacheFile);
    });
  }
  return module.exports;
}

/**
 * A cache file of the same bundle written more than this long ago is
 * deleted when another one of it is written: each install, upgrade or
 * rebuild names its own (another content hash, mtime or inode), and the
 * directory would otherwise keep them all. Two installs used in turn each
 * compile afresh at most once per period.
 */
const STALE_CACHE_MS = 24 * 60 * 60 * 1000;

/** Deletes `name`'s other cache files (and partial ones) written STALE_CACHE_MS before `kept`; a failure is left for next time. */
function removeStale(dir, name, kept) {
  let files;
  try {
    files = readdirSync(dir);
  } catch {
    return;
  }
  let now;
  try {
    now = lstatSync(kept).mtimeMs; // the file system's time, as the other files' mtimes are
  } catch {
    return; // not written
  }
  for (const file of files) {
    const path = join(dir, file);
    // `<name>-v<node version>-`: `hono-` alone would also match the `hono-node-server` bundle's files.
    if (path === kept || !file.startsWith(`${name}-v`)) continue;
    try {
      if (now - lstatSync(path).mtimeMs > STALE_CACHE_MS) rmSync(path, { force: true });
    } catch {
      // Removed meanwhile by a concurrent command.
    }
  }
}

/** The cache directory when the CLI asked for one and it is this user's alone; otherwise null (plain require). */
function cacheDir() {
  if (process[CACHE_DIR] !== true) return null;
  checkedDir ??= { dir: ownDir() }; // checked once per process, not once per bundle
  return checkedDir.dir;
}

let checkedDir;

function ownDir() {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  const dir = join(tmpdir(), `autoloop-code-cache-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    // Another user's directory, one others can write, or a link elsewhere could hold code this process would run.
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}
