import { afterEach, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";

/**
 * A strict parser of the Prometheus text format 0.0.4: every line is a HELP,
 * a TYPE or a sample; names and labels follow the grammar; a family's TYPE
 * comes once and before its samples; no series repeats; histogram buckets
 * are cumulative, end in +Inf, and +Inf equals _count. Throws on anything else.
 */
export function parsePrometheus(text: string) {
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const familyOf = (name: string) => {
    for (const suf of ["_bucket", "_sum", "_count"]) {
      const base = name.slice(0, -suf.length);
      if (name.endsWith(suf) && types.get(base) === "histogram") return base;
    }
    return name;
  };
  const parseValue = (v: string) => {
    if (v === "+Inf") return Infinity;
    if (v === "-Inf") return -Infinity;
    if (v === "NaN") return NaN;
    if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad value ${JSON.stringify(v)}`);
    return Number(v);
  };
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line === "") throw new Error(`${where}: empty line`);
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`${where}: bad comment`);
      if (!NAME.test(m[2])) throw new Error(`${where}: bad name`);
      if (m[1] === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3])) throw new Error(`${where}: bad type`);
        if (types.has(m[2])) throw new Error(`${where}: TYPE repeated`);
        if (samples.some((s) => familyOf(s.name) === m[2])) throw new Error(`${where}: TYPE after samples`);
        types.set(m[2], m[3]);
      } else {
        if (helps.has(m[2])) throw new Error(`${where}: HELP repeated`);
        if (/\\[^\\n]/.test(m[3].replace(/\\\\/g, ""))) throw new Error(`${where}: bad escape in HELP`);
        helps.add(m[2]);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: bad sample`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== "") {
      let rest = m[3];
      while (rest.length) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
        if (!lm || !LABEL.test(lm[1])) throw new Error(`${where}: bad labels at ${rest}`);
        if (lm[1] in labels) throw new Error(`${where}: label repeated`);
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, ch) => (ch === "n" ? "\n" : ch));
        rest = rest.slice(lm[0].length);
        if (lm[3] === "," && !rest.length) throw new Error(`${where}: trailing comma`);
      }
    }
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`${where}: series repeated`);
    seen.add(key);
    if (!types.has(familyOf(m[1]))) throw new Error(`${where}: sample without TYPE`);
    samples.push({ name: m[1], labels, value: parseValue(m[4]) });
  });
  // Histogram invariants.
  for (const [fam, type] of types) {
    if (type !== "histogram") continue;
    const groups = new Map<string, { le: number; v: number }[]>();
    for (const s of samples.filter((x) => x.name === fam + "_bucket")) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${fam}: bucket without le`);
      const k = JSON.stringify(Object.entries(rest).sort());
      (groups.get(k) ?? groups.set(k, []).get(k)!).push({ le: parseValue(le), v: s.value });
    }
    for (const [k, bs] of groups) {
      for (let i = 1; i < bs.length; i++) {
        if (!(bs[i].le > bs[i - 1].le)) throw new Error(`${fam}${k}: le not increasing`);
        if (bs[i].v < bs[i - 1].v) throw new Error(`${fam}${k}: buckets not cumulative`);
      }
      if (bs.at(-1)!.le !== Infinity) throw new Error(`${fam}${k}: no +Inf bucket`);
      const count = samples.find((s) => s.name === fam + "_count" && JSON.stringify(Object.entries(s.labels).sort()) === k);
      if (!count || count.value !== bs.at(-1)!.v) throw new Error(`${fam}${k}: _count differs from +Inf bucket`);
    }
  }
  return { types, samples };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("the strict parser refuses malformed text", () => {
  test.each([
    ["no newline", "# TYPE a counter\na 1"],
    ["sample before TYPE", "a 1\n"],
    ["bad value", "# TYPE a gauge\na one\n"],
    ["bad label", '# TYPE a gauge\na{1x="y"} 1\n'],
    ["unescaped quote", '# TYPE a gauge\na{x="a"b"} 1\n'],
    ["repeated series", "# TYPE a gauge\na 1\na 2\n"],
    ["non-cumulative histogram", '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n'],
    ["count mismatch", '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 4\n'],
  ])("%s", (_n, text) => expect(() => parsePrometheus(text)).toThrow());
});

describe("GET /metrics", () => {
  test("parses strictly and carries requests, latencies, database size and memory", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    const c = t.client("127.0.0.1");
    await c.req("GET", "/api/v1/me");
    await c.req("GET", "/api/v1/me");
    await c.req("GET", "/healthz");
    // A label value that needs escaping must not break the format.
    t.s.metrics.observeRequest("GET", 'we"ird\\route\nx', 200, 3);
    t.s.metrics.register({ name: "gauntlet_test_things", help: "Things with a \\ backslash.\nand a newline", type: "gauge", collect: () => [{ value: 3, labels: { a: "b" } }] });
    const res = await c.req("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await res.text();
    const { types, samples } = parsePrometheus(text);
    expect(types.get("gauntlet_http_requests_total")).toBe("counter");
    expect(types.get("gauntlet_http_request_duration_seconds")).toBe("histogram");
    const me = samples.find((s) => s.name === "gauntlet_http_requests_total" && s.labels.route === "/api/v1/me")!;
    expect(me).toMatchObject({ labels: { method: "GET", status: "401" }, value: 2 });
    expect(samples.find((s) => s.name === "gauntlet_http_request_duration_seconds_count" && s.labels.route === "/api/v1/me")!.value).toBe(2);
    expect(samples.find((s) => s.name === "gauntlet_http_requests_total" && s.labels.route === 'we"ird\\route\nx')!.value).toBe(1);
    expect(samples.find((s) => s.name === "gauntlet_database_bytes" && s.labels.file === "main")!.value).toBeGreaterThan(0);
    expect(samples.find((s) => s.name === "gauntlet_process_memory_bytes" && s.labels.kind === "rss")!.value).toBeGreaterThan(0);
    expect(samples.find((s) => s.name === "gauntlet_test_things")!.value).toBe(3);
    // A concrete path never becomes a label value.
    expect(text).not.toContain("/metrics?");
  });

  test("without a token: loopback only, and never through a proxy", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    expect((await t.client("127.0.0.1").req("GET", "/metrics")).status).toBe(200);
    expect((await t.client("::1").req("GET", "/metrics")).status).toBe(200);
    const remote = await t.client("203.0.113.5").json("GET", "/metrics");
    expect(remote.status).toBe(403);
    expect(remote.body.error.code).toBe("forbidden");
    expect(JSON.stringify(remote.body)).not.toContain("gauntlet_");
    // Caddy on the same box forwards a remote client: refused.
    expect((await t.client("127.0.0.1").req("GET", "/metrics", undefined, { "x-forwarded-for": "203.0.113.5" })).status).toBe(403);
  });

  test("with a token: Bearer required from anywhere, compared exactly", async () => {
    const t = await testApp({ "metrics-token": "s3cret-token" });
    cleanups.push(t.cleanup);
    const c = t.client("203.0.113.5");
    for (const h of [undefined, "Bearer wrong", "Bearer s3cret-toke", "Basic s3cret-token", "s3cret-token"]) {
      const r = await c.json("GET", "/metrics", undefined, h ? { authorization: h } : {});
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthenticated");
    }
    expect((await t.client("127.0.0.1").req("GET", "/metrics")).status).toBe(401);
    const ok = await c.req("GET", "/metrics", undefined, { authorization: "Bearer s3cret-token" });
    expect(ok.status).toBe(200);
    parsePrometheus(await ok.text());
  });

  test("queue depth per status once a jobs table exists, and runner/realtime gauges when present", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    const text = await t.s.metrics.render({
      realtime: { stats: () => ({ connections: 7 }) },
      queue: { counts: () => ({ queued: 3, running: 1, succeeded: 10 }) },
      runner: { health: () => ({ slots: { total: 4, busy: 1, waiting: 0 } }) },
    });
    const { samples } = parsePrometheus(text);
    expect(samples.find((s) => s.name === "gauntlet_websocket_connections")!.value).toBe(7);
    expect(samples.find((s) => s.name === "gauntlet_queue_jobs" && s.labels.status === "queued")!.value).toBe(3);
    expect(samples.find((s) => s.name === "gauntlet_runner_slots" && s.labels.state === "busy")!.value).toBe(1);
  });

  test("the real queue's counts appear per status", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    await t.s.queue.add("metrics.test", { x: 1 });
    await t.s.queue.add("metrics.test", { x: 2 });
    const { samples } = parsePrometheus(await t.s.metrics.render(t.s as never));
    expect(samples.find((s) => s.name === "gauntlet_queue_jobs" && s.labels.status === "QUEUED")!.value).toBe(2);
  });
});
