/** A sandbox, a merchant endpoint that records what the gateway sends it, and a client, for one test file. */
import { afterAll, beforeAll } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import { startMerchantStub, startSandbox, type MerchantStub, type Sandbox, type SandboxOptions } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

export const SAMPLE_MERCHANT = { account: '995149', terminal: '99514901', secureCode: '12345678' };

export interface SandboxClient {
  readonly sandbox: Sandbox;
  readonly merchant: MerchantStub;
  readonly client: OceanpaymentClient;
}

export function useSandboxClient(options: Partial<SandboxOptions> & { clientTimeoutMs?: number }): SandboxClient {
  const parts = {} as { sandbox: Sandbox; merchant: MerchantStub; client: OceanpaymentClient };
  const { clientTimeoutMs = 20_000, ...sandboxOptions } = options;
  beforeAll(async () => {
    parts.sandbox = await startSandbox({ accounts: [SAMPLE_MERCHANT], ...sandboxOptions });
    parts.merchant = await startMerchantStub();
    parts.client = new OceanpaymentClient({
      gatewayUrl: parts.sandbox.url,
      queryUrl: parts.sandbox.url,
      credentials: SAMPLE_MERCHANT,
      timeoutMs: clientTimeoutMs,
    });
  });
  afterAll(async () => {
    await parts.client?.close();
    await parts.merchant?.close();
    await parts.sandbox?.close();
  });
  return {
    get sandbox() {
      return parts.sandbox;
    },
    get merchant() {
      return parts.merchant;
    },
    get client() {
      return parts.client;
    },
  };
}
