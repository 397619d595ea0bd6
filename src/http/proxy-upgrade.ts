import { ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import { guardUpstream, relayResponse } from './proxy-upstream';
import type { Upstream } from './proxy-upstream';

/** Marks a request that arrived through {@link upgradeHandler} (a constant key, not shared state). */
const UPGRADE = Symbol('sheetgate.upgrade');

/** True for an Upgrade request handed to the app by {@link upgradeHandler}: the proxy must tunnel it. */
export function isUpgrade(req: IncomingMessage): boolean {
  return UPGRADE in req;
}

/** Anything that handles a Node request/response pair: the Express app. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** A `server.on('upgrade')` listener that can also end every connection it took over. */
export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Destroys every socket handed to this handler that is still open (websocket tunnels included). Call it on
   * shutdown after `server.close()`: upgraded connections are no longer HTTP connections, so `server.close()` and
   * `closeAllConnections()` would otherwise wait for every open websocket to end by itself.
   */
  closeAll(): void;
}

/**
 * `server.on('upgrade', upgradeHandler(app))`: routes an HTTP Upgrade request (websocket handshake) through the
 * Express app with a real response bound to the socket, so it passes the very same middleware chain as any request:
 * helmet, the sheetgate auth middleware (key, expiry, rate limit, usage, metrics hooks), scopes. A refusal is written
 * to the socket as the usual problem+json and the socket is closed; an accepted upgrade reaches the proxy router,
 * which tunnels it to the upstream ({@link tunnelUpgrade}).
 */
export function upgradeHandler(app: RequestListener): UpgradeHandler {
  const open = new Set<Duplex>();
  const handler = function sheetgateUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // Node removes its own socket error handler before emitting 'upgrade': a reset must not crash the process.
    socket.on('error', () => socket.destroy());
    if (head.length > 0) {
      socket.unshift(head); // bytes after the handshake belong to the tunnel, read once it is piped
    }
    Object.defineProperty(req, UPGRADE, { value: true });
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    // assignSocket is typed for net.Socket; an upgrade socket is one unless a TLS/custom server hands a Duplex.
    res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
    res.on('finish', () => {
      res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
      socket.end();
    });
    app(req, res);
  };
  return Object.assign(handler, {
    closeAll: () => {
      for (const socket of open) {
        socket.destroy();
      }
    },
  });
}

/** The `101 Switching Protocols` head as the upstream sent it (its Connection/Upgrade headers are the handshake). */
function switchingHead(upstreamRes: IncomingMessage): string {
  const lines = [`HTTP/1.1 101 ${upstreamRes.statusMessage ?? 'Switching Protocols'}`];
  const raw = upstreamRes.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    lines.push(`${raw[i] ?? ''}: ${raw[i + 1] ?? ''}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Proxies an authenticated Upgrade request: opens the same handshake to the upstream; on `101` relays the upstream's
 * head and splices the two sockets; if the upstream declines (any other status) relays that response; if it cannot be
 * reached, 502/504 problem+json like any proxied request.
 */
export function tunnelUpgrade(req: Request, res: Response, upstream: Upstream): void {
  const clientSocket = req.socket;
  const upstreamReq = upstream.open(req, true);
  guardUpstream(upstreamReq, req, res, upstream);
  upstreamReq.on('response', (upstreamRes) => {
    relayResponse(upstreamRes, res);
  });
  upstreamReq.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
    upstreamSocket.setTimeout(0); // a websocket may idle for hours; its own pings keep it alive
    if (clientSocket.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    res.detachSocket(clientSocket);
    clientSocket.setTimeout(0);
    clientSocket.setNoDelay(true);
    upstreamSocket.setNoDelay(true);
    clientSocket.write(switchingHead(upstreamRes));
    if (upstreamHead.length > 0) {
      clientSocket.write(upstreamHead);
    }
    const closeBoth = (): void => {
      clientSocket.destroy();
      upstreamSocket.destroy();
    };
    clientSocket.on('error', closeBoth).on('close', closeBoth);
    upstreamSocket.on('error', closeBoth).on('close', closeBoth);
    upstreamSocket.pipe(clientSocket);
    clientSocket.pipe(upstreamSocket);
  });
  upstreamReq.end();
}
