#!/usr/bin/env node
// The `rebill` command. The Node.js check comes first; everything else is imported after it.
// Runs the compiled build in dist/ when it matches the sources (npm install builds it), and the
// TypeScript sources through tsx after an edit, so `npx rebill` never needs a manual build step.
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();
const { loadEntry } = await import('./sources.mjs');
const { main } = await loadEntry('src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
