// The whole public surface of @gw/ratelimit. Explicit named exports only: anything not listed here is internal.

export { CONCURRENCY_LIMITER_DEFAULTS, createConcurrencyLimiter } from './concurrency-limiter.ts';
export type {
  AcquireOptions,
  ConcurrencyLimiter,
  ConcurrencyLimiterOptions,
  LimiterEvent,
  LimiterStats,
  RejectionReason,
  Release,
} from './concurrency-limiter.ts';

export { createLimiterRegistry } from './limiter-registry.ts';
export type { LimiterRegistry, LimiterRegistryOptions, LimiterSnapshot } from './limiter-registry.ts';

export {
  isLimiterStoppedError,
  isQueueFullError,
  isQueueTimeoutError,
  LimiterStoppedError,
  QueueFullError,
  QueueTimeoutError,
} from './queue-errors.ts';
export type { LimiterRefusal } from './queue-errors.ts';
