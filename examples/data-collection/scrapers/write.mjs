// Shared by the example's scrapers: write a JSON object to `path` atomically
// (a hidden temporary file renamed into place, so a half-written file is
// never taken for the real one), after `delayMs`.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function collect(path, body, delayMs) {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  await writeFile(tmp, `${JSON.stringify(body)}\n`);
  await rename(tmp, path);
  process.stdout.write(`${JSON.stringify({ wrote: path })}\n`);
}
