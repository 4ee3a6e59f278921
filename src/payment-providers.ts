/**
 * The registry of payment providers: which providers rebill can use, built from configuration.
 * Adding a provider means its folder under src/payments/providers/, an entry here, and its
 * settings in config.ts; nothing else changes.
 */
import type { Config } from './config.ts';
import { PaymentProviders, type PaymentProvider } from './payments/provider.ts';
import { GLOCASH, glocashProvider } from './payments/providers/glocash/provider.ts';
import { OCEANPAYMENT, oceanpaymentProvider } from './payments/providers/oceanpayment/provider.ts';
import type { CollectionMethod } from './db/database.ts';

/** Where each provider is reached, when not where the configuration says (the worker's built-in sandbox). */
export interface ProviderEndpoints {
  oceanpayment?: { gatewayUrl: string; queryUrl: string; quickPayUrl?: string };
  glocash?: { apiUrl: string };
}

export function createPaymentProviders(config: Config, endpoints: ProviderEndpoints = {}, extra: readonly PaymentProvider[] = []): PaymentProviders {
  const oceanpayment = oceanpaymentProvider({
    gatewayUrl: endpoints.oceanpayment?.gatewayUrl ?? config.gateway.gatewayUrl,
    queryUrl: endpoints.oceanpayment?.queryUrl ?? config.gateway.queryUrl,
    quickPayUrl: endpoints.oceanpayment?.quickPayUrl ?? config.gateway.quickPayUrl,
    credentials: config.gateway.credentials,
    timeoutMs: config.gateway.timeoutMs,
    methods: config.gateway.methods,
    gatewayUtcOffsetMinutes: config.gateway.utcOffsetMinutes,
  });
  const glocash = config.glocash.mode === 'off'
    ? []
    : [glocashProvider({ apiUrl: endpoints.glocash?.apiUrl ?? config.glocash.apiUrl, credentials: config.glocash.credentials, timeoutMs: config.glocash.timeoutMs })];
  return new PaymentProviders([oceanpayment, ...glocash, ...extra], OCEANPAYMENT);
}

/**
 * Why `provider` cannot collect a subscription by `collection` under this configuration, or
 * null: the provider must be configured and able to (a card token needs \`token_charge\`, a
 * payment link \`payment_link\`).
 */
export async function collectionProblem(config: Config, provider: string, collection: CollectionMethod): Promise<string | null> {
  const providers = createPaymentProviders(config);
  try {
    return collectionProblemAmong(providers, provider, collection);
  } finally {
    await providers.close();
  }
}

/** The same check against providers already built (the worker's, for the API). */
export function collectionProblemAmong(providers: PaymentProviders, provider: string, collection: CollectionMethod): string | null {
  const found = providers.find(provider);
  const names = providers.all().map((p) => p.name);
  if (!found) return `provider "${provider}" is not configured (configured: ${names.join(', ')})`;
  const needed = collection === 'card_token' ? 'token_charge' : collection === 'payment_link' ? 'payment_link' : 'in_person_qr';
  if (found.capabilities.has(needed)) return null;
  const able = providers.all().filter((p) => p.capabilities.has(needed)).map((p) => p.name);
  return `provider "${provider}" cannot collect by ${collection}${able.length ? `: use --provider ${able.join(' or ')}` : ''}`;
}

/** The provider new subscriptions' card tokens belong to, unless another is named. */
export function defaultProviderName(_config: Config): string {
  return OCEANPAYMENT;
}

/** The provider a new subscription is collected through when none is named. */
export function defaultProviderFor(collection: CollectionMethod): string {
  return collection === 'payment_link' ? GLOCASH : OCEANPAYMENT;
}

