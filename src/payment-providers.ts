/**
 * The registry of payment providers: which providers rebill can use, built from configuration.
 * Adding a provider means its folder under src/payments/providers/, an entry here, and its
 * settings in config.ts; nothing else changes.
 */
import type { Config } from './config.ts';
import { PaymentProviders, type PaymentProvider } from './payments/provider.ts';
import { OCEANPAYMENT, oceanpaymentProvider } from './payments/providers/oceanpayment/provider.ts';

/** Where each provider is reached, when not where the configuration says (the worker's built-in sandbox). */
export interface ProviderEndpoints {
  oceanpayment?: { gatewayUrl: string; queryUrl: string };
}

export function createPaymentProviders(config: Config, endpoints: ProviderEndpoints = {}, extra: readonly PaymentProvider[] = []): PaymentProviders {
  const oceanpayment = oceanpaymentProvider({
    gatewayUrl: endpoints.oceanpayment?.gatewayUrl ?? config.gateway.gatewayUrl,
    queryUrl: endpoints.oceanpayment?.queryUrl ?? config.gateway.queryUrl,
    credentials: config.gateway.credentials,
    timeoutMs: config.gateway.timeoutMs,
    methods: config.gateway.methods,
    gatewayUtcOffsetMinutes: config.gateway.utcOffsetMinutes,
  });
  return new PaymentProviders([oceanpayment, ...extra], OCEANPAYMENT);
}

/** The provider new subscriptions' card tokens belong to, unless another is named. */
export function defaultProviderName(_config: Config): string {
  return OCEANPAYMENT;
}
