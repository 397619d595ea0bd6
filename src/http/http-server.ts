import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import type { Express } from 'express';

type Init = (this: unknown, ...args: unknown[]) => void;

/**
 * The `http.Server` for an Express app, with every `req` and `res` created with the app's own prototypes
 * (`app.request`, `app.response`) instead of Node's. Express swaps the prototype of both objects on every request
 * (`Object.setPrototypeOf` in `app.handle`); on objects that already have it that is a no-op, but on Node's own it
 * changes their hidden class, and from then on nearly every property access in Node's http code, the router and our
 * middleware misses its inline cache and takes V8's slow path. Measured here: ~70 % of bare Express's CPU per request
 * (expressjs/express#5998 proposes the same). The objects are still Node's `IncomingMessage` / `ServerResponse`,
 * built by their own constructors; only the prototype they start with differs. An Express sub-app mounted inside
 * `app` swaps prototypes again for its own requests, as it always did.
 */
export function createHttpServer(app: Express): Server {
  const initRequest = IncomingMessage as unknown as Init;
  const initResponse = ServerResponse as unknown as Init;
  function SheetgateRequest(this: unknown, ...args: unknown[]): void {
    initRequest.apply(this, args);
  }
  SheetgateRequest.prototype = app.request;
  function SheetgateResponse(this: unknown, ...args: unknown[]): void {
    initResponse.apply(this, args);
  }
  SheetgateResponse.prototype = app.response;
  return createServer(
    {
      IncomingMessage: SheetgateRequest as unknown as typeof IncomingMessage,
      ServerResponse: SheetgateResponse as unknown as typeof ServerResponse,
    },
    app,
  );
}
