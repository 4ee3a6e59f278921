/** The sandbox's sample merchant, used when no Glocash account is configured (never a real one). */
export const GLOCASH_SANDBOX_EMAIL = 'merchant@sandbox.glocash.test';
export const GLOCASH_SANDBOX_SECRET_KEY = 'glocash-sandbox-secret-key';
