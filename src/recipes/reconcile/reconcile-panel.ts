import { readFileSync } from 'node:fs';
import type { DashboardPanel } from '../../http/extension.ts';

let files: { script: string; style: string } | undefined;

/**
 * The reconcile recipe's dashboard panel: panel.js (coverage per source,
 * gaps by priority over time, the last inventory; polled from
 * `/reconcile` and `/reconcile/history`) and panel.css, beside this file.
 * Read on first call (when the recipe starts, never on import).
 */
export function reconcilePanel(): DashboardPanel {
  files ??= {
    script: readFileSync(new URL('./panel.js', import.meta.url), 'utf8'),
    style: readFileSync(new URL('./panel.css', import.meta.url), 'utf8'),
  };
  return { title: 'Reconcile', ...files };
}
