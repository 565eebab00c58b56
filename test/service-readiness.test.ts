/**
 * Readiness with real processes: a service whose `ready:` check does not
 * pass within its timeout is restarted (`service.not_ready`), and a service
 * that depends on it spawns nothing until it is ready.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { serviceSpec } from '../src/supervisor/service-spec.ts';
import { ofType, startSupervisor } from './support/supervisor-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('readiness timeout', { timeout: 60_000 }, () => {
  it('restarts a service not ready in time and holds its dependents back until it is ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-ready-'));
    dirs.push(dir);
    // "db" prints its ready line only once the file `go` exists; "api" depends on it.
    const db = serviceSpec({
      name: 'db',
      argv: ['/bin/sh', '-c', 'if [ -f "$DIR/go" ]; then echo "db accepting connections"; fi; exec sleep 60'],
      env: { DIR: dir },
      ready: { kind: 'log', pattern: /accepting connections/, timeoutMs: 400 },
    });
    const api = serviceSpec({ name: 'api', argv: ['/bin/sh', '-c', 'exec sleep 60'], dependsOn: ['db'] });
    const sv = await startSupervisor([db, api]);
    try {
      // The start returned although db is not ready: the daemon goes on, only api waits.
      await sv.waitFor('db restarted twice for readiness', (e) => ofType(e, 'service.not_ready').length >= 2);
      const notReady = ofType(sv.events, 'service.not_ready');
      assert.deepEqual(
        notReady.map((e) => [e.data.service, e.data.timeoutMs]),
        [
          ['db', 400],
          ['db', 400],
        ],
      );
      const firstExit = ofType(sv.events, 'service.exited')[0];
      assert.equal(firstExit?.data.reason, 'not ready within 400 ms');
      assert.equal(ofType(sv.events, 'service.started').filter((e) => e.data.service === 'api').length, 0);
      assert.deepEqual(
        ofType(sv.events, 'service.waiting').map((e) => e.data),
        [{ service: 'api', instance: 0, dependsOn: ['db'] }],
      );
      const apiRow = sv.supervisor.status().instances.find((i) => i.service === 'api');
      assert.equal(apiRow?.state, 'waiting');
      assert.equal(apiRow?.pid, null);
      assert.equal(apiRow?.detail, 'waiting until db is ready');

      writeFileSync(join(dir, 'go'), '');
      await sv.waitFor('api started', (e) => ofType(e, 'service.started').some((s) => s.data.service === 'api'));
      const dbReady = ofType(sv.events, 'service.ready').find((e) => e.data.service === 'db');
      const apiStarted = ofType(sv.events, 'service.started').find((e) => e.data.service === 'api');
      assert.ok(
        dbReady && apiStarted && sv.events.indexOf(dbReady) < sv.events.indexOf(apiStarted),
        'api after db ready',
      );
      await sv.waitFor('api running', () =>
        sv.supervisor.status().instances.every((i) => i.state === 'running' && i.pid !== null),
      );
    } finally {
      await sv.close();
    }
  });

  it('a dependent of a service that is ready in time starts at once after it', async () => {
    const db = serviceSpec({
      name: 'db',
      argv: ['/bin/sh', '-c', 'echo ready; exec sleep 60'],
      ready: { kind: 'log', pattern: /ready/, timeoutMs: 20_000 },
    });
    const api = serviceSpec({ name: 'api', argv: ['/bin/sh', '-c', 'exec sleep 60'], dependsOn: ['db'] });
    const sv = await startSupervisor([db, api]);
    try {
      // The group's start awaited db's readiness, so api was never held back.
      assert.equal(ofType(sv.events, 'service.waiting').length, 0);
      assert.equal(ofType(sv.events, 'service.not_ready').length, 0);
      await sv.waitFor('api started', (e) => ofType(e, 'service.started').some((s) => s.data.service === 'api'));
    } finally {
      await sv.close();
    }
  });
});
