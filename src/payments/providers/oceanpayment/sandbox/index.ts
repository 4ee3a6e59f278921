/** The Oceanpayment sandbox: start it with `startSandbox(sandboxOptionsFromEnv(process.env))`. */
export { startSandbox } from './server.ts';
export type { Sandbox } from './server.ts';
export {
  DEFAULT_NOTICE_RETRY_DELAYS_MS, DEFAULT_REFUND_DELAY_MS, SANDBOX_DEFAULT_ACCOUNT, SANDBOX_DEFAULT_SECURE_CODE, SANDBOX_DEFAULT_TERMINAL,
  sandboxOptionsFromEnv,
} from './options.ts';
export type { SandboxLogger, SandboxOptions } from './options.ts';
export type { FaultSettings } from './faults.ts';
export { NO_FAULTS } from './faults.ts';
export { BEHAVIOURS, behaviourForToken, REFUND_BEHAVIOURS, refundBehaviourForToken } from './behaviours.ts';
export type { Behaviour, RefundBehaviour } from './behaviours.ts';
export type { ChargebackEntry, RefundEntry, RefundStatus } from './business-ledger.ts';
export { SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS } from './business-notices.ts';
export { REFUND_REFUSALS } from './refunds.ts';
export type { ChargeStatus, LedgerEntry, LedgerSummary, NoticeDelivery, NoticeKind } from './ledger.ts';
export { Ledger } from './ledger.ts';
export { startMerchantStub } from './merchant-stub.ts';
export type { MerchantStub, ReceivedRequest } from './merchant-stub.ts';
