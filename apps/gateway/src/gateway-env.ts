import type { VirtualKey } from './keys/key-store.ts';

/** The hono environment of every gateway route and middleware: what the middlewares put on the context. */
export interface GatewayEnv {
  Variables: {
    /** The gateway's id of the request (UUIDv7), set by the request-id middleware, first in the chain. */
    requestId: string;
    /** The `x-request-id` the client sent, sanitised, when it sent one. */
    clientRequestId?: string;
    /** The virtual key the request came with (the auth middleware sets it); absent for the master key and open mode. */
    apiKey?: VirtualKey;
    /** Headers of the answer to come, set by `setAnswerHeaders` (relay/answer-headers.ts). */
    answerHeaders?: Record<string, string>;
    /** Set once the request reached routing: its access line is written when it settles, with what it cost. */
    routed?: boolean;
  };
}
