/**
 * Setting autoloop up: `init` writes a starter config that validates and
 * runs; `unit install` (formerly `service install`) writes a systemd unit; the Dockerfile and the
 * Kubernetes manifests in deploy/ are checked statically (no Docker engine
 * or cluster here), their configs with `autoloop validate`, and the image's
 * HEALTHCHECK command against a real HTTP server.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseDuration } from '../src/time/duration.ts';
import { autoloop, BIN } from './support/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-setup-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('setting autoloop up', { concurrency: true }, () => {
  describe('autoloop init', { concurrency: true }, () => {
    it('writes a commented starter config that validates and runs; refuses to overwrite without --force', async () => {
      const cwd = join(dir, 'init');
      execFileSync('mkdir', ['-p', cwd]);
      const first = await autoloop(['init'], { cwd });
      assert.equal(first.code, 0, first.stderr);
      const text = readFileSync(join(cwd, 'autoloop.yaml'), 'utf8');
      // Every key that has a value says why on its line (store and the command say it above theirs).
      const uncommented = text
        .split('\n')
        .filter((l) => /^\s*[A-Za-z]+: *[^\s|]/.test(l) && !/^\s*(store|description|command):/.test(l))
        .filter((l) => !l.includes(' # '));
      assert.deepEqual(uncommented, []);
      const valid = await autoloop(['validate'], { cwd });
      assert.equal(valid.code, 0, valid.stderr);
      assert.match(valid.stdout, /valid, 1 loop\(s\)/);
      const ran = await autoloop(['run', 'hello', '--store', 'memory://'], { cwd });
      assert.equal(ran.code, 0, ran.stderr + ran.stdout);
      assert.match(ran.stdout, /2 planned, 2 ok, 0 failed/);

      const again = await autoloop(['init'], { cwd });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /autoloop\.yaml exists; keep it, or pass --force/);
      writeFileSync(join(cwd, 'autoloop.yaml'), 'edited\n');
      const forced = await autoloop(['init', '--force'], { cwd });
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(readFileSync(join(cwd, 'autoloop.yaml'), 'utf8'), text);
    });
  });

  describe('autoloop unit install', { concurrency: true }, () => {
    let config: string;
    before(() => {
      config = join(dir, 'svc', 'autoloop.yaml');
      execFileSync('mkdir', ['-p', join(dir, 'svc')]);
      writeFileSync(
        config,
        'shutdown: { grace: 7s }\nloops:\n  x:\n    trigger: { manual: true }\n    items: [a]\n    act: { command: "true" }\n',
      );
    });

    it('--dry-run prints a system unit: absolute node and bin, start --foreground --config, stop timeout = grace + 10 s', async () => {
      const r = await autoloop(['unit', 'install', '--dry-run', '--config', config, '--run-as', 'loops']);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /deprecated/);
      const unit = r.stdout;
      assert.match(unit, line(`ExecStart=${process.execPath} ${BIN} start --foreground --config ${config}`));
      assert.match(unit, line(`WorkingDirectory=${join(dir, 'svc')}`));
      for (const expected of [
        'User=loops',
        'Restart=always',
        'RestartSec=5s',
        'TimeoutStopSec=17s',
        'KillSignal=SIGTERM',
        'KillMode=mixed',
        'WantedBy=multi-user.target',
        '# MemoryMax=512M',
      ]) {
        assert.match(unit, line(expected));
      }
      assert.match(unit, /^# From the config: TimeoutStopSec=17s \(shutdown\.grace 7s \+ 10s\)\.$/m);
      assert.match(unit, /^# Defaulted: RestartSec=5s; no MemoryMax \(--memory-max sets one\); no CPUQuota/m);
      assert.match(
        r.stderr,
        /dry run: nothing written; autoloop\.service would go to \/etc\/systemd\/system\/autoloop\.service/,
      );
      if (hasSystemdAnalyze()) {
        const file = join(dir, 'dry.service');
        writeFileSync(file, unit.replace('User=loops', 'User=root'));
        execFileSync('systemd-analyze', ['verify', file], { stdio: 'pipe' });
      }
    });

    it('--user -o FILE writes a user unit with resource limits and prints the systemctl commands', async () => {
      const out = join(dir, 'prices.service');
      const r = await autoloop([
        'unit',
        'install',
        '--user',
        '-o',
        out,
        '--name',
        'prices',
        '--memory-max',
        '256M',
        '--cpu-quota',
        '50%',
        '--config',
        config,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const unit = readFileSync(out, 'utf8');
      for (const expected of ['MemoryMax=256M', 'CPUQuota=50%', 'WantedBy=default.target']) {
        assert.match(unit, line(expected));
      }
      assert.doesNotMatch(unit, /^User=/m, 'a user unit runs as its user');
      assert.match(r.stdout, /systemctl --user daemon-reload\n {2}systemctl --user enable --now prices/);
      assert.match(r.stdout, /loginctl enable-linger/);
      const bad = await autoloop(['unit', 'install', '--dry-run', '--memory-max', 'lots', '--config', config]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--memory-max: expected a value like 512M, 2G or 50%, got "lots"/);
    });

    it('`service install`, the old spelling, still writes the unit and says it is deprecated', async () => {
      const r = await autoloop(['service', 'install', '--dry-run', '--config', config, '--run-as', 'loops']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^# Written by `autoloop unit install`/m);
      assert.match(
        r.stderr,
        /`service install` is deprecated and will be removed in the next release: use `autoloop unit install`/,
      );
    });

    it('deploy/systemd/autoloop.service, the template, says the same things', () => {
      const unit = readFileSync(join(ROOT, 'deploy/systemd/autoloop.service'), 'utf8');
      assert.match(
        unit,
        /^ExecStart=\/usr\/bin\/node \/opt\/autoloop\/bin\/autoloop\.js start --foreground --config \S+$/m,
      );
      for (const expected of ['Restart=always', 'KillSignal=SIGTERM', 'KillMode=mixed', 'TimeoutStopSec=40s']) {
        assert.match(unit, line(expected));
      }
      if (hasSystemdAnalyze()) {
        const file = join(dir, 'autoloop.service');
        writeFileSync(file, unit.replace('User=autoloop', 'User=root'));
        execFileSync('systemd-analyze', ['verify', file], { stdio: 'pipe' });
      }
    });
  });

  describe('resource limits from the config (resources:)', { concurrency: true }, () => {
    let config: string;
    before(() => {
      execFileSync('mkdir', ['-p', join(dir, 'res')]);
      config = join(dir, 'res', 'autoloop.yaml');
      writeFileSync(
        config,
        [
          'store: sqlite://./state.db',
          'http: { port: 9090 }',
          'shutdown: { grace: 20s }',
          'resources: { memory: 2G, cpu: 150% }   # max_memory_mb: 2048, max_cpu_percent: 150',
          'loops:',
          '  x:',
          '    trigger: { manual: true }',
          '    items: [a]',
          '    act: { command: "true" }',
          '',
        ].join('\n'),
      );
    });

    it('unit install takes MemoryMax= and CPUQuota= from resources:, a flag wins', async () => {
      const r = await autoloop(['unit', 'install', '--dry-run', '--config', config]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, line('MemoryMax=2G'));
      assert.match(r.stdout, line('CPUQuota=150%'));
      const flagged = await autoloop(['unit', 'install', '--dry-run', '--memory-max', '1G', '--config', config]);
      assert.match(flagged.stdout, line('MemoryMax=1G'));
      assert.match(flagged.stdout, line('CPUQuota=150%'));
    });

    it('unit kubernetes prints a manifest: the config in a ConfigMap, limits, grace, probes, port, a claim for SQLite', async () => {
      const r = await autoloop(['unit', 'kubernetes', '--image', 'registry.example/autoloop:1', '-c', config]);
      assert.equal(r.code, 0, r.stderr);
      // biome-ignore lint/suspicious/noExplicitAny: a manifest read field by field, as kubectl would
      const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
      assert.deepEqual(
        docs.map((d) => d.kind),
        ['ConfigMap', 'PersistentVolumeClaim', 'Deployment', 'Service'],
      );
      assert.equal(docs[0]?.data['autoloop.yaml'], readFileSync(config, 'utf8'));
      const pod = docs[2]?.spec.template.spec;
      const container = pod.containers[0];
      assert.deepEqual(container.resources.limits, { cpu: '1500m', memory: '2Gi' });
      assert.equal(pod.terminationGracePeriodSeconds, 35);
      assert.equal(container.image, 'registry.example/autoloop:1');
      assert.deepEqual(container.args, [
        'start',
        '--foreground',
        '--host',
        '0.0.0.0',
        '--port',
        '9090',
        '--store',
        'sqlite:///var/lib/autoloop/state.db',
      ]);
      assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
      assert.equal(docs[3]?.spec.ports[0].port, 9090);
      const bad = join(dir, 'res', 'bad.yaml');
      writeFileSync(bad, readFileSync(config, 'utf8').replace('memory: 2G', 'memory: 2GB'));
      const refused = await autoloop(['unit', 'kubernetes', '-c', bad]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /bad\.yaml: resources\.memory: expected a size like "512M" or "2G"/);
      // A token written in clear would land in the ConfigMap: refused, and the token printed nowhere.
      const secret = 'a-literal-admin-token-0123456789';
      const clear = join(dir, 'res', 'clear.yaml');
      writeFileSync(
        clear,
        readFileSync(config, 'utf8').replace('http: { port: 9090 }', `http: { port: 9090, token: ${secret} }`),
      );
      const leaked = await autoloop(['unit', 'kubernetes', '-c', clear]);
      assert.equal(leaked.code, 2, leaked.stderr);
      assert.match(leaked.stderr, /holds the admin token in clear/);
      assert.doesNotMatch(leaked.stdout + leaked.stderr, new RegExp(secret));
      const fromEnv = join(dir, 'res', 'env.yaml');
      writeFileSync(
        fromEnv,
        readFileSync(config, 'utf8').replace(
          'http: { port: 9090 }',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax, not a template
          'http: { port: 9090, token: "${AUTOLOOP_TOKEN:-}" }',
        ),
      );
      const viaSecret = await autoloop(['unit', 'kubernetes', '-c', fromEnv], { env: { AUTOLOOP_TOKEN: secret } });
      assert.equal(viaSecret.code, 0, viaSecret.stderr);
      assert.doesNotMatch(
        viaSecret.stdout,
        new RegExp(secret),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax, not a template
        'the ConfigMap keeps the ${AUTOLOOP_TOKEN:-} reference',
      );
    });
  });

  describe('Dockerfile (static: no Docker engine here)', { concurrency: true }, () => {
    const instructions = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    const stages = splitStages(instructions);

    it('builds dist/ and the dependencies in stages on node:24-bookworm-slim (the current LTS); compilers only in the builder', () => {
      assert.equal(stages.length, 3);
      const [build, builder, runtime] = stages as [Stage, Stage, Stage];
      assert.equal(build.from, 'node:24-bookworm-slim AS build');
      assert.equal(builder.from, 'node:24-bookworm-slim AS builder');
      assert.equal(runtime.from, 'node:24-bookworm-slim');
      assert.match(args(build, 'RUN').join('\n'), /npm run build/);
      assert.match(args(builder, 'RUN').join('\n'), /apt-get install .*python3 make g\+\+/);
      assert.match(args(builder, 'RUN').join('\n'), /npm ci --omit=dev/);
      assert.ok(args(runtime, 'COPY').some((a) => a.startsWith('--from=builder /app/node_modules')));
      assert.ok(args(runtime, 'COPY').some((a) => a.startsWith('--from=build /app/dist')));
      assert.doesNotMatch(args(runtime, 'RUN').join('\n'), /g\+\+|python3/, 'no compiler in the runtime image');
      assert.ok(!args(runtime, 'COPY').some((a) => /^src\b/.test(a)), 'the image runs dist/, not TypeScript sources');
    });

    it('runs as a non-root user with a HEALTHCHECK on /health/live, STOPSIGNAL SIGTERM and start --foreground', () => {
      const runtime = stages.at(-1) as Stage;
      const user = args(runtime, 'USER').at(-1);
      assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
      assert.deepEqual(args(runtime, 'STOPSIGNAL'), ['SIGTERM']);
      assert.match(args(runtime, 'HEALTHCHECK')[0] ?? '', /\/health\/live/);
      assert.deepEqual(JSON.parse(args(runtime, 'CMD')[0] ?? ''), ['start', '--foreground']);
      assert.deepEqual(JSON.parse(args(runtime, 'ENTRYPOINT')[0] ?? ''), [
        '/usr/bin/tini',
        '--',
        'node',
        '/app/bin/autoloop.js',
      ]);
    });

    it("copies only files that exist, and the image's config validates", async () => {
      for (const copy of args(stages.at(-1) as Stage, 'COPY').filter((a) => !a.startsWith('--from'))) {
        for (const source of copy.split(/\s+/).slice(0, -1)) assert.ok(existsSync(join(ROOT, source)), source);
      }
      const env = args(stages.at(-1) as Stage, 'ENV').join(' ');
      const config = /AUTOLOOP_CONFIG=\/app\/(\S+)/.exec(env)?.[1] as string;
      const r = await autoloop(['validate', join(ROOT, config)], {
        env: { AUTOLOOP_TOKEN: 'a-token-of-32-characters-or-so!!' },
      });
      assert.equal(r.code, 0, r.stderr);
      const none = await autoloop(['validate', join(ROOT, config)], { env: { AUTOLOOP_TOKEN: undefined } });
      assert.equal(none.code, 2, 'no token, no start on 0.0.0.0');
    });

    it('the HEALTHCHECK command exits 0 on a 200 and 1 on a 503 or no answer', async () => {
      const [, command] = /CMD (\[.*\])$/.exec(args(stages.at(-1) as Stage, 'HEALTHCHECK')[0] ?? '') ?? [];
      const argv = JSON.parse(command as string) as string[];
      let status = 200;
      const server = createServer((_req, res) => res.writeHead(status).end('{}'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health/live`;
      const check = (target: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(argv[0] as string, argv.slice(1), {
            env: { ...process.env, AUTOLOOP_HEALTH_URL: target },
            stdio: 'ignore',
          });
          child.on('exit', resolve);
        });
      try {
        assert.equal(await check(url), 0);
        status = 503;
        assert.equal(await check(url), 1);
      } finally {
        server.close();
      }
      assert.equal(await check(url), 1, 'nothing listening');
    });
  });

  describe('deploy/kubernetes (static: no cluster here)', { concurrency: true }, () => {
    it('deployment.yaml: probes on /health/live and /health/ready, grace longer than shutdown.grace, config, volume, resources', async () => {
      const docs = manifests('deploy/kubernetes/deployment.yaml');
      assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service']);
      const deployment = docs.find((d) => d.kind === 'Deployment') as Manifest;
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0];
      assert.deepEqual(container.args, ['start', '--foreground']);
      assert.equal(container.livenessProbe.httpGet.path, '/health/live');
      assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
      assert.ok(container.resources.requests && container.resources.limits);
      assert.equal(deployment.spec.replicas, 1);
      assert.equal(deployment.spec.strategy.type, 'Recreate', 'one SQLite writer at a time');

      const configMap = docs.find((d) => d.kind === 'ConfigMap') as Manifest;
      const yaml = configMap.data['autoloop.yaml'] as string;
      const graceMs = parseDuration(parseYaml(yaml).shutdown.grace) as number;
      assert.ok(pod.terminationGracePeriodSeconds * 1000 >= graceMs + 10_000, 'room to drain, abort and release');

      const mounts = Object.fromEntries(container.volumeMounts.map((m: Manifest) => [m.name, m.mountPath]));
      const volumes = Object.fromEntries(pod.volumes.map((v: Manifest) => [v.name, v]));
      assert.equal(volumes.config.configMap.name, configMap.metadata.name);
      const env = Object.fromEntries(container.env.map((e: Manifest) => [e.name, e]));
      assert.equal(env.AUTOLOOP_CONFIG.value, `${mounts.config}/autoloop.yaml`);
      assert.equal(env.AUTOLOOP_TOKEN.valueFrom.secretKeyRef.name, 'autoloop');
      assert.ok(volumes.state.persistentVolumeClaim || volumes.state.emptyDir);
      assert.match(parseYaml(yaml).store, new RegExp(`^sqlite://${mounts.state}/`), 'the store is on the volume');
      await validates(yaml, { AUTOLOOP_TOKEN: 'a-token-of-32-characters-or-so!!' });
      // No per-pod Host setup: probes reach the pod IP, and run without a token Secret too.
      assert.equal(env.POD_IP, undefined);
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
        assert.equal(probe.httpGet.httpHeaders, undefined, 'kubelet sends the pod IP as Host, which is fine');
      }
      assert.equal(env.AUTOLOOP_TOKEN.valueFrom.secretKeyRef.optional, true);
      await validates(yaml, {});
    });

    it('cronjob.yaml: `autoloop run <loop>` on a schedule, one at a time, its loop in its config', async () => {
      const docs = manifests('deploy/kubernetes/cronjob.yaml');
      const cron = docs.find((d) => d.kind === 'CronJob') as Manifest;
      assert.match(cron.spec.schedule, /^\S+ \S+ \S+ \S+ \S+$/);
      assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
      const pod = cron.spec.jobTemplate.spec.template.spec;
      assert.equal(pod.restartPolicy, 'Never');
      const [command, loop] = pod.containers[0].args;
      assert.equal(command, 'run');
      const yaml = (docs.find((d) => d.kind === 'ConfigMap') as Manifest).data['autoloop.yaml'] as string;
      const config = parseYaml(yaml);
      assert.ok(config.loops[loop], `loop ${loop} is in the CronJob's config`);
      assert.ok(pod.terminationGracePeriodSeconds * 1000 > (parseDuration(config.shutdown.grace) as number));
      await validates(yaml, {});
    });
  });
});

// biome-ignore lint/suspicious/noExplicitAny: parsed manifests are walked by key, as kubectl would
type Manifest = Record<string, any>;

function manifests(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(ROOT, path), 'utf8'))
    .map((d) => d.toJS() as Manifest)
    .filter((d) => d !== null);
}

async function validates(yaml: string, env: NodeJS.ProcessEnv): Promise<void> {
  const file = join(dir, `k8s-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const r = await autoloop(['validate', file], { env });
  assert.equal(r.code, 0, r.stderr);
}

function line(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
}

let systemdAnalyze: boolean | undefined;
function hasSystemdAnalyze(): boolean {
  if (systemdAnalyze === undefined) {
    try {
      execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
      systemdAnalyze = true;
    } catch {
      systemdAnalyze = false;
    }
  }
  return systemdAnalyze;
}

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  instructions: Instruction[];
}

/** Dockerfile instructions: continuation lines joined, comments dropped, ARG defaults substituted. */
function dockerInstructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const argsDefaults = new Map<string, string>();
  const result: Instruction[] = [];
  for (const raw of joined.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(l) ?? [];
    if (!op || rest === undefined) continue;
    const args = rest.replace(/\s+/g, ' ').replace(/\$\{(\w+)\}/g, (m, name) => argsDefaults.get(name) ?? m);
    if (op === 'ARG') {
      const [name, value] = args.split('=');
      if (name && value) argsDefaults.set(name, value);
    }
    result.push({ op: op.toUpperCase(), args });
  }
  return result;
}

function splitStages(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') stages.push({ from: i.args, instructions: [] });
    else stages.at(-1)?.instructions.push(i);
  }
  return stages;
}

function args(stage: Stage, op: string): string[] {
  return stage.instructions.filter((i) => i.op === op).map((i) => i.args);
}

describe('alerts export', () => {
  it("writes the config's rules, with the built-in defaults, as a Prometheus rules file", async () => {
    const config = fileURLToPath(new URL('../autoloop.yaml', import.meta.url));
    const r = await autoloop(['alerts', 'export', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    const doc = parseYaml(r.stdout) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const names = new Set(doc.groups.flatMap((g) => g.rules.map((rule) => rule.alert)));
    for (const name of ['AutoloopCycleDelayed', 'AutoloopHighSkipRate', 'AutoloopCycleFailureRateHigh']) {
      assert.ok(names.has(name), `${name} in ${[...names].join(', ')}`);
    }
    assert.ok(doc.groups.every((g) => g.rules.every((rule) => rule.expr.length > 0)));
  });
});
