/** The providers the worker uses: Oceanpayment, a sandbox elsewhere, or a sandbox it starts itself. */
import type { Config } from '../config.ts';
import { createPaymentProviders } from '../payment-providers.ts';
import type { PaymentProviders } from '../payments/provider.ts';
import type { Logger } from '../lib/logger.ts';
import { withoutCredentials } from '../lib/secrets.ts';
import { startSandbox, type Sandbox } from '../payments/providers/oceanpayment/sandbox/index.ts';
import { startGlocashSandbox, type GlocashSandbox } from '../payments/providers/glocash/sandbox/index.ts';

export interface GatewaySetup {
  providers: PaymentProviders;
  /** Where charges go, for the logs and for checking payment-link redirects. */
  gatewayUrl: string;
  description: string;
  sandbox: Sandbox | null;
  glocashSandbox: GlocashSandbox | null;
  close(): Promise<void>;
}

export async function setUpGateway(config: Config, logger: Logger): Promise<GatewaySetup> {
  const { credentials } = config.gateway;
  let sandbox: Sandbox | null = null;
  let gatewayUrl = config.gateway.gatewayUrl;
  let queryUrl = config.gateway.queryUrl;
  if (config.gateway.builtinSandbox) {
    try {
      // On the worker's address, so in a container (REBILL_HOST=0.0.0.0) its published port
      // reaches the 3-D Secure page that e-mailed links lead to.
      sandbox = await startSandbox({ accounts: [credentials], host: config.http.host, port: config.gateway.sandboxPort, logger: logger.child({ component: 'sandbox' }) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new Error(
          `port ${config.gateway.sandboxPort} for the built-in sandbox is in use (is another worker running?): ` +
            'set REBILL_SANDBOX_PORT to a free port, or run `rebill sandbox` once and point every worker at it with OCEANPAYMENT_GATEWAY_URL',
        );
      }
      throw error;
    }
    gatewayUrl = queryUrl = sandbox.url;
  }
  const glocashSandbox = config.glocash.builtinSandbox ? await startBuiltinGlocashSandbox(config, logger) : null;
  // The built-in sandbox answers the QuickPay API on its one address too.
  const quickPayUrl = sandbox ? sandbox.url : config.gateway.quickPayUrl;
  const providers = createPaymentProviders(config, { oceanpayment: { gatewayUrl, queryUrl, quickPayUrl }, ...(glocashSandbox ? { glocash: { apiUrl: glocashSandbox.url } } : {}) });
  const description = sandbox
    ? `no Oceanpayment account is configured, so rebill started its built-in sandbox gateway at ${sandbox.url} and uses it`
    : config.gateway.mode === 'sandbox'
      ? `no Oceanpayment account is configured; using the sandbox gateway at ${withoutCredentials(gatewayUrl)}`
      : `charging through Oceanpayment at ${withoutCredentials(gatewayUrl)} as account ${credentials.account}, terminal ${credentials.terminal}`;
  return {
    providers,
    gatewayUrl,
    description: glocashSandbox ? `${description}; Glocash payment links use its built-in sandbox at ${glocashSandbox.url}` : description,
    sandbox,
    glocashSandbox,
    close: async () => {
      await providers.close();
      await sandbox?.close();
      await glocashSandbox?.close();
    },
  };
}

/** The Glocash sandbox (payment page included), on the worker's address like the Oceanpayment one. */
async function startBuiltinGlocashSandbox(config: Config, logger: Logger): Promise<GlocashSandbox> {
  try {
    return await startGlocashSandbox({ accounts: [config.glocash.credentials], host: config.http.host, port: config.glocash.sandboxPort, logger: logger.child({ component: 'glocash-sandbox' }) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${config.glocash.sandboxPort} for the built-in Glocash sandbox is in use (is another worker running?): set REBILL_GLOCASH_SANDBOX_PORT to a free port`);
    }
    throw error;
  }
}
