// An app with a health endpoint that hangs after HANG_AFTER_MS (default 5 s):
// /health stops answering, as a wedged event loop would. Its health check
// fails, and the supervisor restarts it (what PM2 cannot do, Unitech/pm2#2197).
import { createServer } from 'node:http';

const started = Date.now();
const hangAfter = Number(process.env.HANG_AFTER_MS ?? 5000);
createServer((_req, res) => {
  if (Date.now() - started > hangAfter) return;
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok\n');
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`hangs: listening on ${process.env.PORT}`));
