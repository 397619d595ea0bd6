import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import type { Express } from 'express';

type Init = (this: unknown, ...args: unknown[]) => void;
type End = (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/**
 * The server's time bounds, in milliseconds, set deliberately rather than left to Node's defaults.
 * - `keepAliveTimeout` 65 s: an idle keep-alive connection stays open longer than a load balancer's own idle timeout
 *   (60 s on AWS ALB and GCP, nginx's `keepalive_timeout` 75 s is the exception), so the balancer, not sheetgate, ends
 *   it; the other way round the balancer may send a request on a connection sheetgate is closing, and answer 502.
 *   (Node's default, 5 s, is under every balancer's.)
 * - `headersTimeout` 15 s: from the first byte of a request to the end of its headers. Real clients and balancers send
 *   headers in one go; a client dripping them (slowloris) is cut instead of holding a socket for Node's 60 s.
 * - `requestTimeout` 120 s: the whole request, body included, must arrive within this (Node: 300 s). Bodies streamed
 *   through the proxy are the long case; the answer's own time is the upstream's timeout, not this one.
 */
export const SERVER_TIMEOUTS = Object.freeze({
  keepAliveTimeout: 65_000,
  headersTimeout: 15_000,
  requestTimeout: 120_000,
});

/** What {@link createHttpServer} can do besides serving the app. */
export interface HttpServerOptions {
  /**
   * Called once for each response, as it ends (its `end()`), with its status code and the seconds since its request
   * arrived (the response was created for it). A response that never ends (the client went away first) is not counted.
   */
  readonly onResponse?: (statusCode: number, seconds: number) => void;
}

/** A response as a timed server creates it: when its request arrived, in `performance.now()` milliseconds. */
interface TimedResponse extends ServerResponse {
  arrivedAt: number;
}

/**
 * The `http.Server` for an Express app, with every `req` and `res` created with the app's own prototypes
 * (`app.request`, `app.response`) instead of Node's. Express swaps the prototype of both objects on every request
 * (`Object.setPrototypeOf` in `app.handle`); on objects that already have it that is a no-op, but on Node's own it
 * changes their hidden class, and from then on nearly every property access in Node's http code, the router and our
 * middleware misses its inline cache and takes V8's slow path. Measured here: ~70 % of bare Express's CPU per request
 * (expressjs/express#5998 proposes the same). The objects are still Node's `IncomingMessage` / `ServerResponse`,
 * built by their own constructors; only the prototype they start with differs. An Express sub-app mounted inside
 * `app` swaps prototypes again for its own requests, as it always did. The server has {@link SERVER_TIMEOUTS}.
 *
 * With `onResponse`, each response is timed from its creation to its `end()`: the constructor stamps the time and
 * gives the response an `end` of its own that reports and then ends as the prototype's does. Nothing is added per
 * request beyond those two properties, every response having the same two (no listener, no closure); the app and its
 * prototypes are left as they are, and a middleware that wraps `res.end` (compression, for one) wraps this one.
 */
export function createHttpServer(app: Express, options: HttpServerOptions = {}): Server {
  const initRequest = IncomingMessage as unknown as Init;
  const initResponse = ServerResponse as unknown as Init;
  const { onResponse } = options;
  const timedEnd = function sheetgateTimedEnd(
    this: TimedResponse,
    chunk?: unknown,
    encoding?: unknown,
    callback?: unknown,
  ): ServerResponse {
    if (!this.writableEnded) {
      onResponse?.(this.statusCode, (performance.now() - this.arrivedAt) / 1000);
    }
    // The `end` this response has without its own: its prototype's (Node's, unless the app gives its responses one).
    const prototype = Object.getPrototypeOf(this) as { readonly end: End };
    return prototype.end.call(this, chunk, encoding, callback);
  };
  function SheetgateRequest(this: unknown, ...args: unknown[]): void {
    initRequest.apply(this, args);
  }
  SheetgateRequest.prototype = app.request;
  function SheetgateResponse(this: TimedResponse, ...args: unknown[]): void {
    initResponse.apply(this, args);
    if (onResponse !== undefined) {
      this.arrivedAt = performance.now();
      this.end = timedEnd as TimedResponse['end'];
    }
  }
  SheetgateResponse.prototype = app.response;
  const server = createServer(
    {
      IncomingMessage: SheetgateRequest as unknown as typeof IncomingMessage,
      ServerResponse: SheetgateResponse as unknown as typeof ServerResponse,
      headersTimeout: SERVER_TIMEOUTS.headersTimeout,
      requestTimeout: SERVER_TIMEOUTS.requestTimeout,
    },
    app,
  );
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeout;
  return server;
}
