import { readFileSync } from 'node:fs';
import type { DashboardPanel, HttpExtension } from '../http/extension.ts';

let files: { script: string; style: string } | undefined;

/**
 * The supervisor's dashboard panel (panel.js and panel.css beside this
 * file: a row per service instance and the watched disks, from `/status`),
 * as an HTTP extension at `/supervisor`: served at `/supervisor/panel.js`
 * and listed in `/status` like a recipe's panel, so the dashboard mounts it
 * with no code of its own. Read on first call, never on import.
 *
 * @example
 * createRuntime({ ..., extensions: [servicesPanelExtension()] })
 */
export function servicesPanelExtension(): HttpExtension {
  files ??= {
    script: readFileSync(new URL('./panel.js', import.meta.url), 'utf8'),
    style: readFileSync(new URL('./panel.css', import.meta.url), 'utf8'),
  };
  const panel: DashboardPanel = { title: 'Services', ...files };
  return { path: '/supervisor', panel };
}
