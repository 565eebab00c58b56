/**
 * CPU and disk watching with real processes and a real filesystem: a busy
 * service over `limits.cpu` gets `service.cpu_high` (and, with `restart`,
 * a restart) while an idle one does not; free space below `disk` thresholds
 * gives one `service.disk_low` per level and, when critical, an unhealthy
 * component. The window arithmetic is tested in src/supervisor/cpu-window.test.ts.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { serviceSpec } from '../src/supervisor/service-spec.ts';
import { ofType, startSupervisor } from './support/supervisor-harness.ts';

describe('CPU and disk watch', { timeout: 60_000 }, () => {
  it('a busy service over limits.cpu is warned about and (restart: true) restarted; an idle one is not', async () => {
    const cpu = { percent: 5, windowMs: 2_000, restart: true };
    const busy = serviceSpec({ name: 'busy', argv: ['/bin/sh', '-c', 'while :; do :; done'], cpu });
    const idle = serviceSpec({ name: 'idle', argv: ['/bin/sh', '-c', 'exec sleep 60'], cpu });
    const sv = await startSupervisor([busy, idle], { sampleIntervalMs: 250 });
    try {
      await sv.waitFor('busy restarted for CPU', (e) =>
        ofType(e, 'service.started').some((s) => s.data.service === 'busy' && s.data.restarts === 1),
      );
      const warnings = ofType(sv.events, 'service.cpu_high');
      assert.deepEqual(
        warnings.map((w) => w.data.service),
        ['busy'],
      );
      const warning = warnings[0]?.data;
      assert.ok(warning && warning.percent > 5, `busy at ${warning?.percent}% of a core`);
      assert.equal(warning.limitPercent, 5);
      assert.equal(warning.windowMs, 2_000);
      const [first] = ofType(sv.events, 'service.started').filter((s) => s.data.service === 'busy');
      const warnedAfterMs = (warnings[0]?.wallMs ?? 0) - (first?.wallMs ?? 0);
      assert.ok(warnedAfterMs >= 2_000, `no verdict before a full window (${warnedAfterMs} ms)`);
      const exited = ofType(sv.events, 'service.exited').find((e) => e.data.service === 'busy');
      assert.match(exited?.data.reason ?? '', /^CPU [\d.]+% of a core over 2000 ms, above the limit of 5%$/);
      const idleRow = sv.supervisor.status().instances.find((i) => i.service === 'idle');
      assert.ok(idleRow?.cpuPercent !== null && (idleRow?.cpuPercent ?? 100) < 5, `idle at ${idleRow?.cpuPercent}%`);
      console.log(`# cpu: busy at ${warning.percent}% of a core, warned ${warnedAfterMs} ms after its start`);
    } finally {
      await sv.close();
    }
  });

  it('free space below disk thresholds: one event per level, critical makes the component unhealthy, metrics', async () => {
    const path = tmpdir();
    const services = [
      // Free space of a real filesystem is always below 100 % of it, and below 1 EB.
      serviceSpec({
        name: 'warn',
        argv: ['/bin/sh', '-c', 'exec sleep 60'],
        disk: { path, warnBelow: { percent: 100 }, criticalBelow: null },
      }),
      serviceSpec({
        name: 'crit',
        argv: ['/bin/sh', '-c', 'exec sleep 60'],
        disk: { path, warnBelow: null, criticalBelow: { bytes: 2 ** 60 } },
      }),
      serviceSpec({
        name: 'fine',
        argv: ['/bin/sh', '-c', 'exec sleep 60'],
        disk: { path, warnBelow: { bytes: 1 }, criticalBelow: null },
      }),
    ];
    const registry = new Registry();
    const sv = await startSupervisor(services, { sampleIntervalMs: 100 }, registry);
    try {
      await sv.waitFor('two disk events', (e) => ofType(e, 'service.disk_low').length >= 2);
      // A few more samples (100 ms apart) must not repeat an event for a level that did not change.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const low = ofType(sv.events, 'service.disk_low').map((e) => [e.data.service, e.data.level, e.data.path]);
      assert.deepEqual(low.sort(), [
        ['crit', 'critical', path],
        ['warn', 'warning', path],
      ]);
      const event = ofType(sv.events, 'service.disk_low').find((e) => e.data.service === 'warn')?.data;
      assert.ok(event && event.freeBytes < event.thresholdBytes && event.thresholdBytes === event.totalBytes);
      const checks = sv.supervisor.healthChecks();
      const crit = await checks['service:crit']?.(AbortSignal.timeout(5_000));
      assert.equal(crit?.healthy, false);
      assert.match(crit?.detail ?? '', /^disk .*: [\d.]+ GB free, below criticalBelow$/);
      assert.equal(
        (await checks['service:warn']?.(AbortSignal.timeout(5_000)))?.healthy,
        true,
        'a warning alone leaves it healthy',
      );
      const disks = sv.supervisor.status().disks;
      assert.deepEqual(
        disks.map((d) => [d.service, d.level]),
        [
          ['warn', 'warning'],
          ['crit', 'critical'],
          ['fine', 'ok'],
        ],
      );
      const text = await registry.metrics();
      assert.match(text, new RegExp(`^autoloop_service_disk_level\\{service="crit",path="${path}"\\} 2$`, 'm'));
      assert.match(text, /^autoloop_service_disk_free_bytes\{service="fine",path="[^"]+"\} \d+$/m);
    } finally {
      await sv.close();
    }
  });
});
