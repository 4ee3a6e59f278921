#!/usr/bin/env node
// Runs one of the TypeScript scripts (bench, chaos, demo) through tsx, like bin/rebill.mjs.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

register();
const [script, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], resolve(script), ...rest];
await import(pathToFileURL(resolve(script)).href);
