/**
 * `result.published` to webhooks: a loop with `publish` whose results a
 * webhook asked for gets one POST per stored, succeeded result (seed 002:
 * signals "to webhooks if configured"), over real HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { TerminalError } from '../src/core/errors.ts';
import { createRuntime } from '../src/runtime/runtime.ts';

describe('result.published to webhooks', () => {
  it('POSTs each succeeded result of a publishing loop, none for a failed item or a loop without publish', async () => {
    const posts: Array<{ event: string; data: { loop: string; key: string; output: unknown } }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        posts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const runtime = createRuntime({
      loops: [
        {
          name: 'signals',
          trigger: { manual: true },
          observe: () => ['BTC/USD', 'ETH/USD', 'BAD/USD'],
          act: (item) => {
            if (item.key === 'BAD/USD') throw new TerminalError('no candles');
            return { symbol: item.key, action: 'HOLD' };
          },
          publish: {},
        },
        { name: 'quiet', trigger: { manual: true }, observe: () => ['x'], act: () => 'done' },
      ],
      observability: {
        webhooks: [{ url, events: ['result.published'], headers: {}, timeoutMs: 2_000, attempts: 2 }],
      },
    });
    await runtime.start({ schedule: false });
    try {
      await runtime.run('signals');
      await runtime.run('quiet');
      const deadline = Date.now() + 5_000;
      while (posts.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200)); // nothing more may come
      assert.deepEqual(posts.map((p) => [p.event, p.data.loop, p.data.key, p.data.output]).sort(), [
        ['result.published', 'signals', 'BTC/USD', { symbol: 'BTC/USD', action: 'HOLD' }],
        ['result.published', 'signals', 'ETH/USD', { symbol: 'ETH/USD', action: 'HOLD' }],
      ]);
    } finally {
      await runtime.stop();
      server.close();
    }
  });
});
