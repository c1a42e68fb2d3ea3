import { describe, expect, it } from 'vitest';
import * as retry from './index.ts';

describe('@gw/retry public surface', () => {
  it('exports exactly the documented runtime values', () => {
    expect(Object.keys(retry).sort()).toEqual([
      'BrokenCircuitError',
      'BulkheadRejectedError',
      'FallbackChainError',
      'TimeoutError',
      'createBulkhead',
      'createCircuitBreaker',
      'createFallbackChain',
      'createRetryPolicy',
      'createTimeoutPolicy',
      'isBrokenCircuitError',
      'isBulkheadRejectedError',
      'isFallbackChainError',
      'isRetryable',
      'isTimeoutError',
      'withTimeout',
      'wrapPolicies',
    ]);
  });
});
