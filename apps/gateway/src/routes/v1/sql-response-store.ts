import { chatCompletionRequestSchema, type ChatMessage } from '@gw/providers';
import type { ResponsesResponse } from '@gw/providers/formats';
import type { LedgerDatabase } from '../../ledger/ledger-database.ts';
import type { ResponseStore, StoredResponse } from './response-store.ts';
import type { ResponseTables } from './responses-schema.ts';

const DAY_MS = 86_400_000;

/** Options of {@link createSqlResponseStore}. */
export interface SqlResponseStoreOptions {
  /** Records older than this many days are not read, and {@link SqlResponseStore.prune} deletes them; 0: kept forever. */
  retentionDays: number;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
}

/** A {@link ResponseStore} in the gateway's database, with its retention. */
export interface SqlResponseStore extends ResponseStore {
  /** Deletes the records past the retention; resolves to how many. Nothing with `retentionDays: 0`. */
  prune(): Promise<number>;
}

const messagesSchema = chatCompletionRequestSchema.shape.messages;

// The stored Response is the gateway's own JSON, written by `put`: its identifying fields are checked, not its items.
function isResponsesResponse(value: unknown): value is ResponsesResponse {
  if (typeof value !== 'object' || value === null) return false;
  return (
    typeof Reflect.get(value, 'id') === 'string' &&
    Reflect.get(value, 'object') === 'response' &&
    Array.isArray(Reflect.get(value, 'output'))
  );
}

/** A stored row that does not read back (written by another version, edited by hand): a server error, named. */
class StoredResponseError extends Error {
  constructor(id: string) {
    super(`The stored response '${id}' could not be read.`);
    this.name = 'StoredResponseError';
  }
}

/**
 * The {@link ResponseStore} of a gateway with a database (`storage.url`, SQLite or PostgreSQL): Responses survive a
 * restart and every gateway on the same database reads them, so a conversation continues on any replica. Records
 * past `retentionDays` are not read even before {@link SqlResponseStore.prune} deletes them. Kysely takes no
 * signal: an aborted caller is refused before the query, and a query in flight runs to its end.
 *
 * @example
 * const store = createSqlResponseStore(storage.database, { retentionDays: 30 });
 * await store.put({ response, messages });
 */
export function createSqlResponseStore(database: LedgerDatabase, options: SqlResponseStoreOptions): SqlResponseStore {
  const db = database.db.withTables<ResponseTables>();
  const now = options.now ?? Date.now;
  const stored = (ms: number): Date | number => (database.dialect === 'postgres' ? new Date(ms) : ms);
  const cutoff = (): Date | number | undefined =>
    options.retentionDays === 0 ? undefined : stored(now() - options.retentionDays * DAY_MS);

  return {
    async put(record: StoredResponse, signal?: AbortSignal) {
      signal?.throwIfAborted();
      const row = {
        response: JSON.stringify(record.response),
        messages: JSON.stringify(record.messages),
        api_key_id: record.keyId ?? null,
        created_at: stored(now()),
      };
      await db
        .insertInto('responses')
        .values({ id: record.response.id, ...row })
        .onConflict((conflict) => conflict.column('id').doUpdateSet(row))
        .execute();
    },
    async get(id, signal) {
      signal?.throwIfAborted();
      let query = db.selectFrom('responses').select(['response', 'messages', 'api_key_id']).where('id', '=', id);
      const oldest = cutoff();
      if (oldest !== undefined) query = query.where('created_at', '>=', oldest);
      const row = await query.executeTakeFirst();
      if (row === undefined) return undefined;
      const response: unknown = JSON.parse(row.response);
      const messages = messagesSchema.safeParse(JSON.parse(row.messages));
      if (!isResponsesResponse(response) || !messages.success) throw new StoredResponseError(id);
      const conversation: readonly ChatMessage[] = messages.data;
      return {
        response,
        messages: conversation,
        ...(row.api_key_id === null ? {} : { keyId: row.api_key_id }),
      };
    },
    async prune() {
      const oldest = cutoff();
      if (oldest === undefined) return 0;
      const result = await db.deleteFrom('responses').where('created_at', '<', oldest).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
