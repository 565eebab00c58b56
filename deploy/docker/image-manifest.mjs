// Rewrites package.json for the image (Dockerfile, builder stage): the
// optional peer dependencies a config can opt into (ioredis for redis://,
// the OpenTelemetry SDK for tracing, openai and trading-signals for
// `recipe: signals`) become dependencies at the exact versions this
// checkout pins in devDependencies, so the image has every feature and
// `npm install --package-lock-only` keeps the lockfile's versions. tsx
// stays out: the image's Node strips types itself.
import { readFileSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
for (const name of Object.keys(pkg.peerDependencies ?? {})) {
  if (name === 'tsx') continue;
  pkg.dependencies[name] = pkg.devDependencies[name];
  delete pkg.devDependencies[name];
}
writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
