import { appendFileSync, closeSync, createReadStream, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fromSpillLine, toSpillLine, type LedgerRow } from './ledger-row.ts';

/**
 * The writer's overflow: rows the database could not take yet, appended as JSON lines and fsync'd once per
 * append. Files waiting for replay are moved aside (`<name>.<time>-<n>.replay`), so appends never race a replay,
 * and a file is deleted by the writer only once every row in it is in the database.
 */
export interface SpillFile {
  readonly path: string;
  /** Appends rows and fsyncs them: once this resolves, the rows survive a crash. */
  append(rows: readonly LedgerRow[]): Promise<void>;
  /** The same, blocking: for rows written after the writer closed, when no event loop turn may be left. */
  appendSync(rows: readonly LedgerRow[]): void;
  /** Moves the current file aside and lists every file waiting for replay, oldest first. */
  takeForReplay(): Promise<string[]>;
  /** Closes the append handle (after the operations already queued). */
  close(): Promise<void>;
}

/** One line read back: a row, or the reason the line is not one. */
export type SpillEntry = { readonly row: LedgerRow } | { readonly line: number; readonly problem: string };

/**
 * A spill file at `path` (its folder is created on first append). `now` names the files moved aside.
 *
 * @example
 * ```ts
 * const spill = createSpillFile('./data/ledger-spill.jsonl', Date.now);
 * await spill.append(rows);
 * for (const path of await spill.takeForReplay()) for await (const entry of readSpillFile(path)) replay(entry);
 * ```
 */
export function createSpillFile(path: string, now: () => number): SpillFile {
  const folder = dirname(path);
  const name = basename(path);
  let handle: FileHandle | undefined;
  // A failed append may have left half a line: the next append must not be glued to it, so it goes to a new file.
  let torn = false;
  let moved = 0;
  // File operations run one at a time, in order: an append never lands in a file that is being moved aside.
  let lane: Promise<unknown> = Promise.resolve();
  const inLane = <T>(operation: () => Promise<T>): Promise<T> => {
    const result = lane.then(operation);
    lane = result.catch(() => undefined);
    return result;
  };

  const closeHandle = async () => {
    const current = handle;
    handle = undefined;
    await current?.close();
  };

  const moveAside = async () => {
    await closeHandle();
    torn = false;
    const size = await stat(path).then(
      (stats) => stats.size,
      () => 0,
    );
    if (size === 0) return;
    moved += 1;
    await rename(path, join(folder, `${name}.${String(now()).padStart(15, '0')}-${moved}.replay`));
  };

  return {
    path,
    append: (rows) =>
      inLane(async () => {
        if (torn) await moveAside();
        try {
          if (handle === undefined) {
            await mkdir(folder, { recursive: true });
            handle = await open(path, 'a');
          }
          await handle.appendFile(rows.map(toSpillLine).join(''));
          await handle.datasync();
        } catch (error) {
          torn = true;
          throw error;
        }
      }),
    appendSync: (rows) => {
      mkdirSync(folder, { recursive: true });
      const descriptor = openSync(path, 'a');
      try {
        appendFileSync(descriptor, rows.map(toSpillLine).join(''));
        fsyncSync(descriptor);
      } finally {
        closeSync(descriptor);
      }
    },
    takeForReplay: () =>
      inLane(async () => {
        await moveAside();
        const entries = await readdir(folder).catch(() => []);
        return entries
          .filter((entry) => entry.startsWith(`${name}.`) && entry.endsWith('.replay'))
          .sort()
          .map((entry) => join(folder, entry));
      }),
    close: () => inLane(closeHandle),
  };
}

/**
 * The entries of a spill file, line by line, streaming (a file of millions of rows is never read whole). A line
 * that is not a row (cut short by a crash, from a newer format) is reported, not thrown.
 *
 * @example
 * ```ts
 * for await (const entry of readSpillFile(path)) if ('row' in entry) rows.push(entry.row);
 * ```
 */
export async function* readSpillFile(path: string): AsyncGenerator<SpillEntry> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number += 1;
      if (line === '') continue;
      const parsed = fromSpillLine(line);
      yield typeof parsed === 'string' ? { line: number, problem: parsed } : { row: parsed };
    }
  } finally {
    lines.close();
  }
}
