// A collector for tests: uploads a small JSON object to the s3:// URL in argv[2]
// on the S3 endpoint in $S3_ENDPOINT (s3rver's fixed credentials).
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const url = new URL(process.argv[2]);
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const body = JSON.stringify({ key: process.env.RECONCILE_KEY, source: process.env.RECONCILE_SOURCE });
await client.send(new PutObjectCommand({ Bucket: url.host, Key: url.pathname.slice(1), Body: body }));
client.destroy();
process.stdout.write('{"uploaded":true}\n');
