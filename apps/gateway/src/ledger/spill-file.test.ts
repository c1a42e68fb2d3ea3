import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toSpillLine } from './ledger-row.ts';
import { createSpillFile, readSpillFile, type SpillEntry } from './spill-file.ts';
import { ledgerRow } from './test-helpers.ts';

async function entries(path: string): Promise<SpillEntry[]> {
  const read: SpillEntry[] = [];
  for await (const entry of readSpillFile(path)) read.push(entry);
  return read;
}

describe('spill file', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'gw-spill-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('gives back the rows it was given, exactly, and moves a file aside before replaying it', async () => {
    let clock = 1_000;
    const spill = createSpillFile(join(folder, 'nested', 'spill.jsonl'), () => clock);
    const first = [ledgerRow({ cost: null }), ledgerRow({ apiKeyId: null, ttftMs: null, errorKind: 'timeout' })];
    const big = 2n ** 63n - 1n;
    const second = [
      ledgerRow({
        model: 'model "with" quotes\nand a line break',
        cost: { currency: 'EUR', input: big, cachedInput: 1n, cacheWrite: 2n, output: 3n, reasoning: 4n, total: big },
      }),
    ];
    await spill.append(first);
    await spill.append(second);
    const [file, ...others] = await spill.takeForReplay();
    expect(others).toEqual([]);
    expect(file).toBe(join(folder, 'nested', 'spill.jsonl.000000000001000-1.replay'));
    expect(await entries(file ?? '')).toEqual([...first, ...second].map((row) => ({ row })));

    // Appends after the move go to a new file, listed after the first one.
    clock = 2_000;
    await spill.append(first);
    expect(await spill.takeForReplay()).toEqual([file, join(folder, 'nested', 'spill.jsonl.000000000002000-2.replay')]);
    // Nothing new: nothing moved.
    expect(await spill.takeForReplay()).toHaveLength(2);
    await spill.close();
  });

  it('reports, by line number, lines that are not rows', async () => {
    const path = join(folder, 'spill.jsonl');
    const good = ledgerRow();
    const newer = JSON.stringify({ ...JSON.parse(toSpillLine(good)), v: 2 });
    const negative = toSpillLine(
      ledgerRow({ tokens: { input: -1, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 } }),
    );
    await writeFile(path, `${toSpillLine(good)}\n${newer}\n${negative}${toSpillLine(good).slice(0, 30)}`);
    expect(await entries(path)).toEqual([
      { row: good },
      { line: 3, problem: expect.stringContaining('not a ledger row') },
      { line: 4, problem: 'tokens.input must be an integer from 0 to 2147483647' },
      { line: 5, problem: 'not JSON (a line cut short by a crash?)' },
    ]);
  });

  it('appends synchronously too (rows settled after the writer closed)', async () => {
    const spill = createSpillFile(join(folder, 'late', 'spill.jsonl'), Date.now);
    const row = ledgerRow();
    spill.appendSync([row]);
    const [file] = await spill.takeForReplay();
    expect(await entries(file ?? '')).toEqual([{ row }]);
    expect(await readdir(join(folder, 'late'))).toHaveLength(1);
  });
});
