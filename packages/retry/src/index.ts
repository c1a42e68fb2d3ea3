export { isRetryable } from './is-retryable.ts';
export { createRetryPolicy } from './retry-policy.ts';
export type {
  ExecuteOptions,
  GiveUpEvent,
  GiveUpReason,
  RetryContext,
  RetryEvent,
  RetryPolicy,
  RetryPolicyOptions,
  RetryStats,
} from './retry-policy.ts';
export { BrokenCircuitError, createCircuitBreaker, isBrokenCircuitError } from './circuit-breaker.ts';
export type {
  CircuitBreaker,
  CircuitBreakerOptions,
  CircuitBreakerState,
  CircuitBreakerStats,
  CircuitStateChange,
  ConsecutiveBreakerMode,
  RateBreakerMode,
} from './circuit-breaker.ts';
export { BulkheadRejectedError, createBulkhead, isBulkheadRejectedError } from './bulkhead.ts';
export type { Bulkhead, BulkheadOptions, BulkheadStats } from './bulkhead.ts';
export { TimeoutError, createTimeoutPolicy, isTimeoutError, withTimeout } from './timeout.ts';
export type { TimeoutOptions, TimeoutPolicy } from './timeout.ts';
export { FallbackChainError, createFallbackChain, isFallbackChainError } from './fallback-chain.ts';
export type { FallbackChain, FallbackChainOptions, FallbackContext, FallbackEvent } from './fallback-chain.ts';
export { wrapPolicies } from './wrap-policies.ts';
export type { ExecutablePolicy, PolicyContext } from './wrap-policies.ts';
