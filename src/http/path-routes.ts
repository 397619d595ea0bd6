import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** A path that Express would match against a lower-case route without a trailing slash only once normalised. */
const UNNORMALISED = /[A-Z]|.\/$/;

/** A route on one exact path: `GET` (which answers `HEAD` too, as Express's `app.get` does) or every method. */
export interface PathRoute {
  readonly path: string;
  readonly method: 'GET' | 'ALL';
  readonly handler: RequestHandler;
}

/** The handler of a request for `path` (Express's `req.path`) with `method`, or undefined when no route takes it. */
export type PathLookup = (path: string, method: string) => RequestHandler | undefined;

/**
 * Finds the route of a request among fixed paths in one `Map` lookup, where Express would try one route layer after
 * another (each a regular expression and a dispatch of its own, for every request that walks past). Paths match as
 * Express matches them by default: letters in any case, one trailing slash allowed. The exact spelling is looked up
 * first; only a path that missed, is as long as a route's (or one longer, for the slash) and has a capital or a
 * trailing slash is lower-cased and looked up again, so a request for any other path costs two lookups, one by path
 * and one by its length.
 * @throws Error when a path is not lower-case or does not start with `/`, or two routes share a path
 */
export function pathLookup(routes: readonly PathRoute[]): PathLookup {
  const byPath = new Map<string, PathRoute>();
  for (const route of routes) {
    if (!route.path.startsWith('/') || route.path !== route.path.toLowerCase() || byPath.has(route.path)) {
      throw new Error(`path routes: ${JSON.stringify(route.path)} is not a lower-case path of its own`);
    }
    byPath.set(route.path, route);
  }
  // The lengths a path that only differs by case or a trailing slash can have: a route's own, and one more.
  const lengths = new Set([...byPath.keys()].flatMap((path) => [path.length, path.length + 1]));
  const normalised = (path: string): string => {
    const lower = path.toLowerCase();
    return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
  };
  return (path, method) => {
    let route = byPath.get(path);
    if (route === undefined && lengths.has(path.length) && UNNORMALISED.test(path)) {
      route = byPath.get(normalised(path));
    }
    if (route === undefined) {
      return undefined;
    }
    return route.method === 'ALL' || method === 'GET' || method === 'HEAD' ? route.handler : undefined;
  };
}

/** A middleware that serves `routes` (see {@link pathLookup}) and passes every other request on. */
export function pathRoutes(routes: readonly PathRoute[]): RequestHandler {
  const lookup = pathLookup(routes);
  return function sheetgateRoutes(req: Request, res: Response, next: NextFunction): unknown {
    const handler = lookup(req.path, req.method);
    if (handler === undefined) {
      next();
      return undefined;
    }
    return handler(req, res, next);
  };
}
