/**
 * `autoloop simulate` with supervised services: a service crashes or leaks
 * memory as the fault timeline says, the supervisor's own restart policy
 * decides what follows (backoff, the memory watch, `policy: never`), and the
 * report shows restarts and time down per service.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../src/config/config-error.ts';
import { parseConfigText } from '../src/config/load-config.ts';
import { checkServiceTargets, FAULT_PRESETS, loadFaults } from '../src/simulation/fault-plan.ts';
import { formatReport } from '../src/simulation/format-report.ts';
import { simulate } from '../src/simulation/simulation.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-simulate-services-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const MINUTE = 60_000;
const MIB = 1024 ** 2;

const CONFIG = `
store: memory://
loops:
  fetch:
    trigger: { interval: 30s }
    items: [a]
    act: { command: "false" }
services:
  api:
    command: node server.js
    limits: { memory: 512MB }
  worker:
    command: node worker.js
    restart: never
`;

const config = () => parseConfigText(CONFIG, { env: {}, file: join(dir, 'autoloop.yaml') });

describe('autoloop simulate: supervised services', { timeout: 300_000 }, () => {
  it('crashes restart with the backoff, a leak over the memory limit is restarted, one without a limit is OOM-killed', async () => {
    const faults = {
      name: 'services',
      faults: [
        { kind: 'service-crash' as const, at: 1 * MINUTE, target: 'api' },
        { kind: 'service-crash' as const, at: 2 * MINUTE, target: 'api' },
        { kind: 'service-leak' as const, at: 3 * MINUTE, target: 'api', perMinute: 100 * MIB },
        { kind: 'service-leak' as const, at: 3 * MINUTE, target: 'worker', perMinute: 1024 * MIB },
      ],
    };
    const { report } = await simulate({
      config: await config(),
      durationMs: 15 * MINUTE,
      instances: 1,
      seed: 1,
      faults,
    });
    const api = report.services.find((s) => s.service === 'api');
    const worker = report.services.find((s) => s.service === 'worker');
    // Backoff 100 ms then 200 ms (the second crash came within resetAfter, 60 s, of the restart), no delay for
    // the memory watch's restart; each restart takes 1 s to start.
    assert.deepEqual(api, {
      service: 'api',
      copies: 1,
      crashes: 2,
      leaks: 1,
      memoryRestarts: 1,
      oomKills: 0,
      restarts: 3,
      downMs: 1_100 + 1_200 + 1_000,
      stopped: 0,
    });
    // 1 GiB a minute from 100 MiB reaches the 8 GiB machine in about 8 minutes; `restart: never` leaves it down.
    assert.equal(worker?.oomKills, 1);
    assert.equal(worker?.stopped, 1);
    assert.equal(worker?.restarts, 0);
    const oomAt = 3 * MINUTE + Math.ceil(((8 * 1024 - 100) / 1024) * MINUTE);
    const end = report.durationMs + 5 * MINUTE; // the drain
    // Down from the kill to the end of the run (the end comes once the instances stopped, a moment after the drain).
    const downMs = worker?.downMs ?? 0;
    assert.ok(downMs >= end - oomAt && downMs <= end - oomAt + MINUTE, `worker down ${downMs} ms`);
    const text = formatReport(report);
    assert.match(
      text,
      /service api: 2 crash\(es\), 1 leak\(s\) \(1 restarted by the memory watch\), 3 restart\(s\), down 3\.30 s in all/,
    );
    assert.match(
      text,
      /service worker: 0 crash\(es\), 1 leak\(s\) \(1 OOM-killed\), 0 restart\(s\), .*; 1 stopped for good/,
    );
    assert.match(text, /service-leak +service api leaks 100 MiB\/min: over its memory limit in 4 min/);
  });

  it('presets crash and leak services; a config without services gets the same timeline as before', async () => {
    const loaded = await config();
    const run = (c: typeof loaded) =>
      simulate({
        config: c,
        durationMs: 3 * 60 * MINUTE,
        instances: 1,
        seed: 4,
        faults: { name: 'chaos-heavy', faults: FAULT_PRESETS['chaos-heavy'] ?? [] },
      });
    const withServices = (await run(loaded)).report;
    const crashes = withServices.services.reduce((n, s) => n + s.crashes, 0);
    assert.ok(crashes >= 1, `service crashes over 3 hours of chaos-heavy: ${crashes}`);
    assert.ok(
      withServices.services.some((s) => s.restarts > 0 && s.downMs > 0),
      JSON.stringify(withServices.services),
    );
    const bare = { ...loaded, services: [] };
    const without = (await run(bare)).report;
    assert.deepEqual(without.services, []);
    assert.ok(without.timeline.every((e) => !e.kind.startsWith('service-')));
    // The instance faults fall at the same times with or without the service faults.
    const instanceFaults = (r: typeof without) =>
      r.timeline.filter((e) => !e.kind.startsWith('service-')).map((e) => [e.at, e.kind]);
    assert.deepEqual(instanceFaults(without), instanceFaults(withServices));
  });

  it('fault files: service faults load; a leak rate that is not a size names the entry', async () => {
    const good = join(dir, 'faults.yaml');
    writeFileSync(good, 'faults:\n  - { kind: service-leak, every: 1d, target: api, perMinute: 50MB }\n');
    const loaded = await loadFaults(good, dir);
    assert.deepEqual(loaded.faults[0], { kind: 'service-leak', every: 86_400_000, target: 'api', perMinute: 50 * MIB });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'faults:\n  - { kind: service-leak, at: 1h, perMinute: 10% }\n');
    await assert.rejects(loadFaults(bad, dir), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /faults\[0\]\.perMinute/);
      assert.match(error.message, /a size per minute like "50MB"/);
      return true;
    });
    // A target that names no service of the config is a mistake, not a fault that never lands.
    const typo = [{ kind: 'service-crash' as const, every: 3_600_000, target: 'apii' }];
    assert.throws(
      () => checkServiceTargets(typo, ['api', 'worker'], 'faults.yaml'),
      /faults\.yaml: faults\[0\]\.target: expected a service of the config \(api, worker\), got "apii"/,
    );
    checkServiceTargets(
      typo.map((f) => ({ ...f, target: 'api' })),
      ['api'],
      'faults.yaml',
    );
    checkServiceTargets([{ kind: 'service-crash' as const, every: 3_600_000 }], [], 'chaos-light');
  });
});
