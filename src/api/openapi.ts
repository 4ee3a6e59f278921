/**
 * The API's OpenAPI 3.1 document: served at /api/v1/openapi.json, and the one schema both request
 * validation (here) and the tests' response validation use.
 */
import { COLLECTION_METHODS, SUBSCRIPTION_STATUSES } from '../db/database.ts';
import { INTERVALS } from '../plans/billing-calendar.ts';
import { ENROLLABLE_COLLECTIONS } from '../subscriptions/enrol.ts';

const text = { type: 'string' } as const;
const nullableText = { type: ['string', 'null'] } as const;
const nullableInteger = { type: ['integer', 'null'] } as const;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const reply = (description: string, schema: object) => ({ description, content: json(schema) });
const errorReply = (description: string) => reply(description, ref('Error'));
const idParameter = { name: 'id', in: 'path', required: true, description: 'The subscription id (a UUID).', schema: text };
const cursorParameters = [
  { name: 'limit', in: 'query', required: false, description: 'At most this many (1 to 100, default 20).', schema: { type: 'string', pattern: '^[0-9]{1,3}$' } },
  { name: 'cursor', in: 'query', required: false, description: "The previous page's `next_cursor`.", schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' } },
];
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Any 1 to 255 printable ASCII characters. The same key with the same body replays the first response; with another body: 409. Kept at least 24 hours.',
  schema: text,
};
const reason = { type: 'string', maxLength: 500, description: 'Why, kept in the event log.' };
const readErrors = {
  401: errorReply('No key, or a revoked or unknown one.'),
  429: errorReply('Too many requests for this key; see Retry-After.'),
  500: errorReply('rebill failed inside; its log has the details. A POST with an Idempotency-Key stays unanswered (409 on a repeat): look the result up before retrying.'),
};
const writeErrors = {
  ...readErrors,
  400: errorReply('Bad input: every problem, each naming its field. Nothing was changed.'),
  403: errorReply('A read-only key cannot change anything.'),
  409: errorReply('Not possible in the current state, or the Idempotency-Key was used for another request.'),
};
const money = { type: 'string', pattern: '^[0-9]+(\\.[0-9]{1,2})?$' };

const subscription = {
  type: 'object',
  required: ['id', 'external_id', 'status', 'customer', 'quickpay_id', 'collection_method', 'payment_method', 'product', 'interval', 'amount', 'amount_minor', 'currency', 'timezone', 'anchor_at', 'next_period', 'next_renewal_at', 'next_attempt_at', 'renewals_paid', 'past_due_since', 'retries_used', 'cancel_at_period_end', 'canceled_at', 'created_at', 'updated_at'],
  properties: {
    id: text,
    external_id: nullableText,
    status: { enum: [...SUBSCRIPTION_STATUSES] },
    customer: {
      type: 'object',
      required: ['email', 'first_name', 'last_name', 'country'],
      properties: { email: text, first_name: text, last_name: text, country: text },
    },
    quickpay_id: nullableText,
    collection_method: { enum: [...COLLECTION_METHODS], description: 'How each period is collected: a stored card token, a payment link per period, or in person.' },
    payment_method: {
      oneOf: [
        { type: 'null' },
        { type: 'object', required: ['provider', 'status', 'card_last4', 'card_expiry'], properties: { provider: text, status: text, card_last4: nullableText, card_expiry: nullableText } },
      ],
    },
    product: text,
    interval: { enum: [...INTERVALS] },
    amount: text,
    amount_minor: { type: 'integer' },
    currency: text,
    timezone: text,
    anchor_at: text,
    next_period: { type: 'integer' },
    next_service_mode: nullableText,
    next_renewal_at: nullableText,
    next_attempt_at: nullableText,
    renewals_paid: { type: 'integer' },
    past_due_since: nullableText,
    retries_used: { type: 'integer' },
    cancel_at_period_end: { type: 'boolean' },
    canceled_at: nullableText,
    created_at: text,
    updated_at: text,
    checkout_url: { type: 'string', description: 'Only when created by checkout (and still unpaid): the link to send the customer.' },
    checkout_expires_at: text,
  },
};

const payment = {
  type: 'object',
  required: ['id', 'order_number', 'period', 'provider', 'amount', 'currency', 'status'],
  properties: {
    id: { type: 'integer' },
    order_number: text,
    period: { type: 'integer' },
    provider: text,
    service_mode: nullableText,
    amount: text,
    currency: text,
    status: text,
    payment_id: nullableText,
    decline_class: nullableText,
    gateway_code: nullableText,
    gateway_details: nullableText,
    failure_reason: nullableText,
    pay_url: nullableText,
    requested_at: nullableText,
    resolved_at: nullableText,
    created_at: nullableText,
  },
};

