/**
 * The live channel (/api/v1/live): one websocket per tab, topics multiplexed.
 * The server only notifies; REST stays authoritative. So:
 * - every message carries a per-topic seq; on reconnect we resume each topic
 *   after the last seq we saw and drop duplicates;
 * - a gap we cannot fill (server says resync, or a seq jumps) calls the
 *   topic's onResync, which refetches over REST;
 * - reconnects back off exponentially with full jitter, so a restarted
 *   server is not hit by every client in the same millisecond.
 */
import { signal } from "@preact/signals";

export type LiveStatus = "connecting" | "open" | "offline";
export const liveStatus = signal<LiveStatus>("connecting");

type OnMessage = (data: any, meta: { topic: string; seq: number | null; type: string }) => void;

interface Sub {
  listeners: Set<{ onMessage: OnMessage; onResync?: () => void }>;
  lastSeq: number | null;
}

const MAX_DELAY_MS = 30_000;

export class LiveClient {
  private ws: WebSocket | null = null;
  private subs = new Map<string, Sub>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private everOpened = false;

  constructor(private url: string) {
    globalThis.addEventListener?.("online", () => {
      // The socket may have survived a short outage; then it is simply live again.
      if (this.ws?.readyState === WebSocket.OPEN) liveStatus.value = "open";
      else this.reconnectSoon(0);
    });
    globalThis.addEventListener?.("offline", () => {
      liveStatus.value = "offline";
    });
  }

  /** Listen on a topic; returns the unsubscribe function. onResync runs when messages may have been missed. */
  subscribe(topic: string, onMessage: OnMessage, onResync?: () => void): () => void {
    let sub = this.subs.get(topic);
    const entry = { onMessage, onResync };
    if (!sub) {
      sub = { listeners: new Set(), lastSeq: null };
      this.subs.set(topic, sub);
      this.send({ type: "subscribe", topic });
    }
    sub.listeners.add(entry);
    this.ensure();
    return () => {
      const s = this.subs.get(topic);
      if (!s) return;
      s.listeners.delete(entry);
      if (s.listeners.size === 0) {
        this.subs.delete(topic);
        this.send({ type: "unsubscribe", topic });
      }
    };
  }

  close() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000);
  }

  private ensure() {
    if (!this.ws && !this.timer && !this.stopped) this.connect();
  }

  private send(frame: object) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private connect() {
    this.timer = null;
    liveStatus.value = globalThis.navigator?.onLine === false ? "offline" : "connecting";
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.reconnectSoon();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      liveStatus.value = "open";
      const reconnect = this.everOpened;
      this.everOpened = true;
      for (const [topic, sub] of this.subs) {
        if (sub.lastSeq !== null) this.send({ type: "resume", topic, after: sub.lastSeq });
        else {
          this.send({ type: "subscribe", topic });
          // Anything published while we were away is unknown to us: refetch.
          if (reconnect) this.resync(topic);
        }
      }
    };
    ws.onmessage = (ev) => {
      let m: any;
      try {
        m = JSON.parse(typeof ev.data === "string" ? ev.data : "");
      } catch {
        return;
      }
      this.handle(m);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      if (!this.stopped) this.reconnectSoon();
    };
    ws.onerror = () => {
      /* onclose follows and reconnects */
    };
  }

  private reconnectSoon(minDelay?: number) {
    if (this.stopped || this.subs.size === 0 && !this.everOpened) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN && minDelay === 0) return;
    if (this.timer) clearTimeout(this.timer);
    liveStatus.value = globalThis.navigator?.onLine === false ? "offline" : "connecting";
    const cap = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt++);
    const delay = minDelay ?? Math.round(cap / 2 + Math.random() * (cap / 2));
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private resync(topic: string) {
    const sub = this.subs.get(topic);
    if (!sub) return;
    for (const l of sub.listeners) l.onResync?.();
  }

  /** Accepts {type:"msg",topic,seq,data} and the {msg:{…}} / {resync:topic} spellings. */
  private handle(m: any) {
    if (!m || typeof m !== "object") return;
    const type: string = m.type ?? (m.resync ? "resync" : m.msg ? "msg" : m.reconnect ? "reconnect" : "");
    const body = m.type ? m : (m.msg ?? m);
    if (type === "resync") {
      const topic = typeof m.resync === "string" ? m.resync : m.topic;
      const sub = this.subs.get(topic);
      if (!sub) return;
      sub.lastSeq = typeof m.seq === "number" ? m.seq : null;
      this.resync(topic);
      return;
    }
    if (type === "reconnect" || type === "shutdown" || type === "goodbye") {
      // The server is going away: come back after a jittered pause.
      const hint = typeof m.afterMs === "number" ? m.afterMs : 1000;
      this.ws?.close(4000);
      this.ws = null;
      this.reconnectSoon(Math.round(Math.random() * hint) + 100);
      return;
    }
    if (type === "subscribed" || type === "resumed") {
      const sub = this.subs.get(body.topic);
      if (sub && sub.lastSeq === null && typeof body.seq === "number") sub.lastSeq = body.seq;
      return;
    }
    if (type === "pong" || type === "ping" || type === "error") return;
    const topic: string | undefined = body.topic;
    if (!topic) return;
    const sub = this.subs.get(topic);
    if (!sub) return;
    const seq: number | null = typeof body.seq === "number" ? body.seq : null;
    if (seq !== null && sub.lastSeq !== null) {
      if (seq <= sub.lastSeq) return; // a duplicate after resume
      if (seq > sub.lastSeq + 1) {
        sub.lastSeq = seq;
        this.resync(topic);
        return;
      }
    }
    if (seq !== null) sub.lastSeq = seq;
    const data = body.data ?? body.payload ?? body;
    const kind: string = (data && typeof data === "object" && (data.type ?? data.kind)) || type;
    for (const l of sub.listeners) {
      try {
        l.onMessage(data, { topic, seq, type: kind });
      } catch (err) {
        console.error("live listener failed", err);
      }
    }
  }
}

const here = typeof location === "undefined" ? null : location;
export const live = new LiveClient(here ? (here.protocol === "https:" ? "wss://" : "ws://") + here.host + "/api/v1/live" : "ws://127.0.0.1/api/v1/live");
