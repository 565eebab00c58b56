import { readFileSync } from 'node:fs';
import type { DashboardPanel } from '../../http/extension.ts';

let files: { script: string; style: string } | undefined;

/**
 * The signals recipe's dashboard panel: panel.js (the latest signal per
 * symbol, live from `/signals/stream`) and panel.css, beside this file.
 * Read on first call (when the recipe starts, never on import) and kept:
 * they are assets that ship with the recipe's code (there is no build step;
 * one that bundles src/ must copy them).
 *
 * @example
 * start: () => ({ panel: signalsPanel() })
 */
export function signalsPanel(): DashboardPanel {
  files ??= {
    script: readFileSync(new URL('./panel.js', import.meta.url), 'utf8'),
    style: readFileSync(new URL('./panel.css', import.meta.url), 'utf8'),
  };
  return { title: 'Signals', ...files };
}
