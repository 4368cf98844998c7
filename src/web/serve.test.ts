/**
 * How the embedded web app is served: HTML revalidated (no-cache + ETag),
 * hashed assets immutable, precompressed variants chosen by Accept-Encoding,
 * client-side routes fall back to index.html, and a CSP that allows no inline
 * or foreign script.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { testApp } from "../testing.ts";

const built = existsSync(join(import.meta.dir, "..", "..", "web", "dist", "index.html"));
if (!built) console.log("skipping web serving tests: run `npm run build:web` first");
const d = built ? describe : describe.skip;

d("serving the web app", () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  let jsPath = "";
  beforeAll(async () => {
    t = await testApp();
    jsPath = /src="(\/assets\/main-[^"]+\.js)"/.exec(readFileSync(join(import.meta.dir, "..", "..", "web", "dist", "index.html"), "utf8"))![1]!;
  });
  afterAll(() => t?.cleanup());
  const get = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers });

  test("index.html: revalidated every time, with an ETag and a strict CSP", async () => {
    const r = await get("/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/html");
    expect(r.headers.get("cache-control")).toBe("no-cache");
    const etag = r.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{20}"$/);
    const csp = r.headers.get("content-security-policy")!;
    const script = csp.split(";").find((p) => p.trim().startsWith("script-src"))!;
    expect(script.trim()).toBe("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect((await get("/", { "if-none-match": etag })).status).toBe(304);
  });

  test("hashed assets: immutable for a year, brotli or gzip by Accept-Encoding", async () => {
    const plain = await get(jsPath);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(plain.headers.get("content-type")).toContain("text/javascript");
    expect(plain.headers.get("content-encoding")).toBeNull();
    const br = await get(jsPath, { "accept-encoding": "gzip, deflate, br" });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(br.headers.get("vary")).toContain("Accept-Encoding");
    const gz = await get(jsPath, { "accept-encoding": "gzip" });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect((await br.arrayBuffer()).byteLength).toBeLessThan((await plain.arrayBuffer()).byteLength);
  });

  test.each(["/e/demo-hunt/hunt", "/admin/users", "/arena/match/12"])("client route %s gets the app", async (path) => {
    const r = await get(path);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('<div id="app">');
  });

  test.each(["/assets/main-NOPE.js", "/favicon.ico", "/api/v1/nope"])("%s is a JSON 404, not the app", async (path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    const body = await r.json();
    expect(body.error.code).toBe("not_found");
  });
});
