import { afterEach, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";

let t: Awaited<ReturnType<typeof testApp>>;
afterEach(() => t?.cleanup());

describe("organiser user administration", () => {
  test("search by substring of username or email, case-insensitive, with LIKE wildcards taken literally", async () => {
    t = await testApp();
    const org = await t.organiser("boss");
    await t.player("Alice_1");
    await t.player("alicorn");
    await t.player("bob");
    const r = await org.json("GET", "/api/v1/admin/users?q=ALI");
    expect(r.status).toBe(200);
    expect(r.body.users.map((u: any) => u.username)).toEqual(["Alice_1", "alicorn"]);
    expect(r.body.total).toBe(2);
    // "_" must not act as a single-character wildcard.
    const under = await org.json("GET", "/api/v1/admin/users?q=e_");
    expect(under.body.users.map((u: any) => u.username)).toEqual(["Alice_1"]);
    const all = await org.json("GET", "/api/v1/admin/users?limit=2&offset=1");
    expect(all.body.users.length).toBe(2);
    expect(all.body.total).toBe(4);
    // Never a password hash in the list.
    expect(JSON.stringify(r.body)).not.toContain("argon2");
    expect(JSON.stringify(r.body)).not.toContain("passwordHash");
  });

  test("players cannot use it; anonymous gets 401", async () => {
    t = await testApp();
    const p = await t.player("pleb");
    expect((await p.json("GET", "/api/v1/admin/users")).status).toBe(403);
    expect((await p.json("POST", `/api/v1/admin/users/${p.user.id}/role`, { role: "organiser" })).status).toBe(403);
    expect((await t.client().json("GET", "/api/v1/admin/users")).status).toBe(401);
  });

  test("ban ends the player's sessions and blocks login; unban restores it", async () => {
    t = await testApp();
    const org = await t.organiser("boss");
    const p = await t.player("victim");
    const ban = await org.json("POST", `/api/v1/admin/users/${p.user.id}/ban`);
    expect(ban.status).toBe(200);
    expect(ban.body.user.username).toBe("victim");
    expect((await p.json("GET", "/api/v1/me")).status).toBe(401);
    const login = await t.client().json("POST", "/api/v1/auth/login", { username: "victim", password: "a strong passphrase" });
    expect(login.body.error.code).toBe("banned");
    expect((await org.json("POST", `/api/v1/admin/users/${p.user.id}/unban`)).status).toBe(200);
    expect((await t.client().json("POST", "/api/v1/auth/login", { username: "victim", password: "a strong passphrase" })).status).toBe(200);
  });

  test("role change, and an organiser cannot ban or demote themselves", async () => {
    t = await testApp();
    const org = await t.organiser("boss");
    const p = await t.player("promoted");
    const r = await org.json("POST", `/api/v1/admin/users/${p.user.id}/role`, { role: "organiser" });
    expect(r.body.user.role).toBe("organiser");
    expect((await p.json("GET", "/api/v1/admin/users")).status).toBe(200);
    expect((await org.json("POST", `/api/v1/admin/users/${org.user.id}/ban`)).body.error.code).toBe("conflict");
    expect((await org.json("POST", `/api/v1/admin/users/${org.user.id}/role`, { role: "player" })).body.error.code).toBe("conflict");
  });

  test("password reset signs the user out and the new password works", async () => {
    t = await testApp();
    const org = await t.organiser("boss");
    const p = await t.player("forgetful");
    expect((await org.json("POST", `/api/v1/admin/users/${p.user.id}/password`, { password: "brand new passphrase" })).status).toBe(204);
    expect((await p.json("GET", "/api/v1/me")).status).toBe(401);
    expect((await t.client().json("POST", "/api/v1/auth/login", { username: "forgetful", password: "brand new passphrase" })).status).toBe(200);
    expect((await org.json("POST", `/api/v1/admin/users/${p.user.id}/password`, { password: "short" })).status).toBe(400);
  });

  test.each([
    ["GET", "/api/v1/admin/users?q=" + "x".repeat(101), undefined, 400],
    ["GET", "/api/v1/admin/users?limit=0", undefined, 400],
    ["GET", "/api/v1/admin/users?bogus=1", undefined, 400],
    ["POST", "/api/v1/admin/users/abc/ban", undefined, 400],
    ["POST", "/api/v1/admin/users/-1/ban", undefined, 400],
    ["POST", "/api/v1/admin/users/999999/ban", undefined, 404],
    ["POST", "/api/v1/admin/users/999999/password", { password: "brand new passphrase" }, 404],
    ["POST", "/api/v1/admin/users/1/role", { role: "god" }, 400],
    ["POST", "/api/v1/admin/users/1/role", { role: "player", extra: 1 }, 400],
    ["POST", "/api/v1/admin/users/1/ban", { extra: 1 }, 400],
  ])("%s %s → %d", async (method, path, body, status) => {
    t = await testApp();
    const org = await t.organiser("boss");
    const r = await org.json(method, path, body);
    expect(r.status).toBe(status);
    expect(typeof r.body.error.message).toBe("string");
  });
});
