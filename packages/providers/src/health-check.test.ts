import { closedPortUrl } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { createProvider } from './create-provider.ts';
import { PROVIDER_KINDS } from './provider-kinds.ts';

// Every adapter that calls a vendor must say so when the vendor cannot be reached: a health check that answers ok
// for a dead endpoint keeps routing traffic to it.
const remote = PROVIDER_KINDS.filter((kind) => kind !== 'demo');

describe('healthCheck of an unreachable endpoint', () => {
  it.each(remote)('%s: not ok, with the network error kind', async (kind) => {
    const root = await closedPortUrl();
    const provider = createProvider({
      kind,
      apiKey: 'test-key',
      baseUrl: kind === 'azure-openai' || kind === 'bedrock' ? root : `${root}/v1`,
      ...(kind === 'bedrock' ? { region: 'us-east-1' } : {}),
    });
    const result = await provider.healthCheck();
    expect(result.ok).toBe(false);
    expect(result.error?.kind).toBe('connection');
  });
});
