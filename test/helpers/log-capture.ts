import Transport from 'winston-transport';
import { createLogger } from '../../src/log';
import type { Logger } from '../../src/log';

/** Keeps every formatted log line, as a real transport would write it (pino `sink()` style). */
export class CaptureTransport extends Transport {
  readonly lines: string[] = [];

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const formatted = info[Symbol.for('message')];
    this.lines.push(typeof formatted === 'string' ? formatted : JSON.stringify(info));
    callback();
  }

  text(): string {
    return this.lines.join('\n');
  }
}

/** A debug-level JSON logger whose output the test can read (debug shows every auth decision). */
export function captureLogger(): { logger: Logger; capture: CaptureTransport } {
  const capture = new CaptureTransport();
  return { logger: createLogger({ level: 'debug', format: 'json', transports: [capture] }), capture };
}
