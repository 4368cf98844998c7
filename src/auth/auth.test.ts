import { afterEach, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { isCommonPassword, normalizeUsername, usernameProblem } from "./auth.service.ts";

let t: Awaited<ReturnType<typeof testApp>>;
afterEach(() => t?.cleanup());

const PW = "a strong passphrase";

describe("usernames", () => {
  test.each([
    ["Alice", "alice"],
    ["ＡＬＩＣＥ", "alice"], // full-width folds to ASCII under NFKC
    ["  bob  ", "bob"],
    ["Ǆemal", "džemal"], // NFKC splits the digraph before folding
  ])("%p has identity key %p", (raw, key) => {
    expect(normalizeUsername(raw).key).toBe(key);
  });

  test.each([
    ["ab", "must be"],
    ["a".repeat(33), "must be"],
    ["has space", "may contain"],
    ["semi;colon", "may contain"],
  ])("%p is refused", (name, msg) => {
    expect(usernameProblem(normalizeUsername(name).display)).toContain(msg);
  });

  test("names differing only by case or width collide", async () => {
    t = await testApp();
    const a = await t.client().json("POST", "/api/v1/auth/signup", { username: "Marvin", password: PW });
    expect(a.status).toBe(201);
    for (const variant of ["marvin", "MARVIN", "ｍａｒｖｉｎ"]) {
      const b = await t.client().json("POST", "/api/v1/auth/signup", { username: variant, password: PW });
      expect(b.status).toBe(409);
      expect(b.body.error.code).toBe("username_taken");
    }
    // ...and log in as the same account.
    const login = await t.client().json("POST", "/api/v1/auth/login", { username: "ＭＡＲＶＩＮ", password: PW });
    expect(login.status).toBe(200);
    expect(login.body.user.username).toBe("Marvin");
  });
});

describe("passwords", () => {
  test("the most common passwords are refused, ignoring case", () => {
    expect(isCommonPassword("password")).toBe(true);
    expect(isCommonPassword("Password")).toBe(true);
    expect(isCommonPassword("a strong passphrase")).toBe(false);
  });

  test.each([
    ["short", 400, "validation_failed"],
    ["x".repeat(129), 400, "validation_failed"],
    ["12345678", 400, "weak_password"],
    ["iloveyou", 400, "weak_password"],
    ["x".repeat(128), 201, null],
  ])("password %# → %p", async (password, status, code) => {
    t = await testApp();
    const r = await t.client().json("POST", "/api/v1/auth/signup", { username: "pwtester", password });
    expect(r.status).toBe(status);
    if (code) expect(r.body.error.code).toBe(code);
  });

  test("the stored hash is argon2id, never the password", async () => {
    t = await testApp();
    await t.client().json("POST", "/api/v1/auth/signup", { username: "hashy", password: PW });
    const row = t.s.auth.store.findByKey("hashy")!;
    expect(row.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(row.passwordHash).not.toContain(PW);
  });
});

describe("sessions", () => {
  test("signup → me → logout → me is 401; login → me", async () => {
    t = await testApp();
    const c = t.client();
    const s = await c.json("POST", "/api/v1/auth/signup", { username: "flow", password: PW, email: "flow@example.org" });
    expect(s.status).toBe(201);
    expect(s.body.user).toMatchObject({ username: "flow", role: "player", email: "flow@example.org" });
    expect(JSON.stringify(s.body)).not.toContain("password");
    const cookie = s.res.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).not.toContain("Secure"); // plain HTTP here

    expect((await c.json("GET", "/api/v1/me")).body.user.username).toBe("flow");
    expect((await c.json("POST", "/api/v1/auth/logout")).status).toBe(204);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(401);

    const l = await c.json("POST", "/api/v1/auth/login", { username: "flow", password: PW });
    expect(l.status).toBe(200);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(200);
  });

  test("only SHA-256 of the secret is stored", async () => {
    t = await testApp();
    const c = await t.player("stored");
    const token = c.cookie!.split("=")[1];
    const [id, secret] = token.split(".");
    const row = t.s.db.reader.query("SELECT * FROM sessions WHERE id = ?").get(id) as Record<string, unknown>;
    expect(row).toBeTruthy();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(Buffer.from(row.secret_hash as Uint8Array).toString("hex")).toBe(new Bun.CryptoHasher("sha256").update(secret).digest("hex"));
  });

  test("a stolen cookie is useless after logout", async () => {
    t = await testApp();
    const victim = await t.player("victim");
    const thief = t.client("10.9.9.9");
    thief.cookie = victim.cookie;
    expect((await thief.json("GET", "/api/v1/me")).status).toBe(200);
    await victim.json("POST", "/api/v1/auth/logout");
    expect((await thief.json("GET", "/api/v1/me")).status).toBe(401);
  });

  test("login rotates the session: the previous token stops working", async () => {
    t = await testApp();
    const c = await t.player("rotor");
    const before = c.cookie;
    await c.json("POST", "/api/v1/auth/login", { username: "rotor", password: PW });
    expect(c.cookie).not.toBe(before);
    const old = t.client();
    old.cookie = before;
    expect((await old.json("GET", "/api/v1/me")).status).toBe(401);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(200);
  });

  test.each([
    ["missing", null],
    ["garbage", "gauntlet_session=garbage"],
    ["no secret", "gauntlet_session=abc."],
    ["forged secret", "FORGE"],
    ["huge", "gauntlet_session=" + "a".repeat(5000) + ".b"],
    ["unicode", "gauntlet_session=%E2%98%83.%E2%98%83"],
  ])("%s token → 401", async (_name, cookie) => {
    t = await testApp();
    const real = await t.player("realone");
    const c = t.client();
    if (cookie === "FORGE") c.cookie = real.cookie!.replace(/\.[^.]+$/, ".forgedsecretforgedsecretforgedsecret");
    else c.cookie = cookie;
    const r = await c.json("GET", "/api/v1/me");
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthenticated");
  });

  test("sessions slide and expire after the idle TTL", async () => {
    t = await testApp({ "session-ttl-days": "2" });
    const c = await t.player("slider");
    const day = 24 * 3_600_000;
    t.s.clock.advance(1.5 * day);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(200); // slides to now + 2 days
    await t.s.db.flush();
    t.s.clock.advance(1.5 * day);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(200);
    await t.s.db.flush();
    t.s.clock.advance(2 * day + 1);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(401);
  });

  test("a banned user's sessions end and login is refused", async () => {
    t = await testApp();
    const c = await t.player("baddie");
    await t.s.auth.setBanned(c.user.id, true);
    expect((await c.json("GET", "/api/v1/me")).status).toBe(401);
    const l = await t.client().json("POST", "/api/v1/auth/login", { username: "baddie", password: PW });
    expect(l.status).toBe(403);
    expect(l.body.error.code).toBe("banned");
  });
});

describe("login responses and limits", () => {
  test("unknown user and wrong password answer the same", async () => {
    t = await testApp();
    await t.player("known");
    const a = await t.client().json("POST", "/api/v1/auth/login", { username: "known", password: "wrong password!" });
    const b = await t.client().json("POST", "/api/v1/auth/login", { username: "nobody-here", password: "wrong password!" });
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(a.body).toEqual(b.body);
  });

  test("unknown user and wrong password take similar time (dummy hash)", async () => {
    t = await testApp();
    await t.player("timed");
    const time = async (username: string) => {
      const start = performance.now();
      await t.client(`10.1.0.${Math.floor(Math.random() * 250)}`).json("POST", "/api/v1/auth/login", { username, password: "wrong password!" });
      return performance.now() - start;
    };
    await time("nobody"); // warm the dummy hash
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time("timed"));
      unknown.push(await time("nobody" + i));
    }
    const med = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    // Both pay one argon2id verification; without the dummy hash unknown would be ~100x faster.
    expect(med(unknown)).toBeGreaterThan(med(known) * 0.4);
  });

  test("per (account, IP) failures limit that pair only, with Retry-After", async () => {
    t = await testApp({ "login-failures-per-account-ip": "3" });
    await t.player("target");
    const attacker = t.client("10.6.6.6");
    for (let i = 0; i < 3; i++) expect((await attacker.json("POST", "/api/v1/auth/login", { username: "target", password: "nope nope nope" })).status).toBe(401);
    const blocked = await attacker.json("POST", "/api/v1/auth/login", { username: "target", password: PW });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.body.error.code).toBe("rate_limited");
    // The owner, from elsewhere, still gets in; the attacker's IP can still log into other accounts.
    expect((await t.client("10.7.7.7").json("POST", "/api/v1/auth/login", { username: "target", password: PW })).status).toBe(200);
    await t.player("other");
    expect((await attacker.json("POST", "/api/v1/auth/login", { username: "other", password: PW })).status).toBe(200);
  });

  test("per-IP login limit does not affect other IPs", async () => {
    t = await testApp({ "login-per-ip-per-minute": "2" });
    await t.player("ipuser");
    const a = t.client("10.2.2.2");
    await a.json("POST", "/api/v1/auth/login", { username: "ipuser", password: "x wrong x" });
    await a.json("POST", "/api/v1/auth/login", { username: "ipuser", password: "x wrong x" });
    expect((await a.json("POST", "/api/v1/auth/login", { username: "ipuser", password: PW })).status).toBe(429);
    expect((await t.client("10.3.3.3").json("POST", "/api/v1/auth/login", { username: "ipuser", password: PW })).status).toBe(200);
    t.s.clock.advance(60_001);
    expect((await a.json("POST", "/api/v1/auth/login", { username: "ipuser", password: PW })).status).toBe(200);
  });

  test("signups are limited per IP", async () => {
    t = await testApp({ "signup-per-ip-per-hour": "2" });
    const ip = "10.4.4.4";
    expect((await t.client(ip).json("POST", "/api/v1/auth/signup", { username: "signer1", password: PW })).status).toBe(201);
    expect((await t.client(ip).json("POST", "/api/v1/auth/signup", { username: "signer2", password: PW })).status).toBe(201);
    const third = await t.client(ip).json("POST", "/api/v1/auth/signup", { username: "signer3", password: PW });
    expect(third.status).toBe(429);
    expect(third.res.headers.get("retry-after")).toBeTruthy();
    expect((await t.client("10.4.4.5").json("POST", "/api/v1/auth/signup", { username: "signer3", password: PW })).status).toBe(201);
  });

  test("X-Forwarded-For is ignored from untrusted peers", async () => {
    t = await testApp({ "signup-per-ip-per-hour": "1" });
    const c = t.client("10.5.5.5");
    expect((await c.json("POST", "/api/v1/auth/signup", { username: "xffuser1", password: PW }, { "x-forwarded-for": "1.1.1.1" })).status).toBe(201);
    // A spoofed header from the same untrusted peer does not buy a fresh limit.
    expect((await c.json("POST", "/api/v1/auth/signup", { username: "xffuser2", password: PW }, { "x-forwarded-for": "2.2.2.2" })).status).toBe(429);
  });
});

describe("same-origin protection", () => {
  test.each([
    ["cross-site fetch metadata", { "sec-fetch-site": "cross-site", "content-type": "text/plain" }, 403],
    ["foreign Origin", { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" }, 403],
    ["same origin", { origin: "http://localhost", "sec-fetch-site": "same-origin" }, 201],
  ])("%s", async (_name, headers, status) => {
    t = await testApp();
    const body = JSON.stringify({ username: "origin" + status, password: PW });
    const r = await t.client().json("POST", "http://localhost/api/v1/auth/signup", body, { "content-type": "application/json", ...headers });
    expect(r.status).toBe(status);
    if (status === 403) expect(r.body.error.code).toBe("cross_origin");
  });
});
