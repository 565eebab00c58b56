/**
 * TypeScript modules a YAML config names load wherever the user keeps them:
 * a directory with only autoloop.yaml and .ts files, outside any package
 * (no package.json above the temp directory), and one with a
 * `"type": "module"` package.json. Both CLI modes: the compiled dist/ on
 * plain node (Node 22.18+ strips the types itself; older Node loads them
 * through tsx, registered only because a .ts module was named) and src/
 * through tsx, as the other CLI tests run it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { autoloop } from './support/cli.ts';

const DIST_MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-tsmod-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `store: memory://
loops:
  hello:
    trigger: { manual: true }
    observe: ./loops/hello.ts#observe
    act: ./loops/hello.ts#act
`;

/** A loop module that imports a sibling .ts module and uses type-only syntax. */
function writeProject(root: string, files: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    'autoloop.yaml': CONFIG,
    'loops/names.ts': `export const names: readonly string[] = ['ada', 'grace'];\n`,
    'loops/hello.ts': [
      `import { names } from './names.ts';`,
      `interface Item { key: string }`,
      `export function observe(): string[] { return [...names]; }`,
      `export async function act(item: Item): Promise<string> { return \`hello \${item.key}\`; }`,
      '',
    ].join('\n'),
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

const modes = [
  { name: 'compiled (dist/, plain node)', env: { AUTOLOOP_FROM_SOURCE: '0' } },
  { name: 'from source (tsx)', env: { AUTOLOOP_FROM_SOURCE: '1' } },
];

describe('TypeScript modules named by a YAML config', { concurrency: true }, () => {
  for (const mode of modes) {
    const skip = mode.env.AUTOLOOP_FROM_SOURCE === '0' && !existsSync(DIST_MAIN) ? 'no dist/: npm run build' : false;
    describe(mode.name, { concurrency: true, skip }, () => {
      it('load from a directory with no package.json: validate and run', async () => {
        const cwd = writeProject(join(dir, `bare-${mode.env.AUTOLOOP_FROM_SOURCE}`));
        const valid = await autoloop(['validate'], { cwd, env: mode.env });
        assert.equal(valid.code, 0, valid.stderr);
        const ran = await autoloop(['run', 'hello'], { cwd, env: mode.env });
        assert.equal(ran.code, 0, ran.stderr + ran.stdout);
        assert.match(ran.stdout, /2 planned, 2 ok, 0 failed/);
      });

      it('load under a "type": "module" package.json, top-level await included', async () => {
        const cwd = writeProject(join(dir, `esm-${mode.env.AUTOLOOP_FROM_SOURCE}`), {
          'package.json': '{ "type": "module" }\n',
          'loops/names.ts': `export const names: readonly string[] = await Promise.resolve(['ada']);\n`,
        });
        const ran = await autoloop(['run', 'hello'], { cwd, env: mode.env });
        assert.equal(ran.code, 0, ran.stderr + ran.stdout);
        assert.match(ran.stdout, /1 planned, 1 ok, 0 failed/);
      });

      it('a module that fails to load is a config error naming it', async () => {
        const cwd = writeProject(join(dir, `broken-${mode.env.AUTOLOOP_FROM_SOURCE}`), {
          'loops/hello.ts': `import './missing.ts';\nexport function act(): void {}\n`,
        });
        const valid = await autoloop(['validate'], { cwd, env: mode.env });
        assert.equal(valid.code, 2);
        assert.match(valid.stderr, /loops\.hello\.act: expected a module \.\/loops\/hello\.ts that loads, got /);
      });
    });
  }
});
