/**
 * The client's address. X-Forwarded-For is believed only when the direct peer
 * is a trusted proxy (Caddy on the same box by default); then the rightmost
 * address that is not itself a trusted proxy is the client, so a client
 * cannot spoof its address by sending its own X-Forwarded-For.
 */
export function normalizeIp(ip: string): string {
  const s = ip.trim().replace(/^\[|\]$/g, "");
  return s.startsWith("::ffff:") && s.includes(".") ? s.slice(7) : s;
}

/** The trusted proxies as clientIp() compares them: built once, not per request. */
export const trustedProxies = (trusted: readonly string[]): ReadonlySet<string> => new Set(trusted.map(normalizeIp));

export function clientIp(peer: string | undefined, xff: string | undefined, trust: ReadonlySet<string>): string {
  const direct = normalizeIp(peer ?? "127.0.0.1");
  if (!xff || !trust.has(direct)) return direct;
  const hops = xff.split(",").map(normalizeIp).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trust.has(hops[i])) return hops[i];
  }
  return hops[0] ?? direct;
}
