import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { BatchTable } from './batch-schema.ts';

// What the batch store reads and hands out: its records, and the mapping from rows to them.

/** OpenAI's batch statuses. */
export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** A stored file (without its content). */
export interface BatchFile {
  readonly id: string;
  readonly keyId: string | null;
  readonly purpose: string;
  readonly filename: string;
  readonly bytes: number;
  readonly createdAt: number;
}

/** A batch with its line counts. */
export interface Batch {
  readonly id: string;
  readonly keyId: string | null;
  readonly endpoint: string;
  readonly inputFileId: string;
  readonly completionWindow: string;
  readonly status: BatchStatus;
  readonly metadata: Record<string, string> | null;
  readonly outputFileId: string | null;
  readonly errorFileId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly inProgressAt: number | null;
  readonly finalizingAt: number | null;
  readonly completedAt: number | null;
  readonly failedAt: number | null;
  readonly expiredAt: number | null;
  readonly cancellingAt: number | null;
  readonly cancelledAt: number | null;
  /** Lines: all, succeeded, and failed (cancelled and expired ones count as failed: they are in the error file). */
  readonly counts: { readonly total: number; readonly completed: number; readonly failed: number };
}

/** A line claimed by a runner. */
export interface ClaimedLine {
  readonly batchId: string;
  readonly lineNo: number;
  readonly customId: string;
  readonly body: string;
  /** Runs started, this one included. */
  readonly attempts: number;
  readonly endpoint: string;
  readonly keyId: string | null;
}

/** How a run of a line ended. */
export interface LineResult {
  /** `queued` again (a retry after `notBefore`), or settled. */
  readonly state: 'queued' | 'succeeded' | 'failed';
  readonly requestId: string;
  readonly statusCode: number | null;
  /** The answer's body as JSON text. */
  readonly response: string | null;
  readonly notBefore?: number | undefined;
}

/** Who may see a file or a batch: a virtual key sees its own, the master key (`undefined`) sees all. */
export type Owner = string | null | undefined;

const LISTED_STATUSES: readonly string[] = [
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
];

export function num(value: bigint | number | string): number {
  return Number(value);
}

function numOrNull(value: bigint | number | string | null): number | null {
  return value === null ? null : Number(value);
}

function statusOf(value: string): BatchStatus {
  if (!LISTED_STATUSES.includes(value)) throw new Error(`batches.status holds ${value}`);
  return value as BatchStatus;
}

/** A row of `batches`. */
export type BatchRow = Selectable<BatchTable>;

/** A batch row with its line counts, as the store hands it out. */
export function toBatch(row: BatchRow, counts: Batch['counts']): Batch {
  const metadata: unknown = row.metadata === null ? null : JSON.parse(row.metadata);
  return {
    id: row.id,
    keyId: row.api_key_id,
    endpoint: row.endpoint,
    inputFileId: row.input_file_id,
    completionWindow: row.completion_window,
    status: statusOf(row.status),
    metadata: metadata as Record<string, string> | null,
    outputFileId: row.output_file_id,
    errorFileId: row.error_file_id,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    inProgressAt: numOrNull(row.in_progress_at),
    finalizingAt: numOrNull(row.finalizing_at),
    completedAt: numOrNull(row.completed_at),
    failedAt: numOrNull(row.failed_at),
    expiredAt: numOrNull(row.expired_at),
    cancellingAt: numOrNull(row.cancelling_at),
    cancelledAt: numOrNull(row.cancelled_at),
    counts,
  };
}

/** A new file id, in OpenAI's shape (`file-` and 32 hex digits). */
export function fileId(): string {
  return `file-${randomUUID().replaceAll('-', '')}`;
}

/** What a settled line holds for the batch's output or error file. */
export interface SettledLine {
  readonly line_no: number | bigint | string;
  readonly custom_id: string;
  readonly request_id: string | null;
  readonly status_code: number | bigint | string | null;
  readonly response: string | null;
  readonly error: string | null;
}

/** One line of a batch's output or error file, in OpenAI's format (`{ id, custom_id, response, error }`). */
export function resultLine(batchId: string, line: SettledLine): string {
  const id = `batch_req_${batchId.slice('batch_'.length)}_${String(line.line_no)}`;
  const response =
    line.status_code === null
      ? null
      : {
          status_code: Number(line.status_code),
          request_id: line.request_id,
          body: line.response === null ? null : (JSON.parse(line.response) as unknown),
        };
  const error = line.error === null ? null : (JSON.parse(line.error) as unknown);
  return JSON.stringify({ id, custom_id: line.custom_id, response, error });
}
