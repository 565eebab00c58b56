// A flaky app: runs for FLAKY_UP_MS (default 300 ms), then crashes with code 1.
// The supervisor restarts it after 0.1, 0.2, 0.4 … s, capped at 30 s.
console.log(`flaky ${process.env.AUTOLOOP_INSTANCE}: up`);
setTimeout(
  () => {
    console.error('flaky: crashing');
    process.exit(1);
  },
  Number(process.env.FLAKY_UP_MS ?? 300),
);
