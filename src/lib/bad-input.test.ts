/**
 * Every declared route, fed bad input: the answer is always a 4xx JSON error
 * from the catalog, never a 500, a hang or an HTML page. The table is built
 * from the route declarations, so a route added by any domain is covered
 * without editing this file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import type { RouteDef } from "./route.ts";

let t: Awaited<ReturnType<typeof testApp>>;
let org: Awaited<ReturnType<Awaited<ReturnType<typeof testApp>>["organiser"]>>;
let routes: RouteDef[] = [];

beforeAll(async () => {
  t = await testApp({ "body-limit-bytes": "65536" });
  org = await t.organiser("badinput_org");
  routes = t.routes;
});
afterAll(() => t.cleanup());

const fill = (path: string, value: string) => path.replace(/:[A-Za-z0-9_]+/g, value);

async function expectJson4xx(res: Response, allowed: number[] = []) {
  const text = await res.text();
  if (res.status >= 500 || (res.status < 400 && !allowed.includes(res.status))) {
    throw new Error(`${res.status}: ${text.slice(0, 300)}`);
  }
  if (res.status >= 400) {
    const body = JSON.parse(text);
    expect(typeof body.error.code).toBe("string");
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(typeof body.error.message).toBe("string");
  }
  return res.status;
}

const INVALID_UTF8 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"\xff\xfe"}

describe("bad input on every route", () => {
  test("there are routes to check", () => {
    expect(routes.length).toBeGreaterThan(3);
  });

  test("each route with a body refuses malformed bodies with 4xx JSON", async () => {
    const bodies: Array<[string, BodyInit, Record<string, string>, number[]]> = [
      ["malformed JSON", "{bad json", { "content-type": "application/json" }, [400]],
      ["truncated JSON", '{"a": ', { "content-type": "application/json" }, [400]],
      ["wrong content type", "a=1", { "content-type": "application/x-www-form-urlencoded" }, [415]],
      ["invalid UTF-8", INVALID_UTF8, { "content-type": "application/json" }, [400]],
      ["array", "[]", { "content-type": "application/json" }, [400]],
      ["string", '"text"', { "content-type": "application/json" }, [400]],
      ["number", "42", { "content-type": "application/json" }, [400]],
      ["null", "null", { "content-type": "application/json" }, [400]],
      ["unknown field", '{"__definitely_unknown__": 1}', { "content-type": "application/json" }, [400]],
      ["nested garbage", JSON.stringify({ a: { b: { c: [1, { d: null }] } } }), { "content-type": "application/json" }, [400]],
      ["oversized", JSON.stringify({ x: "a".repeat(70_000) }), { "content-type": "application/json" }, [413]],
    ];
    const failures: string[] = [];
    for (const r of routes.filter((r) => r.body)) {
      for (const [name, body, headers, statuses] of bodies) {
        const res = await org.req(r.method.toUpperCase(), fill(r.path, "1"), body, headers);
        const text = await res.text();
        // The placeholder "1" may itself be refused first: a 404 for an unknown
        // id, or a 400 naming the path parameter (e.g. an enum like :kind).
        const placeholderRefused = name !== "oversized" && (res.status === 404 || (res.status === 400 && text.includes('"message":"path.')));
        if (!statuses.includes(res.status) && !placeholderRefused) failures.push(`${r.method} ${r.path} [${name}] → ${res.status} ${text.slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("wrong types in every declared field get 400", async () => {
    const failures: string[] = [];
    for (const r of routes.filter((r) => r.body)) {
      const shape = (r.body as unknown as { shape?: Record<string, unknown> }).shape ?? {};
      for (const field of Object.keys(shape)) {
        for (const bad of [{}, [], 1e308, -1, true, "x".repeat(10_000), null]) {
          const res = await org.req(r.method.toUpperCase(), fill(r.path, "1"), { [field]: bad });
          try {
            await expectJson4xx(res, []);
          } catch (e) {
            failures.push(`${r.method} ${r.path} {${field}: ${JSON.stringify(bad).slice(0, 20)}} → ${(e as Error).message}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test("routes that need a login answer 401 without or with a forged cookie", async () => {
    const failures: string[] = [];
    for (const r of routes.filter((r) => r.auth === "user" || r.auth === "organiser")) {
      for (const cookie of [null, "gauntlet_session=forged.forged", "gauntlet_session=" + "z".repeat(3000)]) {
        const c = t.client();
        c.cookie = cookie;
        const res = await c.req(r.method.toUpperCase(), fill(r.path, "1"), r.body ? {} : undefined);
        if (res.status !== 401) failures.push(`${r.method} ${r.path} cookie=${cookie?.slice(0, 30)} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("organiser routes refuse players with 403", async () => {
    const player = await t.player("badinput_player");
    const failures: string[] = [];
    for (const r of routes.filter((r) => r.auth === "organiser")) {
      const res = await player.req(r.method.toUpperCase(), fill(r.path, "1"), r.body ? {} : undefined);
      if (res.status !== 403) failures.push(`${r.method} ${r.path} → ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  test("hostile path parameters and query strings never cause a 500", async () => {
    const params = ["0", "-1", "999999999999999999999", "abc", "%FF%FE", "a".repeat(10_000), "..%2F..%2Fetc%2Fpasswd", "%00", "1e5", " "];
    const queries = ["", "?limit=-5", "?limit=abc&offset=1e99", "?status=%FF", "?" + "x=".repeat(500), "?limit=" + "9".repeat(400)];
    const failures: string[] = [];
    for (const r of routes) {
      if (!r.path.includes(":") && !r.query) continue;
      for (const p of r.path.includes(":") ? params : ["1"]) {
        for (const q of r.query ? queries : [""]) {
          const res = await org.req(r.method.toUpperCase(), fill(r.path, p) + q, r.body ? {} : undefined);
          try {
            await expectJson4xx(res, [200, 201, 204]);
          } catch (e) {
            failures.push(`${r.method} ${fill(r.path, p.slice(0, 12))}${q.slice(0, 30)} → ${(e as Error).message}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test("unknown API paths and methods get a JSON 404", async () => {
    for (const [m, p] of [
      ["GET", "/api/v1/nope"],
      ["POST", "/api/v1/me"],
      ["DELETE", "/api/v1/auth/login"],
      ["GET", "/api/v2/anything"],
    ]) {
      const res = await org.req(m, p);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe("not_found");
    }
  });

  test("signup specifics: 10 kB username, control characters, empty strings", async () => {
    const c = t.client("10.77.0.1");
    for (const body of [
      { username: "u".repeat(10_000), password: "a strong passphrase" },
      { username: "bad\u0000name", password: "a strong passphrase" },
      { username: "", password: "a strong passphrase" },
      { username: "fine_name", password: "" },
      { username: "fine_name" },
      { password: "a strong passphrase" },
      { username: "fine_name", password: "a strong passphrase", email: "not-an-email" },
      { username: "fine_name", password: "a strong passphrase", role: "organiser" },
    ]) {
      const r = await c.json("POST", "/api/v1/auth/signup", body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("validation_failed");
    }
    expect(t.s.auth.store.findByKey("fine_name")).toBeUndefined();
  });
});
