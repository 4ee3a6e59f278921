#!/usr/bin/env node
// Runs the compiled build in dist/ when it matches the sources (npm install builds it), and the
// TypeScript sources through tsx otherwise, so `npx rebill` never needs a manual build step.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, builtIsCurrent } from './sources.mjs';

let entry = join(ROOT, 'dist', 'src', 'cli', 'main.js');
if (!builtIsCurrent()) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(ROOT, 'src', 'cli', 'main.ts');
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
