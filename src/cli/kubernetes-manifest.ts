import { stringify } from 'yaml';

/** What the manifest is made from: the config as written, and the facts it needs from it. */
export interface ManifestSpec {
  /** Name of the Deployment, Service, ConfigMap and volume claim. */
  name: string;
  image: string;
  /** The config file's text, mounted read-only at /etc/autoloop/autoloop.yaml. */
  configText: string;
  port: number;
  graceMs: number;
  /** `resources.memory` (`512M`, `2G`) and `resources.cpu` (`80%`) of the config; null: the defaults below. */
  memoryMax: string | null;
  cpuQuota: string | null;
  /** An SQLite store keeps its file on a volume claim (one replica, Recreate); other stores need none. */
  sqlite: boolean;
}

/** Seconds Kubernetes waits beyond the grace period before SIGKILL, as the systemd unit's margin. */
export const KILL_MARGIN_S = 15;
const DEFAULT_LIMITS = { memory: '512Mi', cpu: '1' };
const STATE_DIR = '/var/lib/autoloop';

/**
 * A Kubernetes manifest running `autoloop start --foreground` on one config:
 * the config in a ConfigMap, a Deployment with the probes on `/health/live`
 * and `/health/ready`, the grace period from `shutdown.grace`, the container's
 * limits from `resources:` (`512M` → `512Mi`, `80%` → `800m`), and a Service.
 * With an SQLite store: its file on a ReadWriteOnce claim, one replica, and
 * `--store` pointing there.
 *
 * @example
 * kubernetesManifest({ name: 'autoloop', image: 'autoloop:latest', configText, port: 8080, ... })
 */
export function kubernetesManifest(spec: ManifestSpec): string {
  const labels = { 'app.kubernetes.io/name': spec.name };
  const limits = {
    cpu: spec.cpuQuota === null ? DEFAULT_LIMITS.cpu : kubernetesCpu(spec.cpuQuota),
    memory: spec.memoryMax === null ? DEFAULT_LIMITS.memory : kubernetesMemory(spec.memoryMax),
  };
  const args = ['start', '--foreground', '--host', '0.0.0.0', '--port', String(spec.port)];
  if (spec.sqlite) args.push('--store', `sqlite://${STATE_DIR}/state.db`);
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds,
    failureThreshold,
  });
  const volumes: object[] = [
    { name: 'config', configMap: { name: `${spec.name}-config` } },
    { name: 'tmp', emptyDir: {} },
  ];
  const mounts: object[] = [
    { name: 'config', mountPath: '/etc/autoloop', readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  if (spec.sqlite) {
    volumes.push({ name: 'state', persistentVolumeClaim: { claimName: `${spec.name}-state` } });
    mounts.push({ name: 'state', mountPath: STATE_DIR });
  }
  const documents: object[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${spec.name}-config`, labels },
      data: { 'autoloop.yaml': spec.configText },
    },
    ...(spec.sqlite
      ? [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: `${spec.name}-state`, labels },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ]
      : []),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: spec.name, labels },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(spec.port),
              'prometheus.io/path': '/metrics',
            },
          },
          spec: {
            terminationGracePeriodSeconds: Math.ceil(spec.graceMs / 1000) + KILL_MARGIN_S,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
            containers: [
              {
                name: 'autoloop',
                image: spec.image,
                args,
                env: [
                  { name: 'AUTOLOOP_CONFIG', value: '/etc/autoloop/autoloop.yaml' },
                  {
                    name: 'AUTOLOOP_TOKEN',
                    valueFrom: { secretKeyRef: { name: spec.name, key: 'token', optional: true } },
                  },
                ],
                ports: [{ name: 'http', containerPort: spec.port }],
                livenessProbe: probe('/health/live', 10, 3),
                readinessProbe: probe('/health/ready', 10, 3),
                startupProbe: probe('/health/live', 2, 30),
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: spec.name, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: spec.port, targetPort: 'http' }] },
    },
  ];
  return documents.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
}

/** systemd's `512M` / `2G` (binary units) as Kubernetes' `512Mi` / `2Gi`; a fraction is rounded up to whole Mi. */
export function kubernetesMemory(size: string): string {
  const match = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(size);
  if (!match) throw new Error(`expected a size like "512M" or "2G", got "${size}"`);
  const value = Number(match[1]);
  const unit = match[2] as 'K' | 'M' | 'G' | 'T';
  if (Number.isInteger(value)) return `${value}${unit}i`;
  const mebibytes = value * { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[unit];
  return `${Math.ceil(mebibytes)}Mi`;
}

/** systemd's `CPUQuota=80%` (of one core) as Kubernetes millicores: `800m`. */
export function kubernetesCpu(quota: string): string {
  const match = /^([1-9]\d*)%$/.exec(quota);
  if (!match) throw new Error(`expected a share of one core like "80%", got "${quota}"`);
  return `${Number(match[1]) * 10}m`;
}
