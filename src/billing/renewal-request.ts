/** The gateway request for one claimed attempt. */
import type { ChargeAttempt, Subscription } from '../db/database.ts';
import type { ChargeRequest } from '../payments/providers/oceanpayment/charge-request.ts';
import type { ServiceMode } from '../payments/providers/oceanpayment/service-mode.ts';

export function renewalChargeRequest(
  subscription: Subscription,
  attempt: ChargeAttempt,
  urls: { notice: string; back: string },
): ChargeRequest {
  return {
    orderNumber: attempt.order_number,
    amountMinor: attempt.amount_minor,
    currency: attempt.currency,
    serviceMode: attempt.service_mode as ServiceMode,
    quickpayId: subscription.quickpay_id,
    // Shown in the merchant's back office; the sandbox's double-charge check also keys on it.
    orderNotes: `subscription ${subscription.id} period ${attempt.period}`,
    billing: {
      firstName: subscription.customer_first_name,
      lastName: subscription.customer_last_name,
      email: subscription.customer_email,
      country: subscription.customer_country,
    },
    product: { name: subscription.product_name, sku: subscription.interval },
    noticeUrl: urls.notice,
    backUrl: urls.back,
  };
}
