import { importModule } from '../../config/import-module.ts';
import { AutoloopError } from '../../core/errors.ts';
import type { Collector } from './collector.ts';

/**
 * A collector exported by the user's module (`collector: { module:
 * ./collect.ts#collect }`, JavaScript or TypeScript): a function taking the
 * {@link CollectRequest} (the gap, the path to write, the signal, the
 * attempt) and resolving when the object is written. Imported at the first
 * collection, once; a module that does not export a function of that name
 * fails every collection with a message saying what it found.
 *
 * @example
 * // collect.ts
 * export async function collect({ gap, path, signal }) {
 *   const body = await (await fetch(`https://api.example/${gap.source}/${gap.date}`, { signal })).text();
 *   await writeFile(path, body);
 * }
 */
export function moduleCollector(file: string, exportName: string): Collector {
  let loaded: Promise<Collector> | null = null;
  const load = async (): Promise<Collector> => {
    const exports = await importModule(file);
    const fn = exports[exportName];
    if (typeof fn !== 'function') {
      const found = Object.keys(exports).join(', ') || 'nothing';
      throw new AutoloopError(
        `collector module ${file}: expected an exported function "${exportName}" (name it after #, e.g. ./collect.ts#${exportName}), found exports: ${found}`,
      );
    }
    return fn as Collector;
  };
  return async (request) => {
    loaded ??= load();
    const collect = await loaded.catch((error: unknown) => {
      loaded = null; // a module fixed on disk is picked up by the next collection
      throw error;
    });
    return collect(request);
  };
}
