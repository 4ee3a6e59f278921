/** What the renewal engine needs from a payment gateway. OceanpaymentClient provides it. */
import type { ChargeRequest } from './providers/oceanpayment/charge-request.ts';
import type { ChargeOutcome } from './providers/oceanpayment/outcome.ts';
import type { QueryResult } from './providers/oceanpayment/query-response.ts';

export interface Gateway {
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  query(orderNumber: string): Promise<QueryResult>;
  close(): Promise<void>;
}
