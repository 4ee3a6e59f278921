/** Prometheus metrics for the worker, served at GET /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly charges: Counter<'outcome'>;
  readonly notices: Counter<'result'>;
  readonly gatewayLatency: Histogram<'operation'>;
  readonly dueToSentLag: Histogram;
  readonly requestErrors: Counter;
  readonly unresolvedAttempts: Gauge<'status'>;
  readonly emails: Counter<'result'>;
  readonly reconciliationItems: Counter<'outcome' | 'kind'>;
  readonly reconciliationFlagged: Gauge<'provider'>;
}

export function createMetrics(collectUnresolved: () => Promise<Record<string, number>>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rebill_process_' });
  const charges = new Counter({
    name: 'rebill_charges_total',
    help: 'Charges sent to the gateway, by what the gateway answered',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const notices = new Counter({
    name: 'rebill_notices_total',
    help: 'Gateway notices and browser returns received, by what was done with them',
    labelNames: ['result'],
    registers: [registry],
  });
  const gatewayLatency = new Histogram({
    name: 'rebill_gateway_latency_seconds',
    help: 'Gateway round-trip time',
    labelNames: ['operation'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const dueToSentLag = new Histogram({
    name: 'rebill_due_to_sent_lag_seconds',
    help: 'Time from a charge falling due to its request being sent',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    registers: [registry],
  });
  const requestErrors = new Counter({
    name: 'rebill_gateway_request_errors_total',
    help: 'Charges the gateway refused as malformed or badly signed (a configuration problem, not the customer)',
    registers: [registry],
  });
  const unresolvedAttempts = new Gauge({
    name: 'rebill_unresolved_attempts',
    help: 'Charge attempts still awaiting their outcome, by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, count] of Object.entries(await collectUnresolved())) this.set({ status }, count);
    },
  });
  const emails = new Counter({
    name: 'rebill_emails_total',
    help: 'Customer e-mails, by delivery result',
    labelNames: ['result'],
    registers: [registry],
  });
  const reconciliationItems = new Counter({
    name: 'rebill_reconciliation_items_total',
    help: 'What daily reconciliation with the provider fixed or flagged for a person, by kind',
    labelNames: ['outcome', 'kind'],
    registers: [registry],
  });
  const reconciliationFlagged = new Gauge({
    name: 'rebill_reconciliation_flagged',
    help: 'Items the latest reconciliation run flagged for a person (0: the day matched)',
    labelNames: ['provider'],
    registers: [registry],
  });
  return { registry, charges, notices, gatewayLatency, dueToSentLag, requestErrors, unresolvedAttempts, emails, reconciliationItems, reconciliationFlagged };
}