const moneyBack = {
  type: 'object',
  required: ['id', 'kind', 'reference', 'order_number', 'amount', 'currency', 'status'],
  properties: {
    id: { type: 'integer' },
    kind: { enum: ['refund', 'chargeback'] },
    reference: text,
    order_number: nullableText,
    amount: text,
    currency: text,
    status: text,
    provider_reference: nullableText,
    reason: nullableText,
    failure_reason: nullableText,
    automatic: nullableText,
    requested_at: nullableText,
    resolved_at: nullableText,
  },
};

const invoice = {
  type: 'object',
  required: ['period', 'status', 'currency', 'amount_due', 'amount_paid', 'amount_refunded', 'amount_charged_back', 'due_at', 'paid_at', 'payments', 'refunds', 'chargebacks'],
  properties: {
    period: { type: 'integer' },
    status: { enum: ['open', 'paid', 'partially_refunded', 'refunded', 'charged_back', 'void', 'uncollectible'] },
    currency: text,
    amount_due: text,
    amount_paid: text,
    amount_refunded: text,
    amount_charged_back: text,
    due_at: text,
    paid_at: nullableText,
    payments: { type: 'array', items: ref('Payment') },
    refunds: { type: 'array', items: ref('MoneyBack') },
    chargebacks: { type: 'array', items: ref('MoneyBack') },
  },
};

const event = {
  type: 'object',
  required: ['id', 'subscription_id', 'type', 'actor', 'reason', 'data', 'occurred_at'],
  properties: {
    id: { type: 'integer' },
    subscription_id: text,
    type: text,
    actor: { type: 'string', description: '`api:<key name>` for changes made through the API.' },
    reason: nullableText,
    data: { type: 'object' },
    transaction_id: nullableInteger,
    occurred_at: text,
  },
};

