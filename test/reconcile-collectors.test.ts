/**
 * Collectors besides command templates, from YAML against a real
 * directory: a TypeScript module's function, and an HTTP call to a real
 * server on 127.0.0.1 (2xx collected, 503 retried, 404 failed for good);
 * a source's validator command; HAVE from a listing command; a module that
 * is not there is a config error naming the path.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load-config.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A deployment whose coverage expects teams/{bos,lal,bad}.json; `collector` is the YAML value. */
function deployment(collector: string, validate = '', inventory = '{ dir: ./data }'): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-collectors-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'data'));
  const file = join(dir, 'autoloop.yaml');
  writeFileSync(
    file,
    [
      'store: memory://',
      'loops:',
      '  collect:',
      '    recipe: reconcile',
      '    trigger: { manual: true }',
      `    inventory: ${inventory}`,
      `    coverage: { sources: { teams: { key: "teams/{value}.json", values: [bos, lal, bad]${validate} } } }`,
      `    collector: ${collector}`,
      "    policies: { retry: { attempts: 2, backoff: '10ms' } }",
    ].join('\n'),
  );
  return { dir, file };
}

/** Writes `collect.ts` into `dir`: `collect(request: <type>)` makes the path's directory, then runs `body`. */
function collectorModule(dir: string, type: string, body: string[]): void {
  const head = [
    "import { mkdir, writeFile } from 'node:fs/promises';",
    "import { dirname } from 'node:path';",
    `export async function collect(request: ${type}) {`,
    '  await mkdir(dirname(request.path), { recursive: true });',
  ];
  writeFileSync(join(dir, 'collect.ts'), [...head, ...body.map((line) => `  ${line}`), '}'].join('\n'));
}

async function cycle(file: string) {
  const config = await loadConfig(file, { env: { ...process.env } });
  const runtime = createRuntime(runtimeOptionsFromConfig(config, {}));
  await runtime.start({ schedule: false });
  try {
    const record = await runtime.run('collect');
    const items = await runtime.store.cycles.items(record.id);
    return { record, items: new Map(items.map((i) => [i.key, i])) };
  } finally {
    await runtime.stop();
  }
}

