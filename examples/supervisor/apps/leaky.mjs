// A leaking app: keeps about LEAK_MB_PER_S (default 50) MB more per second.
// With `limits.memory: 256MB` the supervisor restarts it within seconds of crossing.
const kept = [];
const perTick = ((Number(process.env.LEAK_MB_PER_S) || 50) * 1024 * 1024) / 10;
setInterval(() => kept.push(Buffer.alloc(perTick, 1)), 100);
console.log('leaky: leaking');
