/**
 * A lean HTTP/1.1 keep-alive client for load generation, in the spirit of wrk:
 * one TCP socket per simulated player (Bun.connect), requests written as
 * prebuilt bytes, responses parsed only as far as status line, Content-Length
 * and body. fetch() spends several times the server's own CPU per request on
 * a 2-core box where client and server share the cores, so it would measure
 * the client; this keeps the load generator's share small.
 *
 * test/helpers/http1.ts is the strict client for tests (every header parsed,
 * chunked bodies, reconnects counted); with it the same closed loop spent
 * ~5 µs more of client CPU per request (22 against 17 µs, client plus a
 * trivial in-process server), a share the server would lose on 2 cores.
 *
 * Only what the benchmarks need: no chunked bodies (the server sends
 * Content-Length for every JSON answer; a chunked answer is an error here),
 * one request in flight per connection, no redirects, no TLS.
 */
import type { Socket } from "bun";

export interface Reply {
  status: number;
  body: string;
}

export interface Conn {
  request(method: string, path: string, opts?: { headers?: Record<string, string>; body?: string }): Promise<Reply>;
  close(): void;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

interface State {
  buf: Buffer;
  pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null;
  closed: boolean;
  /** Bytes the kernel did not take yet; written on drain. */
  out: Buffer | null;
}

export async function connect(host: string, port: number): Promise<Conn> {
  const state: State = { buf: Buffer.alloc(0), pending: null, closed: false, out: null };
  const fail = (e: Error) => {
    state.closed = true;
    const p = state.pending;
    state.pending = null;
    p?.reject(e);
  };
  const socket: Socket<undefined> = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, chunk) {
        state.buf = state.buf.length ? Buffer.concat([state.buf, chunk]) : Buffer.from(chunk);
        const end = state.buf.indexOf(CRLFCRLF);
        if (end < 0) return;
        const head = state.buf.toString("latin1", 0, end);
        const status = Number(head.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!m) {
          if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return fail(new Error("chunked response: not supported by the bench client"));
          // No body (e.g. 204/304).
          state.buf = state.buf.subarray(end + 4);
          return settle(status, "");
        }
        const len = Number(m[1]);
        if (state.buf.length < end + 4 + len) return;
        const body = state.buf.toString("utf8", end + 4, end + 4 + len);
        state.buf = state.buf.subarray(end + 4 + len);
        settle(status, body);
      },
      drain(s) {
        if (!state.out) return;
        const n = s.write(state.out);
        state.out = n < state.out.length ? state.out.subarray(n) : null;
      },
      close() {
        fail(new Error("connection closed"));
      },
      error(_s, err) {
        fail(err);
      },
    },
  });
  function settle(status: number, body: string) {
    const p = state.pending;
    state.pending = null;
    p?.resolve({ status, body });
  }
  const hostHeader = `${host}:${port}`;
  return {
    request(method, path, opts = {}) {
      if (state.closed) return Promise.reject(new Error("connection closed"));
      if (state.pending) return Promise.reject(new Error("one request at a time per connection"));
      let head = `${method} ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
      for (const [k, v] of Object.entries(opts.headers ?? {})) head += `${k}: ${v}\r\n`;
      const body = opts.body ?? "";
      if (body || method !== "GET") head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      return new Promise<Reply>((resolve, reject) => {
        state.pending = { resolve, reject };
        const bytes = Buffer.from(head + "\r\n" + body);
        const n = socket.write(bytes);
        if (n < bytes.length) state.out = bytes.subarray(Math.max(0, n));
      });
    },
    close() {
      state.closed = true;
      socket.end();
    },
  };
}
