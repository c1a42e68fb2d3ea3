import { Client, type Dispatcher } from 'undici';

// An undici Client (one connection of a pool) that tells each request whether it goes out on a connection that has
// already carried a request: the one fact the HTTP transport needs to decide that a request may be sent again after
// the upstream closed the connection under it (see http-exchange.ts). undici keeps that fact to itself.

/** Where a request learns which connection took it; the dispatch options carry it under {@link SOCKET_WATCH}. */
export interface SocketWatch {
  client: ReuseTrackingClient | undefined;
  /** Which of the client's connections (1 = its first) the request was given to. */
  socket: number;
  /** That connection had carried a request before this one. */
  reused: boolean;
}

/** The key of the {@link SocketWatch} in dispatch options (a symbol: undici ignores it, and a proxy agent's copy keeps it). */
export const SOCKET_WATCH: unique symbol = Symbol('gw.socketWatch');

/** Dispatch options that may carry a {@link SocketWatch}. */
export type WatchedDispatchOptions = Dispatcher.DispatchOptions & { [SOCKET_WATCH]?: SocketWatch };

/**
 * One connection of a pool, counting its connections and which of them has carried a request.
 *
 * @example
 * const pool = new Pool(origin, { ...options, factory: (url, clientOptions) => new ReuseTrackingClient(url, clientOptions) });
 */
export class ReuseTrackingClient extends Client {
  #connects = 0;
  #connected = false;
  // The connection (by number) that the last request was given to.
  #lastUsed = 0;

  constructor(url: string | URL, options?: Client.Options) {
    super(url, options);
    this.on('connect', () => {
      this.#connects += 1;
      this.#connected = true;
    });
    this.on('disconnect', () => {
      this.#connected = false;
    });
  }

  /** Whether connection `socket` is still the client's current one (no reconnection since). */
  isCurrent(socket: number): boolean {
    return this.#connects === socket;
  }

  override dispatch(options: WatchedDispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const watch = options[SOCKET_WATCH];
    // Not connected: the request waits for the next connection, which is new.
    const socket = this.#connected ? this.#connects : this.#connects + 1;
    if (watch !== undefined) {
      watch.client = this;
      watch.socket = socket;
      watch.reused = this.#lastUsed === socket;
    }
    this.#lastUsed = socket;
    return super.dispatch(options, handler);
  }
}
