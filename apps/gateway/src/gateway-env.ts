/** The hono environment of every gateway route and middleware: what the middlewares put on the context. */
export interface GatewayEnv {
  Variables: {
    /** Set by the request-id middleware, first in the chain. */
    requestId: string;
    /** Set once the request reached routing: its access line is written when it settles, with what it cost. */
    routed?: boolean;
  };
}