const enrolRequest = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'first_name', 'last_name', 'country', 'interval', 'amount', 'currency'],
  properties: {
    email: { type: 'string', description: 'At most 50 characters.' },
    first_name: text,
    last_name: text,
    country: { type: 'string', description: 'ISO 3166 two-letter code, e.g. US.' },
    interval: { enum: [...INTERVALS] },
    amount: { ...money, description: 'Price per period as a decimal string, e.g. "9.99".' },
    currency: { type: 'string', description: 'ISO 4217 code with at most 2 decimals.' },
    quickpay_id: { type: 'string', description: 'The card token from Oceanpayment; required for `card_token` collection, refused for the others.' },
    collection: { enum: [...ENROLLABLE_COLLECTIONS], description: 'How each period is collected (default `card_token`): `payment_link` e-mails the customer a link per period.' },
    provider: { type: 'string', description: 'The payment provider (default: oceanpayment for card tokens, glocash for payment links).' },
    timezone: { type: 'string', description: 'IANA zone renewals follow (default UTC).' },
    product: text,
    first_paid_at: { type: 'string', description: 'ISO 8601 time the first purchase was already paid (no offset: in `timezone`).' },
    renewals_paid: { type: 'integer', minimum: 0 },
    external_id: { type: 'string', description: 'Your reference, unique: a repeat with the same terms returns the existing subscription (200).' },
    checkout: { type: 'boolean', description: 'Sign up by hosted checkout: no card token; the answer carries `checkout_url`, a single-purpose expiring link to the payment page, whose payment is the first purchase.' },
    send_checkout: { type: 'boolean', description: 'With `checkout`: also e-mail the link to the customer.' },
    allow_duplicate: { type: 'boolean' },
    reason,
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'rebill API',
    version: '1',
    description: 'Subscriptions, their invoices, payments, refunds and events. Authenticate with `Authorization: Bearer <key>` (`rebill api-key create`).',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ bearer: [] }],
  paths: {
    '/subscriptions': {
      post: {
        operationId: 'createSubscription',
        summary: 'Enrol a subscriber (the first purchase is charged at once unless first_paid_at is given)',
        parameters: [idempotencyKey],
        requestBody: { required: true, content: json(ref('EnrolRequest')) },
        responses: {
          201: reply('Enrolled.', ref('Subscription')),
          200: reply('Already enrolled under this external_id with the same terms: nothing was changed.', ref('Subscription')),
          ...writeErrors,
        },
      },
      get: {
        operationId: 'listSubscriptions',
        summary: 'List subscriptions, oldest first, a page at a time',
        parameters: [
          { name: 'status', in: 'query', required: false, schema: { enum: [...SUBSCRIPTION_STATUSES] } },
          { name: 'email', in: 'query', required: false, schema: text },
          ...cursorParameters,
        ],
        responses: { 200: reply('A page.', ref('SubscriptionPage')), 400: errorReply('A bad filter.'), ...readErrors },
      },
    },
    '/subscriptions/{id}': {
      get: {
        operationId: 'getSubscription',
        parameters: [idParameter],
        responses: { 200: reply('The subscription.', ref('Subscription')), 404: errorReply('No such subscription.'), ...readErrors },
      },
    },
    '/subscriptions/{id}/cancel': {
      post: {
        operationId: 'cancelSubscription',
        summary: 'Cancel now, or at the end of the period',
        parameters: [idParameter, idempotencyKey],
        requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { at_period_end: { type: 'boolean' }, reason } }) },
        responses: { 200: reply('Canceled (or to end at the period end).', ref('Subscription')), 404: errorReply('No such subscription.'), ...writeErrors },
      },
    },
    '/subscriptions/{id}/retry': {
      post: {
        operationId: 'retrySubscription',
        summary: "Charge a due or past-due subscription's current period now",
        parameters: [idParameter, idempotencyKey],
        requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { reason } }) },
        responses: { 200: reply('Charge queued.', ref('Subscription')), 404: errorReply('No such subscription.'), ...writeErrors },
      },
    },
    '/subscriptions/{id}/card-token': {
      post: {
        operationId: 'updateCardToken',
        summary: 'Replace the card token (QuickPay ID) charged for the subscription',
        parameters: [idParameter, idempotencyKey],
        requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, required: ['quickpay_id'], properties: { quickpay_id: text, reason } }) },
        responses: { 200: reply('Replaced.', ref('Subscription')), 404: errorReply('No such subscription.'), ...writeErrors },
      },
    },
    '/subscriptions/{id}/invoices': {
      get: {
        operationId: 'listInvoices',
        parameters: [idParameter],
        responses: { 200: reply('Every invoice, with its payments, refunds and chargebacks.', { type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('Invoice') } } }), 404: errorReply('No such subscription.'), ...readErrors },
      },
    },
    '/subscriptions/{id}/payments': {
      get: {
        operationId: 'listPayments',
        parameters: [idParameter],
        responses: { 200: reply('Every charge attempt.', { type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('Payment') } } }), 404: errorReply('No such subscription.'), ...readErrors },
      },
    },
    '/customers': {
      get: {
        operationId: 'findCustomer',
        summary: 'A customer by e-mail (any of their subscriptions) or by a subscription external id',
        parameters: [
          { name: 'email', in: 'query', required: false, schema: text },
          { name: 'external_id', in: 'query', required: false, schema: text },
        ],
        responses: { 200: reply('The customer and their subscriptions.', ref('Customer')), 400: errorReply('Neither or both of email and external_id.'), 404: errorReply('No such customer.'), ...readErrors },
      },
    },
    '/refunds': {
      post: {
        operationId: 'createRefund',
        summary: 'Refund all or part of a payment',
        parameters: [idempotencyKey],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            additionalProperties: false,
            required: ['order_number', 'reason'],
            properties: { order_number: text, amount: { ...money, description: 'Part of the payment (default: all that is left).' }, reason: { ...reason, minLength: 1 } },
          }),
        },
        responses: {
          201: reply('Sent to the provider; `provider_answer` says what it answered.', ref('RefundResult')),
          404: errorReply('No payment has that order number.'),
          ...writeErrors,
        },
      },
    },
    '/events': {
      get: {
        operationId: 'listEvents',
        summary: 'The event log, oldest first, a page at a time',
        parameters: [{ name: 'subscription_id', in: 'query', required: false, schema: text }, ...cursorParameters],
        responses: { 200: reply('A page.', { type: 'object', required: ['data', 'next_cursor'], properties: { data: { type: 'array', items: ref('Event') }, next_cursor: nullableText } }), 400: errorReply('A bad filter.'), 404: errorReply('No such subscription.'), ...readErrors },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `rebill api-key create`.' } },
    schemas: {
      Subscription: subscription,
      SubscriptionPage: { type: 'object', required: ['data', 'next_cursor'], properties: { data: { type: 'array', items: ref('Subscription') }, next_cursor: nullableText } },
      Customer: {
        type: 'object',
        required: ['email', 'first_name', 'last_name', 'country', 'subscriptions'],
        properties: { email: text, first_name: text, last_name: text, country: text, subscriptions: { type: 'array', items: ref('Subscription') } },
      },
      Payment: payment,
      MoneyBack: moneyBack,
      Invoice: invoice,
      Event: event,
      RefundResult: { type: 'object', required: ['refund', 'provider_answer'], properties: { refund: ref('MoneyBack'), provider_answer: { enum: ['accepted', 'refused', 'unknown'] } } },
      EnrolRequest: enrolRequest,
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['type', 'message'],
            properties: {
              type: { enum: ['invalid_request', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'idempotency_conflict', 'rate_limited', 'internal'] },
              message: text,
              problems: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: nullableText, message: text } } },
            },
          },
        },
      },
    },
  },
} as const;
