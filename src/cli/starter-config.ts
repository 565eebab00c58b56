/**
 * The commented starter config `autoloop init` writes. Every key is set to
 * its default (so the file documents the defaults it runs with) with one
 * line on why you would change it; optional features are commented out.
 * A test writes it and runs `autoloop validate` on it, so it cannot drift
 * from the schema unnoticed.
 */
export const STARTER_CONFIG = `# autoloop.yaml, written by \`autoloop init\`.
# Every key is set to its default; the comment says why you would change it.
# Check it with \`autoloop validate\`; the full reference is docs/configuration.md.
# Durations: 250ms, 30s, 2m, 1h, 1h30m. Strings may use \${VAR} and \${VAR:-default}.

# Where state lives: cycle records, the durable queue, leases, events.
# Relative to this file. memory:// forgets everything at exit (tests, demos).
store: sqlite://./.autoloop/state.db

http:
  host: 127.0.0.1                 # bind address; 0.0.0.0 serves probes and /metrics to the network (admin needs the token)
  port: 8080                      # health, metrics, status, dashboard; 0 picks a free port
  token: "\${AUTOLOOP_TOKEN:-}"    # bearer token for pause/resume/run/shutdown over HTTP; empty: admin refused
  allowedHosts: []                # extra Host header names to accept (the DNS name you browse it by)

leases:
  ttl: 10s                        # a crashed process's items re-run elsewhere within about this long

shutdown:
  grace: 30s                      # on SIGTERM, how long in-flight items may finish before they are aborted

log:
  level: info                     # trace, debug, info, warn, error, fatal or silent; $AUTOLOOP_LOG_LEVEL overrides
  file: ./.autoloop/autoloop.log  # JSON lines (\`autoloop logs\` reads them); false: stdout only (containers)
  rotate:
    size: 10M                     # start a new file at this size
    interval: 1d                  # and at this age; false: by size only
    keep: 7                       # rotated files kept
    compress: false               # gzip rotated files

# Alert rules, evaluated in the process; firing and resolved alerts go to the
# log, the event stream and the webhooks below.
alerts:
  defaults: true                  # built-in rules (delayed or failing cycles, open breakers, ...) for the features in use
  interval: 15s                   # how often rules are evaluated
  rules: []                       # your own: { name, metric, op, threshold, for, severity }
webhooks: []                      # e.g. [{ url: "https://hooks.example.com/autoloop" }]: alerts POSTed, with retries

tracing:
  enabled: false                  # OpenTelemetry spans per cycle and item; OTEL_EXPORTER_OTLP_* env vars say where
  serviceName: autoloop           # service.name on every span

# Dependencies your loops call (an API, an exchange): a circuit breaker and a
# rate limit each, shared by every loop that lists it in policies.uses.
dependencies: {}                  # none yet; an example:
#  api:
#    breaker: { failureThreshold: 5, recoveryTimeout: 60s, halfOpenMaxCalls: 3, successThreshold: 2 }
#    rateLimit: { requests: 100, per: 1m, shared: true }

loops:
  hello:                          # the loop's name: in URLs, metrics and \`autoloop run hello\`
    description: greets two names every minute, through a shell command
    trigger:
      interval: 1m                # or cron: "*/5 * * * *" (with timezone: UTC), or manual: true
      overlap: skip               # a tick while the last cycle still runs: skip (recorded) or queue-one
      missed: skip                # ticks that fell due while nothing ran: skip (recorded) or run-once
    # observe: ./loops/hello.ts#observe   # read the world; its result is the snapshot plan() gets
    items: [world, autoloop]      # a fixed snapshot, for loops without observe
    # plan: ./loops/hello.ts#plan         # default: one item per element (key: the string, element.key or index)
    act:                          # one work item: a module export (./loops/hello.ts#act) or a command
      # A command gets the item as JSON on stdin and $AUTOLOOP_ITEM_KEY; JSON on stdout is its result.
      command: 'echo "{\\"hello\\": \\"$AUTOLOOP_ITEM_KEY\\"}"'
      timeout: 10s                # the command's own limit (defaults to policies.timeout)
    policies:
      timeout: 30s                # per attempt: the item's AbortSignal fires, a command's process group is killed
      retry:
        attempts: 1               # total attempts including the first; raise it for flaky calls
        backoff: 1s               # base of the exponential backoff (full jitter) between attempts
        maxBackoff: 30s           # cap on one delay
      concurrency: 10             # items at once (the maximum when adaptive)
      uses: []                    # names under dependencies: whose breaker and rate limit every attempt goes through
      adaptive: false             # true: concurrency follows latency between a minimum and \`concurrency\`
      backpressure: { after: 3, cooldown: 2 }   # after 3 cycles longer than the period, skip 2 ticks; false: off
      lease: true                 # one holder per item key across processes, results fenced; false: no overrun guard
`;
