/**
 * SIGTERM/SIGINT handling for a process that runs a runtime: the first
 * signal asks for a graceful stop, a second one (of either kind) forces an
 * immediate exit. Returns a function that removes the handlers.
 */
export function onShutdownSignals(handlers: {
  graceful(signal: NodeJS.Signals): void;
  forced(signal: NodeJS.Signals): void;
}): () => void {
  let received = 0;
  const handle = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) handlers.graceful(signal);
    else handlers.forced(signal);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  return () => {
    process.off('SIGTERM', handle);
    process.off('SIGINT', handle);
  };
}

/** The conventional exit status for a process ended by `signal` (128 + number). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}
