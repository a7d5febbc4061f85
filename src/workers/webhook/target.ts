/**
 * Where a webhook may point (SSRF). A webhook URL is chosen by whoever holds
 * the admin token, and stampede then POSTs to it from inside the network,
 * with its own network position: without a check, the URL could reach the
 * loopback interface (Redis, PostgreSQL, the admin API itself), private
 * services, or a cloud metadata endpoint (169.254.169.254: credentials).
 *
 * So an address that is not on the public internet is refused, unless
 * WEBHOOK_ALLOW_PRIVATE=true (receivers on a private network, tests):
 * - when the webhook is set (PUT: 400 invalid_request, every address the
 *   host resolves to is checked), and
 * - at every send, on the address the connection is actually made to (the
 *   resolution happens once, in the socket's own lookup), so a name that
 *   resolved to a public address at PUT and to 127.0.0.1 later (DNS
 *   rebinding) still cannot reach it.
 * Redirects are never followed: a 3xx is a failed attempt.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** WEBHOOK_ALLOW_PRIVATE: allow loopback, private and link-local targets. */
export interface WebhookTargetPolicy {
  allowPrivate: boolean;
}

/** How a host name becomes addresses (dns.lookup; tests pass their own). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/** Why a target is refused; the message is safe to show the admin. */
export class WebhookTargetError extends Error {
  /** ENOTFOUND and the like: the name does not resolve (as opposed to resolving somewhere forbidden). */
  readonly unresolvable: boolean;
  constructor(message: string, unresolvable = false) {
    super(message);
    this.name = "WebhookTargetError";
    this.unresolvable = unresolvable;
  }
}

const RANGES: [string, number, "ipv4" | "ipv6", string][] = [
  ["0.0.0.0", 8, "ipv4", "unspecified"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared (carrier-grade NAT; Alibaba Cloud's metadata service)"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local (cloud metadata services)"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "reserved (IETF protocol assignments)"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "reserved (benchmarking)"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["fc00::", 7, "ipv6", "private (unique local; AWS's metadata service)"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["fec0::", 10, "ipv6", "site-local"],
  ["ff00::", 8, "ipv6", "multicast"],
];

const blocks = RANGES.map(([network, prefix, family, reason]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, family, reason };
});

/**
 * Why `address` (an IP address) is not a public one, or undefined when it
 * is. An IPv6 address that carries an IPv4 one (mapped ::ffff:a.b.c.d, the
 * deprecated compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is
 * judged by the IPv4 address it carries.
 */
export function forbiddenAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return "not an IP address";
  if (family === 6) {
    const bytes = ipv6Bytes(address);
    const carried = bytes && carriedIpv4(bytes);
    if (carried) return forbiddenAddress(carried);
  }
  const kind = family === 4 ? "ipv4" : "ipv6";
  return blocks.find((b) => b.family === kind && b.list.check(address, kind))?.reason;
}

/** Checks a webhook URL when it is set: every address its host resolves to must be public. */
export async function checkWebhookTarget(
  url: URL,
  policy: WebhookTargetPolicy,
  resolve: Resolve = systemResolve,
): Promise<void> {
  if (policy.allowPrivate) return;
  const host = hostOf(url);
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = (await resolve(host)).map((a) => a.address);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTFOUND" || code === "ENODATA")
        throw new WebhookTargetError(`the host ${host} does not resolve`, true);
      throw error;
    }
  }
  for (const address of addresses) refuseForbidden(host, address);
}

/**
 * The `lookup` of a webhook request's socket: resolves as the system does
 * and refuses to connect when an address is not public. An address literal
 * is never looked up (Node connects to it directly): check it with
 * `checkLiteralHost` first.
 */
export function guardedLookup(policy: WebhookTargetPolicy, resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        try {
          if (!policy.allowPrivate) for (const a of addresses) refuseForbidden(hostname, a.address);
        } catch (error) {
          callback(error as NodeJS.ErrnoException, "", 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 0),
    );
  };
}

/** A URL whose host is an address literal is checked here, since no lookup runs for it. */
export function checkLiteralHost(url: URL, policy: WebhookTargetPolicy): void {
  const host = hostOf(url);
  if (!policy.allowPrivate && isIP(host) !== 0) refuseForbidden(host, host);
}

function refuseForbidden(host: string, address: string): void {
  const reason = forbiddenAddress(address);
  if (reason === undefined) return;
  const via = host === address ? "" : ` (${host} resolves to it)`;
  throw new WebhookTargetError(
    `the address ${address}${via} is ${reason}, not public; set WEBHOOK_ALLOW_PRIVATE=true to allow it`,
  );
}

/** URL.hostname keeps an IPv6 literal's brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** The 16 bytes of an IPv6 address (isIP already said it is one), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.split("%")[0]!;
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted.slice(1, 5).map(Number));
    text = `${text.slice(0, dotted.index)}0:0`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(":").filter((g) => g !== "") : []);
  const left = groups(head);
  const right = groups(rest);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return undefined;
  const all = [...left, ...Array<string>(missing).fill("0"), ...right].map((g) => Number.parseInt(g, 16));
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (dotted) bytes.splice(12, 4, ...tail);
  return bytes;
}

function carriedIpv4(b: number[]): string | undefined {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join(".");
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:a.b.c.d
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && b[15] === 1)) return v4(12); // ::a.b.c.d
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 2002:AABB:CCDD::/48
  return undefined;
}
