#!/usr/bin/env node
// Runs one of the scripts (bench, chaos, demo) like bin/rebill.mjs runs the CLI: compiled when
// the build is current, through tsx after an edit.
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();
const { relative, resolve } = await import('node:path');
const { ROOT, loadEntry } = await import('./sources.mjs');
const [script, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], resolve(script), ...rest];
await loadEntry(relative(ROOT, resolve(script)));
