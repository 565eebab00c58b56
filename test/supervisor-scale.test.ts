/**
 * Scaling a supervised service at run time through its control port
 * (`supervisor.control()`, what recipes get as `context.services`), with
 * real child processes: new instances start at the next indexes, a scale
 * down stops the highest ones and forgets their store records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupAlive } from '../src/supervisor/process-group.ts';
import { serviceSpec } from '../src/supervisor/service-spec.ts';
import { ofType, startSupervisor, waitUntil } from './support/supervisor-harness.ts';

const sleeper = serviceSpec({ name: 'worker', argv: ['/bin/sh', '-c', 'exec sleep 300'], killTimeoutMs: 2_000 });

describe('supervisor: scale at run time', { timeout: 60_000 }, () => {
  it('1 -> 3 starts two more processes; 3 -> 1 stops the two highest and forgets their records', async () => {
    const sv = await startSupervisor([sleeper]);
    const control = sv.supervisor.control();
    const running = () => sv.supervisor.status().instances.filter((i) => i.state === 'running' && i.pid !== null);
    try {
      await waitUntil('instance 0 running', () => running().length === 1);
      assert.equal(control.instances('worker'), 1);
      await control.scale('worker', 3);
      assert.equal(control.instances('worker'), 3);
      await waitUntil('three running', () => running().length === 3);
      const pids = running().map((i) => [i.instance, i.pid as number]);
      assert.deepEqual(
        pids.map(([i]) => i),
        [0, 1, 2],
      );
      assert.equal(new Set(pids.map(([, p]) => p)).size, 3, 'three distinct processes');
      const recorded = async () =>
        (await sv.store.documents.list('services')).map((d) => d.key.split('/').slice(1).join('/'));
      for (let i = 0; i < 100 && (await recorded()).length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await recorded(), ['worker/0', 'worker/1', 'worker/2']);

      await control.scale('worker', 1);
      assert.equal(control.instances('worker'), 1);
      for (const [i, pid] of pids.slice(1)) assert.equal(groupAlive(pid as number), false, `instance ${i} is gone`);
      assert.equal(groupAlive(pids[0]?.[1] as number), true, 'instance 0 runs on untouched');
      assert.deepEqual(await recorded(), ['worker/0']);
      assert.equal(ofType(sv.events, 'service.started').length, 3, 'no restart of instance 0');
    } finally {
      await sv.close();
    }
  });

  it('a bad count, an unknown service: errors that say what is expected', async () => {
    const sv = await startSupervisor([sleeper]);
    const control = sv.supervisor.control();
    try {
      await assert.rejects(
        control.scale('worker', 0),
        /scale worker: expected an integer in \[1, 64\] instances, got 0/,
      );
      await assert.rejects(control.scale('worker', 2.5), /got 2\.5/);
      await assert.rejects(control.scale('web', 2), /unknown service "web"; services in this config: worker/);
      assert.equal(control.instances('worker'), 1);
    } finally {
      await sv.close();
    }
  });
});