describe('reconcile collectors: a TypeScript module, an HTTP call', () => {
  it('a module function collects with the request it is given; what it throws fails the item', async () => {
    const { dir, file } = deployment('{ module: ./collect.ts#collect }');
    collectorModule(dir, '{ gap: { key: string; source: string }; path: string; attempt: number }', [
      "  if (request.gap.key === 'teams/bad.json') throw new Error('no such team');",
      '  await writeFile(request.path, JSON.stringify({ key: request.gap.key, attempt: request.attempt }));',
      '  return { wrote: request.gap.key };',
    ]);
    const { record, items } = await cycle(file);
    assert.deepEqual(record.counts, { planned: 3, succeeded: 2, failed: 1, skipped: 0 });
    const bos = items.get('teams/bos.json')?.output as { output: unknown } | undefined;
    assert.deepEqual(bos?.output, { wrote: 'teams/bos.json' });
    assert.match(items.get('teams/bad.json')?.error?.message ?? '', /no such team/);
  });

  it("a source's validator runs on each collected object; a rejection fails the collection", async () => {
    const { dir, file } = deployment('{ module: ./collect.ts }', ', validate: "sh ./check.sh {path}"');
    collectorModule(dir, '{ gap: { key: string }; path: string }', [
      "  await writeFile(request.path, request.gap.key === 'teams/lal.json' ? 'oops' : '{\"ok\":true}');",
    ]);
    writeFileSync(join(dir, 'check.sh'), 'grep -q ok "$1" || { echo "not JSON with ok" >&2; exit 1; }');
    const { record, items } = await cycle(file);
    assert.deepEqual(record.counts, { planned: 3, succeeded: 2, failed: 1, skipped: 0 });
    const lal = items.get('teams/lal.json');
    assert.equal(lal?.attempts, 2);
    assert.match(
      lal?.error?.message ?? '',
      /teams\/lal\.json failed the validator of teams: `sh \.\/check\.sh .*lal\.json` exited with code 1/,
    );
  });

  it('HAVE from a command printing JSON lines; a line that is not an object fails the scan, naming it', async () => {
    const list =
      'cd data && find . -type f | sed "s|^./||" | while read f; do printf \'{"key":"%s","size":%s,"modifiedAt":"2024-01-01T00:00:00Z"}\\n\' "$f" "$(wc -c < "$f")"; done';
    const { dir, file } = deployment('{ module: ./collect.ts }', '', '{ command: "sh ./list.sh", root: ./data }');
    writeFileSync(join(dir, 'list.sh'), list);
    mkdirSync(join(dir, 'data', 'teams'));
    writeFileSync(join(dir, 'data', 'teams', 'bos.json'), '{"team":"bos"}');
    collectorModule(dir, '{ path: string }', ["  await writeFile(request.path, '{}');"]);
    const { record, items } = await cycle(file);
    // bos is listed by the command: only lal and bad are gaps, written where root says, then listed again.
    assert.deepEqual(record.counts, { planned: 2, succeeded: 2, failed: 0, skipped: 0 });
    assert.deepEqual([...items.keys()].sort(), ['teams/bad.json', 'teams/lal.json']);

    writeFileSync(join(dir, 'list.sh'), `${list}; echo 'not json'`);
    const { CommandInventory } = await import('../src/recipes/reconcile/command-inventory.ts');
    const inventory = new CommandInventory({ command: 'sh ./list.sh', cwd: dir, env: process.env, root: '' });
    await assert.rejects(
      inventory.scan(new AbortController().signal),
      /inventory command `sh \.\/list\.sh`: line 4: expected \{"key"/,
    );
    const failing = new CommandInventory({ command: 'echo broken >&2; exit 7', cwd: dir, env: process.env, root: '' });
    await assert.rejects(failing.probe(new AbortController().signal), /exited with code 7: broken/);
  });

  it('HAVE from a TypeScript function yielding objects; a bad object fails the scan, naming the module and its position', async () => {
    const { dir, file } = deployment('{ module: ./collect.ts }', '', '{ module: ./list.ts#listed, root: ./data }');
    const lister = (extra: string) =>
      [
        "import { readdirSync, statSync } from 'node:fs';",
        "import { join } from 'node:path';",
        'export async function* listed({ signal }: { signal: AbortSignal }) {',
        "  const root = join(import.meta.dirname, 'data', 'teams');",
        '  for (const name of readdirSync(root)) {',
        '    signal.throwIfAborted();',
        '    const s = statSync(join(root, name));',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source text of the module under test
        '    yield { key: `teams/${name}`, size: s.size, modifiedAt: s.mtimeMs };',
        '  }',
        `  ${extra}`,
        '}',
      ].join('\n');
    writeFileSync(join(dir, 'list.ts'), lister(''));
    mkdirSync(join(dir, 'data', 'teams'));
    writeFileSync(join(dir, 'data', 'teams', 'bos.json'), '{"team":"bos"}');
    collectorModule(dir, '{ path: string }', ["  await writeFile(request.path, '{}');"]);
    const { record, items } = await cycle(file);
    // bos is listed by the function: only lal and bad are gaps, written under root.
    assert.deepEqual(record.counts, { planned: 2, succeeded: 2, failed: 0, skipped: 0 });
    assert.deepEqual([...items.keys()].sort(), ['teams/bad.json', 'teams/lal.json']);

    writeFileSync(join(dir, 'broken.ts'), lister("yield { key: 'x', size: 'big' };"));
    const { ModuleInventory } = await import('../src/recipes/reconcile/module-inventory.ts');
    const broken = new ModuleInventory({ file: join(dir, 'broken.ts'), exportName: 'listed', root: '' });
    await assert.rejects(
      broken.scan(new AbortController().signal),
      /inventory module .*broken\.ts#listed: object 4: expected \{ key: "\.\.\.", size: bytes/,
    );
    const misnamed = new ModuleInventory({ file: join(dir, 'list.ts'), exportName: 'list', root: '' });
    await assert.rejects(
      misnamed.probe(new AbortController().signal),
      /expected an exported function "list", found exports: listed/,
    );
    const missing = deployment('{ module: ./collect.ts }', '', '{ module: ./nope.ts }');
    await assert.rejects(
      loadConfig(missing.file, { env: {} }),
      /loops\.collect\.inventory\.module: expected a module file that exists, got .*nope\.ts/,
    );
  });

  it('a module that is not there, or a bad http url, is a config error naming the path', async () => {
    const missing = deployment('{ module: ./nope.ts#collect }');
    await assert.rejects(
      loadConfig(missing.file, { env: {} }),
      /autoloop\.yaml: loops\.collect\.collector\.module: expected a module file that exists, got .*nope\.ts/,
    );
    const badUrl = deployment('{ http: { url: "ftp://x" } }');
    await assert.rejects(loadConfig(badUrl.file, { env: {} }), /loops\.collect\.collector/);
  });

  it('an HTTP call per gap: 2xx collected, 503 retried, 404 failed without a retry', async () => {
    const calls: string[] = [];
    let lalFailures = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', async () => {
        calls.push(`${req.method} ${req.url} ${req.headers['x-token']} ${req.headers['content-type']}`);
        const gap = JSON.parse(body) as { key: string; path: string; attempt: number };
        if (req.url === '/collect/teams?key=teams%2Fbad.json') {
          res.writeHead(404).end('unknown team');
          return;
        }
        if (gap.key === 'teams/lal.json' && lalFailures++ === 0) {
          res.writeHead(503).end('busy');
          return;
        }
        mkdirSync(dirname(gap.path), { recursive: true });
        await writeFile(gap.path, `{"attempt":${gap.attempt}}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const { file } = deployment(
        `{ http: { url: "http://127.0.0.1:${port}/collect/{source}?key={key}", headers: { x-token: abc } } }`,
      );
      const { record, items } = await cycle(file);
      assert.deepEqual(record.counts, { planned: 3, succeeded: 2, failed: 1, skipped: 0 });
      assert.equal(items.get('teams/lal.json')?.attempts, 2, '503 is retried');
      assert.equal(items.get('teams/bad.json')?.attempts, 1, '404 is not');
      assert.match(items.get('teams/bad.json')?.error?.message ?? '', /answered 404: unknown team/);
      assert.equal(calls.filter((c) => c.includes('bad.json')).length, 1);
      assert.ok(
        calls.every((c) => /^POST \/collect\/teams\?key=teams%2F\w+\.json abc application\/json$/.test(c)),
        calls.join('; '),
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
