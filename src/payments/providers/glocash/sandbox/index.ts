/** The Glocash sandbox: start it with `startGlocashSandbox({ accounts: [...] })`. */
export { startGlocashSandbox } from './server.ts';
export type { GlocashSandbox, GlocashSandboxOptions } from './server.ts';
export { NOTICE_BEHAVIOURS, TEST_CARDS } from './behaviours.ts';
export { GLOCASH_SANDBOX_EMAIL, GLOCASH_SANDBOX_SECRET_KEY } from './defaults.ts';
