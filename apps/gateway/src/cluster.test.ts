import { thrownBy } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { isConfigError } from './config/config-error.ts';
import { workerCount, workerSpillPath } from './cluster.ts';

describe('workerCount (GW_WORKERS)', () => {
  it('is 1 when unset or empty, and the number asked for from 1 to 256', () => {
    expect(workerCount({})).toBe(1);
    expect(workerCount({ GW_WORKERS: '' })).toBe(1);
    expect(workerCount({ GW_WORKERS: '1' })).toBe(1);
    expect(workerCount({ GW_WORKERS: ' 8 ' })).toBe(8);
    expect(workerCount({ GW_WORKERS: '256' })).toBe(256);
  });

  it.each(['0', '-1', '1.5', 'two', '2x', '257', '1e2'])('refuses %j by the variable name', async (value) => {
    const thrown = await thrownBy(async () => workerCount({ GW_WORKERS: value }));
    expect(isConfigError(thrown) && thrown.message).toContain(
      'GW_WORKERS (environment): expected an integer from 1 to 256',
    );
  });
});

describe('workerSpillPath', () => {
  it('gives each worker a spill file of its own, the first one keeping the configured file', () => {
    expect(workerSpillPath('./data/ledger-spill.jsonl', 1)).toBe('./data/ledger-spill.jsonl');
    expect(workerSpillPath('./data/ledger-spill.jsonl', 2)).toBe('data/ledger-spill.worker2.jsonl');
    expect(workerSpillPath('/var/lib/gw/spill', 3)).toBe('/var/lib/gw/spill.worker3');
  });
});
