/**
 * A recipe's routes that throw: an HTTPException keeps its 4xx status and
 * message (also one from another copy of hono, as a user's recipe has when
 * autoloop runs from its compiled package with hono bundled), anything else
 * is a 500; both as the app's JSON error body.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTPException } from 'hono/http-exception';
import { createFakeHttpSource } from './fake-http-source.ts';
import { createHttpApp } from './routes.ts';

/** What a second copy of hono's HTTPException looks like: same shape, another class. */
class OtherCopyHTTPException extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
  getResponse(): Response {
    return new Response(this.message, { status: this.status });
  }
}

function appThrowing(error: () => Error) {
  return createHttpApp({
    ...createFakeHttpSource(),
    extensions: [
      {
        path: '/thing',
        register: (app) => {
          app.get('/', () => {
            throw error();
          });
        },
      },
    ],
  });
}

describe('errors thrown by an extension route', () => {
  it("an HTTPException of the app's own hono keeps its 4xx status and message", async () => {
    const res = await appThrowing(() => new HTTPException(409, { message: 'already running' })).request('/thing');
    assert.equal(res.status, 409);
    assert.deepEqual(await res.json(), { error: 'already running', path: '/thing' });
  });

  it('an HTTPException of another hono copy keeps its 4xx status and message (was a 500)', async () => {
    const res = await appThrowing(() => new OtherCopyHTTPException(422, 'symbol: unknown "XYZ"')).request('/thing');
    assert.equal(res.status, 422);
    assert.deepEqual(await res.json(), { error: 'symbol: unknown "XYZ"', path: '/thing' });
  });

  it('a 5xx HTTPException and a plain error are a 500 with the message', async () => {
    for (const error of [() => new OtherCopyHTTPException(503, 'upstream down'), () => new Error('boom')]) {
      const res = await appThrowing(error).request('/thing');
      assert.equal(res.status, 500);
      const body = (await res.json()) as { error: string };
      assert.match(body.error, /upstream down|boom/);
    }
  });

  it('an error with a numeric status but no getResponse is not taken for an HTTPException', async () => {
    const res = await appThrowing(() => Object.assign(new Error('odd'), { status: 404 })).request('/thing');
    assert.equal(res.status, 500);
  });
});
