import { readFileSync } from 'node:fs';
import type { DashboardPanel } from '../../http/extension.ts';

let files: { script: string; style: string } | undefined;

/**
 * The decide recipe's dashboard panel: panel.js (per decide loop, each
 * target's score over time and the recent decisions with their rationale;
 * polled from `GET /decide`) and panel.css, beside this file. Read on first
 * call (when the recipe starts, never on import).
 */
export function decidePanel(): DashboardPanel {
  files ??= {
    script: readFileSync(new URL('./panel.js', import.meta.url), 'utf8'),
    style: readFileSync(new URL('./panel.css', import.meta.url), 'utf8'),
  };
  return { title: 'Decide', ...files };
}
