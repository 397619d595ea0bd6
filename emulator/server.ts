/**
 * The local Google Sheets v4 emulator, dev tooling: a real HTTP server that the real `@googleapis/sheets` client
 * talks to through `rootUrl`. Dev tooling only: nothing in src/ imports it.
 *
 * ```ts
 * const emulator = await startEmulator();
 * emulator.trust(credentials);
 * const id = emulator.createSpreadsheet({ timeZone: 'Europe/Paris', tabs: { API_Keys: [['api_key'], ['sk-1']] } });
 * // GOOGLE_SHEETS_ROOT_URL=emulator.url, GOOGLE_SHEET_ID=id
 * ```
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { parseJson, readBody, send, sendError } from './http-io';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleAdmin } from './admin';
import { answer } from './api';
import type { ApiWorld } from './api';
import type { CellInput, CellValue, InputOption } from './cells';
import { GoogleError } from './errors';
import type { Fault, Stats } from './faults';
import type { TrustedCredentials } from './jwt';
import { route } from './routes';
import { EmulatorState } from './state';
import type { CreateSpreadsheetOptions, RowCompare } from './state';

export type {
  CellInput,
  CellValue,
  CreateSpreadsheetOptions,
  Fault,
  InputOption,
  RowCompare,
  Stats,
  TrustedCredentials,
};

export interface EmulatorOptions {
  /** Defaults to `0`: any free port (read it from `url`). */
  readonly port?: number;
  /** Defaults to `127.0.0.1`. */
  readonly host?: string;
}

/** A running emulator. See emulator/README.md for semantics and the `/__emulator/` HTTP surface. */
export interface Emulator {
  /** `http://127.0.0.1:PORT/`: what `GOOGLE_SHEETS_ROOT_URL` / the client's `rootUrl` is set to. */
  readonly url: string;
  readonly port: number;
  /** Accepts JWTs signed by this service account (`private_key`, or `public_key` alone). @throws Error */
  trust(credentials: TrustedCredentials): void;
  /** Creates a spreadsheet; returns its id. Tabs are read as USER_ENTERED unless `inputOption: 'RAW'`. */
  createSpreadsheet(options?: CreateSpreadsheetOptions): string;
  spreadsheetIds(): string[];
  /** Replaces a tab's content (creating the tab if missing). `null` = empty cell. Defaults to USER_ENTERED. */
  setValues(id: string, tab: string, rows: readonly (readonly CellInput[])[], inputOption?: InputOption): void;
  /** Inserts rows before 1-based `atRow`; rows below shift down. */
  insertRows(
    id: string,
    tab: string,
    atRow: number,
    rows: readonly (readonly CellInput[])[],
    inputOption?: InputOption,
  ): void;
  /** Deletes 1-based `row`; rows below shift up. */
  deleteRow(id: string, tab: string, row: number): void;
  deleteTab(id: string, tab: string): void;
  /** Sorts rows (below the header by default) with `compare` over UNFORMATTED_VALUE rows. */
  sortRows(id: string, tab: string, compare: RowCompare, options?: { skipHeader?: boolean }): void;
  /** The whole tab as `values.get` returns it (trailing empties trimmed). Defaults to UNFORMATTED_VALUE. */
  getValues(id: string, tab: string, render?: 'UNFORMATTED_VALUE' | 'FORMATTED_VALUE'): CellValue[][];
  /** The spreadsheet's Drive `version` (what `files.get` answers): it grows with every change. @throws Error */
  version(id: string): number;
  /** Calls that reached the API (faulted and refused ones included); a frozen copy. */
  readonly stats: Stats;
  resetStats(): void;
  /** Arms a fault for the next matching request(s). @throws Error naming each invalid field. */
  fault(fault: Fault): void;
  clearFaults(): void;
  /** Stops listening and drops open connections: clients get ECONNREFUSED until {@link up}. */
  down(): Promise<void>;
  /** Listens again on the same port. No-op when up. @throws Error after {@link close}. */
  up(): Promise<void>;
  /** Stops for good, cancelling delayed responses. */
  close(): Promise<void>;
}

class EmulatorServer extends EmulatorState implements Emulator {
  private readonly server: Server;
  private readonly world: ApiWorld = { accounts: this.accounts, spreadsheets: this.spreadsheets };
  private closed = false;

  constructor(
    private readonly host: string,
    public port: number,
  ) {
    super();
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}/`;
  }

  async up(): Promise<void> {
    if (this.closed) {
      throw new Error('emulator: up() after close()');
    }
    if (this.server.listening) {
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    if (!this.server.listening) {
      return;
    }
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
    // Let in-process clients see their pooled sockets close (undici pre-opens idle ones), so their next call is
    // refused (ECONNREFUSED) rather than failing on a dead socket ("other side closed").
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.faults.clear();
    await this.down();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Aborted when the client hangs up (its timeout) or the emulator goes down: cancels any injected delay.
    const gone = new AbortController();
    res.on('close', () => {
      gone.abort();
    });
    try {
      const url = new URL(req.url ?? '/', 'http://emulator.invalid');
      const body = parseJson(await readBody(req));
      if (url.pathname.startsWith('/__emulator/')) {
        const result = await handleAdmin(this, req.method ?? 'GET', url, body);
        send(res, result.status, result.body);
        return;
      }
      await this.handleApi(req, res, url, body, gone.signal);
    } catch (err) {
      if (gone.signal.aborted) {
        return;
      }
      const error = err instanceof GoogleError ? err : new GoogleError(500, `emulator bug: ${String(err)}`);
      try {
        sendError(res, error);
      } catch {
        res.destroy(); // never let one bad request take the emulator down
      }
    }
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: unknown,
    signal: AbortSignal,
  ): Promise<void> {
    const called = route(req.method ?? 'GET', url.pathname);
    if (called === undefined) {
      throw new GoogleError(404, `emulator: no Sheets or Drive method for ${req.method ?? 'GET'} ${url.pathname}`);
    }
    this.counters.record(called.method);
    const fault = this.faults.take(called.method);
    if (fault?.latencyMs !== undefined) {
      await sleep(fault.latencyMs, undefined, { signal });
    }
    const injected =
      fault?.status === undefined ? undefined : new GoogleError(fault.status, fault.message, { method: called.method });
    if (injected !== undefined && fault?.applyThenDelayMs === undefined) {
      throw injected;
    }
    let outcome: { ok: true; body: object } | { ok: false; error: GoogleError };
    try {
      const request = { route: called, authorization: req.headers.authorization, query: url.searchParams, body };
      outcome = { ok: true, body: answer(this.world, request, Date.now() / 1000) };
    } catch (err) {
      if (!(err instanceof GoogleError)) {
        throw err;
      }
      outcome = { ok: false, error: err };
    }
    if (fault?.applyThenDelayMs !== undefined) {
      await sleep(fault.applyThenDelayMs, undefined, { signal });
    }
    if (injected !== undefined) {
      throw injected;
    }
    if (outcome.ok) {
      send(res, 200, outcome.body);
    } else {
      sendError(res, outcome.error);
    }
  }
}

/**
 * Starts an emulator listening on `host:port`. Trust a service account with {@link Emulator.trust} before calling.
 * @throws Error when the port is taken.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new EmulatorServer(options.host ?? '127.0.0.1', options.port ?? 0);
  await emulator.up();
  return emulator;
}
