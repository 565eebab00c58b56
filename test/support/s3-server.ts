/**
 * A local server that speaks the S3 protocol (s3rver), started per test
 * file in a child process (NODE_OPTIONS=--openssl-legacy-provider only
 * there), with a client pointed at it and helpers to fill a bucket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  readonly endpoint: string;
  readonly client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Puts objects, `parallel` at a time. */
  put(
    bucket: string,
    objects: ReadonlyArray<{ key: string; body: string | Uint8Array }>,
    parallel?: number,
  ): Promise<void>;
  stop(): Promise<void>;
}

const MAIN = new URL('./s3rver-main.mjs', import.meta.url).pathname;

export async function startS3Server(): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-s3rver-'));
  const child = spawn(process.execPath, [MAIN, dir], {
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 30 s: ${err}`)), 30_000);
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0] as string;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${err}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = s3Client(endpoint);
  return {
    endpoint,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, objects, parallel = 16) {
      let next = 0;
      const worker = async () => {
        while (next < objects.length) {
          const o = objects[next++] as { key: string; body: string | Uint8Array };
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body }));
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
    },
    async stop() {
      client.destroy();
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client for s3rver: path-style, its fixed credentials. */
export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
