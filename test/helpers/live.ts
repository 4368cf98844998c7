/**
 * A Node-side client of the live protocol (src/realtime/PROTOCOL.md) for
 * tests and benchmarks, on the `ws` package. It keeps the last sequence
 * number per topic, drops duplicates, and after a disconnect reconnects
 * (after the server's `reconnect.afterMs`, or a jittered backoff when the
 * server vanished) and resumes every topic from where it was.
 *
 * @example
 * const live = await liveClient(url, { cookie });
 * await live.subscribe("event:1");
 * await live.waitFor(() => live.messages("event:1").length >= 3);
 */
import WebSocket from "ws";

export interface LiveMsg {
  topic: string;
  seq: number;
  data: any;
}

export interface LiveOptions {
  cookie?: string | null;
  origin?: string;
  /** Reconnect after an unexpected close (default true). */
  autoReconnect?: boolean;
  /** Largest backoff jitter after the server vanished, in ms. */
  maxBackoffMs?: number;
  onMessage?: (m: LiveMsg, receivedAt: number) => void;
  /** Keep every received message (default true; benchmarks turn it off). */
  keep?: boolean;
}

export type LiveClient = Awaited<ReturnType<typeof liveClient>>;

export function wsUrl(httpUrl: string) {
  return httpUrl.replace(/^http/, "ws") + "/api/v1/live";
}

/** Opens one socket; resolves on open, rejects with the HTTP status when the upgrade is refused. */
export function openSocket(url: string, opts: { cookie?: string | null; origin?: string } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.cookie) headers.cookie = opts.cookie;
    const ws = new WebSocket(url, { headers, origin: opts.origin, perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c));
      res.on("end", () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
    ws.once("error", reject);
  });
}

export async function liveClient(base: string, opts: LiveOptions = {}) {
  const url = base.startsWith("ws") ? base : wsUrl(base);
  const last = new Map<string, number>();
  const received = new Map<string, LiveMsg[]>();
  const control: any[] = [];
  const waiters = new Set<() => void>();
  let ws: WebSocket | null = null;
  let closedByUs = false;
  let reconnectAfter: number | null = null;
  let attempt = 0;
  /** failedConnects: reconnect attempts refused or reset (each is retried after a backoff, as a browser client would). */
  const stats = { reconnects: 0, failedConnects: 0, duplicates: 0, resyncs: 0, closes: [] as Array<{ code: number; reason: string }> };
  const keep = opts.keep !== false;

  const wake = () => {
    for (const w of [...waiters]) w();
  };

  function onFrame(raw: WebSocket.RawData) {
    const now = performance.now();
    const m = JSON.parse(raw.toString());
    if (m.type === "msg") {
      const prev = last.get(m.topic) ?? 0;
      if (m.seq <= prev) {
        stats.duplicates++;
        return;
      }
      last.set(m.topic, m.seq);
      const msg = { topic: m.topic, seq: m.seq, data: m.data };
      if (keep) {
        let arr = received.get(m.topic);
        if (!arr) received.set(m.topic, (arr = []));
        arr.push(msg);
      }
      opts.onMessage?.(msg, now);
    } else {
      if (m.type === "subscribed") {
        // Without a resume the server's head is the baseline; after a resume everything up to it was replayed.
        if (!last.has(m.topic) || (last.get(m.topic) ?? 0) < m.seq) last.set(m.topic, m.seq);
      } else if (m.type === "resync") stats.resyncs++;
      else if (m.type === "reconnect") reconnectAfter = m.afterMs;
      if (keep || m.type !== "pong") control.push(m);
    }
    wake();
  }

  async function connect() {
    const sock = await openSocket(url, opts);
    ws = sock;
    attempt = 0;
    sock.on("message", onFrame);
    sock.on("close", (code, reason) => {
      stats.closes.push({ code, reason: reason.toString() });
      if (ws === sock) ws = null;
      wake();
      if (closedByUs || opts.autoReconnect === false) return;
      const max = opts.maxBackoffMs ?? 2000;
      const wait = reconnectAfter ?? Math.round(Math.random() * Math.min(max, 250 * 2 ** attempt));
      reconnectAfter = null;
      setTimeout(retry, wait);
    });
    sock.on("error", () => {});
    for (const [topic, after] of last) sock.send(JSON.stringify({ type: "resume", topic, after }));
  }

  async function retry() {
    if (closedByUs) return;
    attempt++;
    try {
      await connect();
      stats.reconnects++;
      wake();
    } catch {
      stats.failedConnects++;
      const max = opts.maxBackoffMs ?? 2000;
      setTimeout(retry, Math.round(100 + Math.random() * Math.min(max, 250 * 2 ** attempt)));
    }
  }

  await connect();

  const client = {
    get ws() {
      return ws;
    },
    get connected() {
      return ws !== null && ws.readyState === WebSocket.OPEN;
    },
    stats,
    control,
    last,
    messages: (topic: string) => received.get(topic) ?? [],
    send(obj: unknown) {
      ws?.send(typeof obj === "string" ? obj : JSON.stringify(obj));
    },
    /** Subscribes and resolves with the server's answer (subscribed or error). */
    async subscribe(topic: string, after?: number) {
      const from = control.length;
      client.send(after === undefined ? { type: "subscribe", topic } : { type: "subscribe", topic, after });
      let answer: any;
      await client.waitFor(() => (answer = control.slice(from).find((m) => m.topic === topic && (m.type === "subscribed" || m.type === "error"))));
      return answer;
    },
    waitFor(pred: () => unknown, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        if (pred()) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error("waitFor timed out"));
        }, timeoutMs);
        const check = () => {
          if (pred()) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
      });
    },
    close() {
      closedByUs = true;
      ws?.close();
    },
    terminate() {
      closedByUs = true;
      ws?.terminate();
    },
  };
  return client;
}

/** Starts `count` clients (in a Node child process) that subscribe to `topic` and then never read. */
export async function nonReaders(url: string, topic: string, count: number) {
  const proc = Bun.spawn([realNode(), `${import.meta.dir}/non-reader.mjs`, url, topic, String(count)], { stdout: "pipe", stderr: "ignore", cwd: `${import.meta.dir}/../..` });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`non-reader exited: ${out}`);
    out += new TextDecoder().decode(value);
  }
  return { kill: () => proc.kill("SIGKILL"), proc };
}

/** Node itself: `bun run`/`bun test` put a `node` that is really Bun first on PATH. */
export function realNode(): string {
  if (process.env.NODE_BIN) return process.env.NODE_BIN;
  const path = (process.env.PATH ?? "").split(":").filter((d) => !/bun-node|\/\.bun\//.test(d));
  const found = Bun.which("node", { PATH: path.join(":") });
  if (!found) throw new Error("Node.js is needed for non-reading clients (set NODE_BIN)");
  return found;
}
