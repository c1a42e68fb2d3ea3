import type { ChatMessage } from '@gw/providers';
import type { ResponsesResponse } from '@gw/providers/formats';
import { LRUCache } from 'lru-cache';

/** One stored answer of `POST /v1/responses` (`store`, on by default as at OpenAI). */
export interface StoredResponse {
  /** The Response as the client got it (the JSON answer, or the one `response.completed` carried), cost included. */
  readonly response: ResponsesResponse;
  /**
   * The canonical conversation through this Response, without its `instructions` (OpenAI does not carry them
   * over): what a request naming it as `previous_response_id` continues from.
   */
  readonly messages: readonly ChatMessage[];
  /**
   * The virtual key that created it (`undefined`: the master key or open mode). A virtual key reads and continues
   * only its own Responses; the master key reads them all.
   */
  readonly keyId?: string | undefined;
}

/**
 * Where Responses are kept for `previous_response_id` and `GET /v1/responses/{id}`. Records are keyed by
 * `response.id`. A record must be readable by `get` once its `put` has resolved: a client continues a conversation
 * as soon as it has read the answer.
 */
export interface ResponseStore {
  put(record: StoredResponse, signal?: AbortSignal): Promise<void>;
  /** The record of `id`; `undefined` when it was never stored (`store: false`) or is gone. */
  get(id: string, signal?: AbortSignal): Promise<StoredResponse | undefined>;
}

/** Options of {@link createMemoryResponseStore}. */
export interface MemoryResponseStoreOptions {
  /** Records kept; the least recently used goes first. Default 1000. */
  maxEntries?: number;
  /** Bytes kept, counted as the records' JSON length; a record larger than this is not kept. Default 64 MiB. */
  maxBytes?: number;
  /** A record is forgotten this long after it was put (`responses.retentionDays`); 0 or absent: kept until evicted. */
  retentionMs?: number;
  /** Clock in ms for `retentionMs` (tests); default `performance.now`. */
  now?: () => number;
}

const DEFAULT_MAX_ENTRIES = 1000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * A {@link ResponseStore} in this process's memory, bounded in entries and in bytes (each record holds its whole
 * conversation, so records grow along a chain), and in age with `retentionMs`. Lost on restart and not shared
 * between replicas: the gateway uses it only without a database (sql-response-store.ts otherwise).
 *
 * @example
 * const store = createMemoryResponseStore({ maxEntries: 500 });
 * await store.put({ response, messages });
 * const record = await store.get(response.id);
 */
export function createMemoryResponseStore(options: MemoryResponseStoreOptions = {}): ResponseStore {
  const records = new LRUCache<string, StoredResponse>({
    max: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
    maxSize: options.maxBytes ?? DEFAULT_MAX_BYTES,
    sizeCalculation: (record) => Math.max(1, JSON.stringify(record).length),
    ...(options.retentionMs === undefined || options.retentionMs === 0 ? {} : { ttl: options.retentionMs }),
    ...(options.now === undefined ? {} : { perf: { now: options.now }, ttlResolution: 0 }),
  });
  return {
    async put(record, signal) {
      signal?.throwIfAborted();
      records.set(record.response.id, record);
    },
    async get(id, signal) {
      signal?.throwIfAborted();
      return records.get(id);
    },
  };
}
