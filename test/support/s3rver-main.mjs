// Runs s3rver on 127.0.0.1 with a free port, in a child process of its own:
// s3rver's paginated listing needs the OpenSSL legacy provider, which only
// a process started with NODE_OPTIONS=--openssl-legacy-provider has.
// argv: <directory>. Prints `{"port":N}` once listening; exits on SIGTERM.
import S3rver from 's3rver';

const directory = process.argv[2];
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
const info = await server.run();
process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
