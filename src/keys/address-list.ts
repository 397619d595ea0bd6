/**
 * `allowed_ips`: the addresses a key may be used from (IPv4, IPv6, CIDR ranges). Pure. Parsing and matching go
 * through ipaddr.js, the library Express's own `trust proxy` uses, rather than hand-written bit arithmetic.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = readonly [Address, number];

export type AddressListResult =
  /** `entries`: each range in one canonical text form (`10.0.0.0/8`, `2001:db8::/32`, `203.0.113.7`); empty = any. */
  | { readonly ok: true; readonly entries: readonly string[] }
  /** `entry`: the first entry that is not an address or a CIDR range, as typed. */
  | { readonly ok: false; readonly entry: string };

/** Whether `address` may use the key; `undefined` (no address known) never may. */
export type AddressMatcher = (address: string | undefined) => boolean;

const PREFIX = /^\d{1,3}$/;

/**
 * An address as typed: IPv4 only in dotted four-part decimal (ipaddr.js alone would also read `10` as 0.0.0.10 or
 * `010.0.0.1` as octal), IPv6 in any RFC 4291 form. `zone`: whether a zone id (`fe80::1%eth0`) is accepted — a
 * client's address may carry one; an allowlist entry names addresses, not interfaces.
 */
function parseAddress(text: string, zone: boolean): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return ipaddr.IPv4.parse(text);
  }
  if (!text.includes(':') || (!zone && text.includes('%')) || !ipaddr.IPv6.isValid(text)) {
    return undefined;
  }
  return ipaddr.IPv6.parse(text);
}

function bitsOf(address: Address): number {
  return address.kind() === 'ipv4' ? 32 : 128;
}

/**
 * One entry: an address (a range of one) or `address/prefix`. An IPv4-mapped IPv6 range of /96 or longer
 * (`::ffff:10.0.0.0/104`) is its IPv4 range (`10.0.0.0/8`), since IPv4 clients are matched as IPv4.
 */
function parseRange(entry: string): Range | undefined {
  const [text = '', prefixText, ...rest] = entry.split('/');
  if (rest.length > 0 || (prefixText !== undefined && !PREFIX.test(prefixText))) {
    return undefined;
  }
  const address = parseAddress(text, false);
  if (address === undefined) {
    return undefined;
  }
  const prefix = prefixText === undefined ? bitsOf(address) : Number(prefixText);
  if (prefix > bitsOf(address)) {
    return undefined;
  }
  if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && prefix >= 96) {
    return [address.toIPv4Address(), prefix - 96];
  }
  return [address, prefix];
}

/** A client's address; IPv4-mapped IPv6 (`::ffff:127.0.0.1`, how a dual-stack socket reports IPv4) as IPv4. */
function clientAddress(text: string): Address | undefined {
  const address = parseAddress(text, true);
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

function rangeText([address, prefix]: Range): string {
  return prefix === bitsOf(address) ? address.toString() : `${address.toString()}/${prefix}`;
}

/**
 * Parses an `allowed_ips` cell: entries separated by spaces and/or commas, each an IPv4 or IPv6 address or a CIDR
 * range (`203.0.113.7, 10.0.0.0/8, 2001:db8::/32`). Duplicates are kept once, in first-seen order. Never throws.
 */
export function parseAddressList(cell: string): AddressListResult {
  const entries: string[] = [];
  for (const entry of cell.split(/[\s,]+/)) {
    if (entry === '') {
      continue;
    }
    const range = parseRange(entry);
    if (range === undefined) {
      return { ok: false, entry };
    }
    const canonical = rangeText(range);
    if (!entries.includes(canonical)) {
      entries.push(canonical);
    }
  }
  return { ok: true, entries };
}

/**
 * A matcher over `entries` (as {@link parseAddressList} gives them; any other entry matches nothing), parsed here
 * once. Each call parses the client's address once and tries the ranges: O(ranges). An IPv4 address and its
 * IPv4-mapped IPv6 form (`::ffff:127.0.0.1`, how a dual-stack socket reports an IPv4 client) are one address: it
 * matches the IPv4 ranges holding it and the IPv6 ranges holding its mapped form, as Node's `net.BlockList` does.
 * Anything that is not an address matches nothing.
 */
export function addressMatcher(entries: readonly string[]): AddressMatcher {
  const v4: Range[] = [];
  const v6: Range[] = [];
  for (const entry of entries) {
    const range = parseRange(entry);
    if (range !== undefined) {
      (range[0].kind() === 'ipv4' ? v4 : v6).push(range);
    }
  }
  return function allowedAddress(text) {
    const address = text === undefined ? undefined : clientAddress(text);
    if (address === undefined) {
      return false;
    }
    if (address.kind() === 'ipv6') {
      return v6.some(([range, prefix]) => address.match(range, prefix));
    }
    if (v4.some(([range, prefix]) => address.match(range, prefix))) {
      return true;
    }
    const mapped = v6.length === 0 || !(address instanceof ipaddr.IPv4) ? undefined : address.toIPv4MappedAddress();
    return mapped !== undefined && v6.some(([range, prefix]) => mapped.match(range, prefix));
  };
}
