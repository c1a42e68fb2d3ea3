import { describe, expect, it } from 'vitest';
import { createSerialSteps } from './serial-steps.ts';

describe('createSerialSteps', () => {
  it('runs steps asked for without awaiting one at a time, in order, even when one fails', async () => {
    const log: string[] = [];
    let calls = 0;
    const steps = createSerialSteps(async () => {
      const n = (calls += 1);
      try {
        log.push(`start ${n}`);
        await new Promise((resolve) => setTimeout(resolve, n === 1 ? 20 : 1));
        log.push(`end ${n}`);
        if (n === 2) throw new Error('step 2 failed');
        return n;
      } finally {
        steps.settled();
      }
    });
    const results = await Promise.allSettled([steps.run(), steps.run(), steps.run()]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(steps.pending).toBe(0);
  });
});
