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

export { ADAPTIVE_CONCURRENCY_DEFAULTS, createAdaptiveConcurrency } from './adaptive-concurrency.ts';
export type {
  AdaptiveConcurrency,
  AdaptiveConcurrencyEvent,
  AdaptiveConcurrencyOptions,
  AdaptiveConcurrencySnapshot,
  OverloadReason,
} from './adaptive-concurrency.ts';

export {
  isLimiterStoppedError,
  isQueueFullError,
  isQueueTimeoutError,
  LimiterStoppedError,
  QueueFullError,
  QueueTimeoutError,
} from './queue-errors.ts';
export type { LimiterRefusal } from './queue-errors.ts';

export { createRateLimiter } from './rate-limiter.ts';
export type {
  FailMode,
  RateLimiter,
  RateLimiterEvent,
  RateLimiterOptions,
  RateLimiterStats,
  RateLimitLease,
  TakeOptions,
} from './rate-limiter.ts';

export type {
  LimitState,
  RateLimit,
  RateLimitAlgorithm,
  RateLimitAmounts,
  RateLimitStore,
  RateLimitUnit,
  StoreTakeResult,
} from './rate-limit.ts';

export { createMemoryRateLimitStore } from './memory-store.ts';
export type { MemoryRateLimitStore, MemoryRateLimitStoreOptions } from './memory-store.ts';

export { createRedisRateLimitStore } from './redis-store.ts';
export type { RedisClientLike, RedisRateLimitStoreOptions } from './redis-store.ts';

export { composeScope } from './scope.ts';

export {
  isRateLimitedError,
  isRateLimitUnavailableError,
  RateLimitedError,
  RateLimitUnavailableError,
} from './rate-limit-errors.ts';
