/**
 * Health as plain data. A check is a named async function (as in
 * controller-runtime's healthz); the runtime runs them and the HTTP surface
 * renders the report.
 */
export interface ComponentHealth {
  healthy: boolean;
  /** One line for humans: why it is unhealthy, or a short status. */
  detail?: string;
  /** Extra JSON-safe fields (last cycle time, counts, ...). */
  [field: string]: unknown;
}

export interface HealthReport {
  healthy: boolean;
  status: 'healthy' | 'unhealthy';
  /** ISO time the report was made (runtime clock). */
  checkedAt: string;
  /** Set when served from the HTTP surface's cache: milliseconds since the report was computed. */
  ageMs?: number;
  components: Record<string, ComponentHealth>;
}

/** A named check. It should answer within a second; a throw counts as unhealthy. */
export type HealthCheck = (signal: AbortSignal) => Promise<ComponentHealth> | ComponentHealth;

export function healthReport(components: Record<string, ComponentHealth>, now: number): HealthReport {
  const healthy = Object.values(components).every((c) => c.healthy);
  return { healthy, status: healthy ? 'healthy' : 'unhealthy', checkedAt: new Date(now).toISOString(), components };
}
