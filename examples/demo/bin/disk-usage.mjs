#!/usr/bin/env node
// Demo command act: reads the work item (JSON) on stdin, reports disk usage of
// the path in its payload as JSON on stdout. Exit code 0 = success.
import { statfsSync } from 'node:fs';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const item = JSON.parse(input);
const path = typeof item.payload === 'string' ? item.payload : '.';
const s = statfsSync(path);
const total = s.blocks * s.bsize;
const free = s.bavail * s.bsize;
console.log(
  JSON.stringify({ path, totalBytes: total, freeBytes: free, usedPercent: Math.round((1 - free / total) * 1000) / 10 }),
);
