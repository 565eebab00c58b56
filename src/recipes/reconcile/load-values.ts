import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { runCommand } from '../../execution/command.ts';
import type { Clock } from '../../time/clock.ts';
import { type CoverageSpec, valueFields } from './coverage-spec.ts';
import type { LoadedValues } from './expected-keys.ts';

/**
 * Reads the values lists that live outside the spec, once per reconcile (a
 * season's game dates may grow): `values: { file }` is a `.json`, `.yaml` or
 * `.yml` list, else one value per line (blank lines and `#` comments
 * skipped); `values: { command }` prints a JSON list. Entries are text, or
 * mappings of fields (`{ date, game }`). Rejects naming the source and the
 * file or command.
 */
export async function loadValues(
  spec: CoverageSpec,
  options: { signal: AbortSignal; clock: Clock },
): Promise<LoadedValues> {
  const out = new Map<string, Array<Record<string, string>>>();
  for (const source of spec.sources) {
    const values = source.values;
    if (!values || values.kind === 'list') continue;
    let list: unknown;
    if (values.kind === 'file') {
      let text: string;
      try {
        text = await readFile(values.path, 'utf8');
      } catch (error) {
        throw new Error(`coverage source ${source.name}: cannot read values file ${values.path}: ${messageOf(error)}`);
      }
      list = /\.(json|ya?ml)$/i.test(values.path)
        ? YAML.parse(text)
        : text
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => line !== '' && !line.startsWith('#'));
    } else {
      list = await runCommand({
        command: values.command,
        timeoutMs: values.timeoutMs,
        signal: options.signal,
        clock: options.clock,
        cwd: values.cwd,
        what: `values of ${source.name}`,
      });
    }
    if (!Array.isArray(list)) {
      const from = values.kind === 'file' ? `file ${values.path}` : `command \`${values.command}\``;
      throw new Error(`coverage source ${source.name}: values ${from}: expected a list, got ${typeof list}`);
    }
    out.set(source.name, list.map(valueFields));
  }
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
