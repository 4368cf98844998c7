/**
 * A plain HTTP/1.1 client on one keep-alive connection, for tests that must
 * see every connection-level event: it never retries and never hides an
 * error. A request fails if the connection cannot be opened, or closes or
 * errs before the whole response has arrived. Like any HTTP client it opens a
 * new connection for the next request after a response with
 * `Connection: close`, or after the server closed the idle connection (a FIN
 * that arrived before the request was written).
 *
 * @example
 * const c = new KeepAliveClient("127.0.0.1", port);
 * const r = await c.request("GET", "/healthz");
 * if (r.status !== 200) …
 * c.close();
 */
import net from "node:net";

export interface Http1Response {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server said `Connection: close` in this response. */
  connectionClose: boolean;
}

export class Http1Error extends Error {
  constructor(
    message: string,
    readonly phase: "connect" | "response",
    readonly reused: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(r: Http1Response): void;
  reject(e: Error): void;
}

export class KeepAliveClient {
  private sock: net.Socket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private requestsOnSocket = 0;
  private closeAfter = false;
  /** connectionClose: responses that said `Connection: close` to a request that did not ask for it. */
  readonly stats = { connects: 0, requests: 0, connectionClose: 0, idleClosedByServer: 0 };

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port, noDelay: true });
      const onError = (e: Error) => reject(new Http1Error(`connect: ${(e as NodeJS.ErrnoException).code ?? e.message}`, "connect", false));
      s.once("error", onError);
      s.once("connect", () => {
        s.off("error", onError);
        this.stats.connects++;
        this.requestsOnSocket = 0;
        this.buf = Buffer.alloc(0);
        s.on("data", (d: Buffer) => this.onData(d));
        const gone = (why: string) => {
          // A connection retired after `Connection: close` is no longer ours: its FIN is expected.
          if (this.sock !== s) return;
          this.sock = null;
          const p = this.pending;
          if (p) {
            this.pending = null;
            p.reject(new Http1Error(`connection ${why} before the response (request ${this.requestsOnSocket} on this connection)`, "response", this.requestsOnSocket > 1));
          } else if (why === "closed by the server") this.stats.idleClosedByServer++;
        };
        s.on("end", () => gone("closed by the server"));
        s.on("error", (e) => gone(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
        s.on("close", () => gone("closed"));
        resolve(s);
      });
    });
  }

  async request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Http1Response> {
    if (this.pending) throw new Error("one request at a time");
    // Either side's `Connection: close` ends the connection after this exchange.
    this.closeAfter = /\bclose\b/i.test(Object.entries(headers).find(([k]) => k.toLowerCase() === "connection")?.[1] ?? "");
    const sock = this.sock ?? (this.sock = await this.connect());
    this.stats.requests++;
    this.requestsOnSocket++;
    const h: Record<string, string> = { host: `${this.host}:${this.port}`, ...headers };
    const payload = body === undefined ? "" : body;
    if (body !== undefined || method === "POST") h["content-length"] = String(Buffer.byteLength(payload));
    const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("")}\r\n`;
    return await new Promise<Http1Response>((resolve, reject) => {
      this.pending = { resolve, reject };
      sock.write(head + payload);
    });
  }

  private onData(d: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (!this.pending) return;
    const r = parseResponse(this.buf);
    if (!r) return;
    this.buf = this.buf.subarray(r.used);
    const p = this.pending;
    this.pending = null;
    if (r.res.connectionClose || this.closeAfter) {
      if (r.res.connectionClose && !this.closeAfter) this.stats.connectionClose++;
      const s = this.sock;
      this.sock = null;
      s?.end();
    }
    p.resolve(r.res);
  }

  close() {
    this.sock?.destroy();
    this.sock = null;
  }
}

/** One complete response at the start of `buf`, or null while incomplete. */
export function parseResponse(buf: Buffer): { res: Http1Response; used: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let pos = end + 4;
  let body: Buffer;
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const parts: Buffer[] = [];
    for (;;) {
      const nl = buf.indexOf("\r\n", pos);
      if (nl < 0) return null;
      const size = parseInt(buf.subarray(pos, nl).toString("latin1"), 16);
      if (buf.length < nl + 2 + size + 2) return null;
      if (size === 0) {
        pos = nl + 4;
        break;
      }
      parts.push(buf.subarray(nl + 2, nl + 2 + size));
      pos = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const len = status === 204 || status === 304 ? 0 : Number(headers["content-length"] ?? 0);
    if (buf.length < pos + len) return null;
    body = buf.subarray(pos, pos + len);
    pos += len;
  }
  return { res: { status, headers, body: body.toString("utf8"), connectionClose: /\bclose\b/i.test(headers.connection ?? "") }, used: pos };
}
