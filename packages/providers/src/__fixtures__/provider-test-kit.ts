import { isProviderError, type ProviderError } from '../provider-error.ts';
import type { RecordedRequest } from '../testing/stand-in-types.ts';

// Test helpers shared by the adapters' tests (not part of the package surface).

// Every chunk of a stream, in order.
export { collect } from '@gw/test-kit';

/** The ProviderError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** The `model` a recorded upstream request asked for (how the router tests tell deployments apart). */
export function modelOf(request: RecordedRequest): unknown {
  const { body } = request;
  return typeof body === 'object' && body !== null ? Reflect.get(body, 'model') : undefined;
}
