/**
 * install.sh end to end, into a folder: DESTDIR + --no-systemd touch nothing
 * on the host (no apt-get, useradd, chown, systemctl). Install (--lan), the
 * installed binary runs, re-run = upgrade with a backup first, --uninstall
 * keeps the data, --uninstall --purge removes it. Plus shellcheck and the
 * refusals (unknown flag, unsupported architecture, wrong binary).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
// Each step runs the real binary (argon2, migrations); a busy shared box needs room.
setDefaultTimeout(60_000);
const SCRIPT = join(ROOT, "install.sh");
const BIN = process.env.GAUNTLET_BIN ?? (existsSync(join(ROOT, "dist", "gauntlet")) ? join(ROOT, "dist", "gauntlet") : "");
if (!BIN) console.log("install.test: skipping the install flow: no binary (run `npm run build` or set GAUNTLET_BIN)");
const shellcheck = Bun.which("shellcheck");
if (!shellcheck) console.log("install.test: skipping shellcheck: not installed (apt-get install shellcheck)");
const caddy = Bun.which("caddy");

const tmp = mkdtempSync(join(tmpdir(), "gauntlet-install-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  // A clean environment: nothing from the test runner (GAUNTLET_* settings) leaks into the install.
  const r = Bun.spawnSync(["bash", SCRIPT, ...args], { cwd: tmp, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, ...env } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}
const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

test.skipIf(!shellcheck)("shellcheck install.sh is clean", () => {
  const r = Bun.spawnSync([shellcheck!, SCRIPT], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) console.error(r.stdout.toString());
  expect(r.exitCode).toBe(0);
});

test("structure: strict mode, logic in main called on the last line", () => {
  const text = readFileSync(SCRIPT, "utf8");
  expect(text).toContain("set -euo pipefail");
  expect(text.trimEnd().split("\n").at(-1)).toBe('main "$@"');
  expect(statSync(SCRIPT).mode & 0o111).not.toBe(0);
});

describe("refusals", () => {
  test("--help exits 0 and documents the modes", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    for (const f of ["--domain", "--lan", "--binary", "--uninstall", "--purge", "--no-systemd", "DESTDIR"]) expect(r.out).toContain(f);
  });
  test.each([
    [["--bogus"], 2, "unknown argument"],
    [["--domain", "a b;reverse_proxy evil"], 2, "--domain must be a DNS name"],
    [["--domain", "x.org", "--lan"], 2, "choose one"],
    [["--purge"], 2, "--purge only goes with --uninstall"],
  ] as const)("%p exits %d", (args, code, msg) => {
    const r = run([...args], { DESTDIR: join(tmp, "refused") });
    expect(r.code).toBe(code);
    expect(r.err).toContain(msg);
    expect(existsSync(join(tmp, "refused"))).toBe(false);
  });
  test("an unsupported architecture is refused with a clear message", () => {
    const r = run(["--lan", "--binary", BIN || "/bin/sh"], { DESTDIR: join(tmp, "arch"), GAUNTLET_INSTALL_ARCH: "riscv64" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("unsupported architecture 'riscv64'");
    expect(existsSync(join(tmp, "arch"))).toBe(false);
  });
  test("a file that is not an executable for this machine is refused", () => {
    const fake = join(tmp, "not-a-binary");
    writeFileSync(fake, "#!/bin/sh\necho 1.0\n", { mode: 0o755 });
    const r = run(["--lan", "--binary", fake], { DESTDIR: join(tmp, "fake") });
    expect(r.code).toBe(1);
    expect(r.err).toContain("not a Linux executable");
    expect(existsSync(join(tmp, "fake"))).toBe(false);
  });
  test("a first install needs --domain or --lan", () => {
    if (!BIN) return;
    const r = run(["--binary", BIN], { DESTDIR: join(tmp, "nomode") });
    expect(r.code).toBe(2);
    expect(r.err).toContain("--domain DOMAIN or --lan");
  });
});

describe.skipIf(!BIN)("install into DESTDIR, upgrade, uninstall, purge", () => {
  const dest = join(tmp, "root");
  const bin = join(dest, "usr/local/bin/gauntlet");
  const data = join(dest, "var/lib/gauntlet");
  const unit = join(dest, "etc/systemd/system/gauntlet.service");
  const caddyfile = join(dest, "etc/caddy/Caddyfile");
  const env = { DESTDIR: dest };

  test("install --lan writes the binary, data dir, unit and Caddyfile; migrates; creates the organiser", () => {
    const r = run(["--no-systemd", "--binary", BIN, "--lan"], env);
    if (r.code !== 0) console.error(r.out, r.err);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/one-time password: \S{8,}/);
    expect(r.out).toContain("created organiser admin");

    expect(mode(bin)).toBe("755");
    expect(readFileSync(bin).equals(readFileSync(BIN))).toBe(true);
    expect(mode(data)).toBe("750");
    expect(mode(unit)).toBe("644");
    expect(existsSync(join(data, "gauntlet.db"))).toBe(true);
    // Nothing outside DESTDIR: the installer never touched the host's paths.
    expect(readdirSync(dest).sort()).toEqual(["etc", "usr", "var"]);

    const db = new Database(join(data, "gauntlet.db"), { readonly: true });
    const admin = db.query("select role from users").all() as { role: string }[];
    db.close();
    expect(admin).toEqual([{ role: "organiser" }]);
  });

  test("the installed binary runs", () => {
    const r = Bun.spawnSync([bin, "--version"], { stdout: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("the installed binary serves /readyz on the installed data dir, started outside the repository", async () => {
    // cwd far from node_modules, as under systemd (cwd /): a compiled binary
    // that still require()s a package from disk at run time fails here.
    const proc = Bun.spawn([bin, "serve", "--data", data, "--port", "0", "--host", "127.0.0.1", "--roles", "api,worker,cron"], {
      cwd: tmp,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GAUNTLET_ENV: "production" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      let out = "";
      let url: string | null = null;
      const dec = new TextDecoder();
      const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
      const deadline = Date.now() + 15_000;
      while (!url && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        out += dec.decode(value);
        url = /"msg":"listening","url":"([^"]+)"/.exec(out)?.[1] ?? null;
      }
      if (!url) console.error(out, await new Response(proc.stderr).text());
      expect(url).not.toBeNull();
      const r = await fetch(`${url}/readyz`);
      expect(r.status).toBe(200);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  });

  test("the unit is hardened and runs `gauntlet serve` on /var/lib/gauntlet in production", () => {
    const u = readFileSync(unit, "utf8");
    const directives = u.split("\n").filter((l) => l && !l.startsWith("#"));
    const has = (line: string) => expect(directives).toContain(line);
    for (const l of [
      "ExecStart=/usr/local/bin/gauntlet serve",
      "User=gauntlet",
      "Environment=GAUNTLET_DATA_DIR=/var/lib/gauntlet",
      "Environment=GAUNTLET_ENV=production",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "StateDirectory=gauntlet",
      "ReadWritePaths=/var/lib/gauntlet",
      "LockPersonality=yes",
      "CapabilityBoundingSet=",
      "SystemCallArchitectures=native",
      "ProtectKernelModules=yes",
      "ProtectKernelLogs=yes",
      "ProtectKernelTunables=yes",
      "KillSignal=SIGTERM",
      "Restart=on-failure",
    ])
      has(l);
    expect(directives.some((l) => /^RestrictAddressFamilies=.*AF_INET6/.test(l))).toBe(true);
    expect(directives.some((l) => /^TimeoutStopSec=\d+/.test(l))).toBe(true);
    // Without the runner (the default) no namespaces and no runner role: it needs root and would exit 2.
    has("RestrictNamespaces=yes");
    has("Environment=GAUNTLET_ROLES=api,worker,cron");
    expect(existsSync(join(dest, "etc/systemd/system/gauntlet.service.d/runner.conf"))).toBe(false);
    // Bun's JIT needs W+X memory: MemoryDenyWriteExecute must stay off, with the reason written down.
    expect(directives.some((l) => l.startsWith("MemoryDenyWriteExecute"))).toBe(false);
    expect(u).toMatch(/MemoryDenyWriteExecute[^\n]*\n#[^\n]*JIT|JIT[^\n]*\n[^\n]*MemoryDenyWriteExecute/);
  });

  test("the Caddyfile is the LAN variant for this box's names", () => {
    const c = readFileSync(caddyfile, "utf8");
    expect(c).toMatch(/^\s*tls internal$/m);
    expect(c).toMatch(/^[^#\n]*localhost, 127\.0\.0\.1 \{$/m);
    expect(c).not.toMatch(/^gauntlet\.lan \{/m);
    if (caddy) {
      const v = Bun.spawnSync([caddy, "validate", "--adapter", "caddyfile", "--config", caddyfile], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: tmp } });
      expect(v.exitCode).toBe(0);
    }
  });

  test("re-running upgrades: backs up the database first, keeps the data and the organiser", () => {
    const r = run(["--no-systemd", "--binary", BIN], env);
    if (r.code !== 0) console.error(r.out, r.err);
    expect(r.code).toBe(0);
    expect(r.out).toContain("upgrading");
    expect(r.out).not.toContain("one-time password");
    const backups = readdirSync(join(data, "backups"));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^pre-upgrade-\d{8}T\d{6}Z-/);
    // With a `gauntlet backup` command the backup is its archive (restored and
    // checked here); an older binary without one gets a copy of the db files.
    let dbFile = join(data, "backups", backups[0], "gauntlet.db");
    if (Bun.spawnSync([bin, "backup", "--help"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) {
      expect(backups[0]).toEndWith(".tar.gz");
      const restored = join(tmp, "restored");
      const rs = Bun.spawnSync([bin, "restore", join(data, "backups", backups[0]), "--data", restored], { cwd: tmp, stdout: "pipe", stderr: "pipe" });
      if (rs.exitCode !== 0) console.error(rs.stdout.toString(), rs.stderr.toString());
      expect(rs.exitCode).toBe(0);
      dbFile = join(restored, "gauntlet.db");
    }
    const copy = new Database(dbFile, { readonly: true });
    expect((copy.query("select count(*) as n from users").get() as { n: number }).n).toBe(1);
    expect((copy.query("pragma integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    copy.close();
    // Without --domain/--lan an upgrade leaves the Caddyfile as it was.
    expect(readFileSync(caddyfile, "utf8")).toMatch(/tls internal/);
  });

  test("--uninstall removes the program and keeps the data", () => {
    const r = run(["--uninstall", "--no-systemd"], env);
    expect(r.code).toBe(0);
    expect(existsSync(bin)).toBe(false);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(caddyfile)).toBe(false);
    expect(existsSync(join(data, "gauntlet.db"))).toBe(true);
    expect(r.out).toContain("data kept");
  });

  test("reinstalling over kept data backs it up first and creates no second organiser", () => {
    const r = run(["--no-systemd", "--binary", BIN, "--lan"], env);
    if (r.code !== 0) console.error(r.out, r.err);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("one-time password");
    expect(readdirSync(join(data, "backups"))).toHaveLength(2);
    const db = new Database(join(data, "gauntlet.db"), { readonly: true });
    expect((db.query("select count(*) as n from users").get() as { n: number }).n).toBe(1);
    db.close();
    expect(run(["--uninstall", "--no-systemd"], env).code).toBe(0);
  });

  test("--uninstall --purge removes the data too", () => {
    const r = run(["--uninstall", "--purge", "--no-systemd"], env);
    expect(r.code).toBe(0);
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(dest, "etc/gauntlet"))).toBe(false);
  });
});

test.skipIf(!BIN)("install --domain --runner: the domain Caddyfile with HSTS; the runner drop-in allows bubblewrap's namespaces", () => {
  const dest = join(tmp, "domain");
  const r = run(["--no-systemd", "--binary", BIN, "--domain", "hunt.example.org", "--runner"], { DESTDIR: dest });
  if (r.code !== 0) console.error(r.out, r.err);
  expect(r.code).toBe(0);
  const c = readFileSync(join(dest, "etc/caddy/Caddyfile"), "utf8");
  expect(c).toMatch(/^hunt\.example\.org \{$/m);
  expect(c).toContain("Strict-Transport-Security");
  expect(c).not.toMatch(/^\s*tls internal$/m);
  if (caddy) {
    const v = Bun.spawnSync([caddy, "validate", "--adapter", "caddyfile", "--config", join(dest, "etc/caddy/Caddyfile")], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: tmp } });
    expect(v.exitCode).toBe(0);
  }
  const dropin = join(dest, "etc/systemd/system/gauntlet.service.d/runner.conf");
  const d = readFileSync(dropin, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  expect(d).toContain("Environment=GAUNTLET_ROLES=api,worker,cron,runner");
  expect(d.find((l) => l.startsWith("RestrictNamespaces="))).toMatch(/\buser\b.*\bmnt\b.*\bpid\b.*\bnet\b/);
  expect(d).toContain("CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL");
  expect(d).toContain("Delegate=yes");
  // Kept on upgrade without --runner, removed on uninstall.
  expect(run(["--no-systemd", "--binary", BIN], { DESTDIR: dest }).code).toBe(0);
  expect(existsSync(dropin)).toBe(true);
  expect(run(["--uninstall", "--no-systemd"], { DESTDIR: dest }).code).toBe(0);
  expect(existsSync(dropin)).toBe(false);
  expect(existsSync(join(dest, "etc/systemd/system/gauntlet.service.d"))).toBe(false);
});

test.skipIf(!BIN)("upgrading from a binary without `backup` copies the database files instead", () => {
  const dest = join(tmp, "oldbin");
  expect(run(["--no-systemd", "--binary", BIN, "--lan"], { DESTDIR: dest }).code).toBe(0);
  // Stand-in for an old release: everything works except the backup command.
  const installed = join(dest, "usr/local/bin/gauntlet");
  const real = join(tmp, "gauntlet-real");
  writeFileSync(real, readFileSync(installed), { mode: 0o755 });
  writeFileSync(installed, `#!/bin/sh\n[ "$1" = backup ] && { echo "error: unknown command" >&2; exit 2; }\nexec ${real} "$@"\n`, { mode: 0o755 });
  const r = run(["--no-systemd", "--binary", BIN], { DESTDIR: dest });
  if (r.code !== 0) console.error(r.out, r.err);
  expect(r.code).toBe(0);
  const backups = readdirSync(join(dest, "var/lib/gauntlet/backups"));
  expect(backups).toHaveLength(1);
  expect(backups[0]).toMatch(/^pre-upgrade-\d{8}T\d{6}Z-[^/]+$/);
  expect(backups[0]).not.toEndWith(".tar.gz");
  const copy = new Database(join(dest, "var/lib/gauntlet/backups", backups[0], "gauntlet.db"), { readonly: true });
  expect((copy.query("select count(*) as n from users").get() as { n: number }).n).toBe(1);
  expect((copy.query("pragma integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
  copy.close();
  // The new binary replaced the stand-in.
  expect(readFileSync(installed).equals(readFileSync(BIN))).toBe(true);
});
