/**
 * Every Caddyfile variant is accepted by the real `caddy validate` (Debian's
 * caddy, 2.6), filled in the way install.sh fills it, and says what the
 * deployment relies on: proxy to 127.0.0.1:3000 with /readyz health checks,
 * compression, JSON access log, security headers; HSTS only on the domain.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CADDY, caddyEnv } from "../helpers/caddy.ts";

const ROOT = join(import.meta.dir, "..", "..");
const caddy = CADDY;
if (!caddy) console.log("caddy.test: skipping `caddy validate` checks: caddy is not installed (apt-get install caddy)");

// The same substitutions as install_caddyfile in install.sh.
const VARIANTS = [
  {
    name: "domain (Caddyfile, --domain hunt.example.org)",
    text: () => readFileSync(join(ROOT, "Caddyfile"), "utf8").replace(/^gauntlet\.example\.com \{/m, "hunt.example.org {"),
    site: "hunt.example.org",
    hsts: true,
  },
  {
    name: "LAN (deploy/Caddyfile.lan, --lan)",
    text: () => readFileSync(join(ROOT, "deploy", "Caddyfile.lan"), "utf8").replace(/^gauntlet\.lan \{/m, "box, box.local, 192.168.1.20, localhost, 127.0.0.1 {"),
    site: "box.local",
    hsts: false,
  },
];

function validate(text: string) {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-caddy-"));
  try {
    const file = join(dir, "Caddyfile");
    writeFileSync(file, text);
    const r = Bun.spawnSync([caddy!, "validate", "--adapter", "caddyfile", "--config", file], { stdout: "pipe", stderr: "pipe", env: caddyEnv(dir) });
    return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(VARIANTS)("$name", (v) => {
  const full = v.text();
  // Directives only: the comments mention the other variant's features.
  const text = full.replace(/^\s*#.*$/gm, "");

  test("placeholder was filled", () => {
    expect(text).toContain(v.site);
    expect(text).not.toMatch(/^gauntlet\.(example\.com|lan) \{/m);
  });

  test("proxies HTTP and websockets to the app on loopback with /readyz health checks", () => {
    expect(text).toMatch(/^\s*reverse_proxy 127\.0\.0\.1:3000 \{/m);
    expect(text).toMatch(/^\s*health_uri \/readyz$/m);
    // No header_up rewriting X-Forwarded-For: Caddy's own (client address only) is what the app trusts.
    expect(text).not.toMatch(/header_up\s+X-Forwarded-For/i);
    expect(text).not.toMatch(/trusted_proxies/);
  });

  test("compression, JSON access log and security headers", () => {
    expect(text).toMatch(/^\s*encode zstd gzip$/m);
    expect(text).toMatch(/^\s*format json$/m);
    for (const h of ["X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Permissions-Policy"]) expect(text).toContain(h);
    expect(text).toMatch(/^\s*-Server$/m);
  });

  test(v.hsts ? "sends HSTS (public certificate)" : "sends no HSTS and uses Caddy's local CA", () => {
    if (v.hsts) {
      expect(text).toMatch(/Strict-Transport-Security "max-age=\d+/);
      expect(text).not.toMatch(/tls internal/);
    } else {
      expect(text).not.toMatch(/Strict-Transport-Security/);
      expect(text).toMatch(/^\s*tls internal$/m);
    }
  });

  test.skipIf(!caddy)("caddy validate accepts it", () => {
    const r = validate(full);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Valid configuration");
  });
});

test.skipIf(!caddy)("caddy validate rejects a broken Caddyfile (the check can fail)", () => {
  const broken = VARIANTS[0].text().replace("encode zstd gzip", "encode zstd gzip\n\tno_such_directive on");
  const r = validate(broken);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("no_such_directive");
});
