import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../main.ts";
import { sameListener, successorCommand } from "./handoff.ts";
import { isRunning, pidFilePath, processStartTicks, readPidFile, removePidFileIfOurs, writePidFile, type PidRecord } from "./pidfile.ts";
import { enableMigrateReq, restoreBinary, swapBinary, upgrade, UpgradeRefused, verifyBinary } from "./upgrade.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "gauntlet-upgrade-"));
  dirs.push(d);
  return d;
};
const file = (dir: string, name: string, text: string, mode = 0o755) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};
/** A stand-in that answers --version and --help like gauntlet does (the flow, not the server, is under test here). */
const fakeGauntlet = (dir: string, name = "gauntlet-new", version = "0.2.0") =>
  file(dir, name, `#!/bin/sh\ncase "$1" in\n  --version) echo ${version} ;;\n  --help) printf 'gauntlet ${version}: test\\n\\nCommands:\\n  serve      Run\\n  upgrade    Install\\n' ;;\n  *) exit 1 ;;\nesac\n`);

const record = (over: Partial<PidRecord> = {}): PidRecord => ({
  pid: process.pid,
  startTicks: processStartTicks(process.pid),
  host: "127.0.0.1",
  port: 3000,
  url: "http://127.0.0.1:3000",
  exe: "/usr/local/bin/gauntlet",
  compiled: true,
  version: "0.1.0",
  ...over,
});

describe("upgrade refuses what is not a Gauntlet binary (exit 2, nothing changed)", () => {
  const cases: Array<[string, (d: string) => string, RegExp]> = [
    ["a missing file", (d) => join(d, "nope"), /no such file/],
    ["a directory", (d) => (mkdirSync(join(d, "dir")), join(d, "dir")), /not a file/],
    ["a file without the executable bit", (d) => file(d, "plain", "hello", 0o644), /not executable/],
    ["an executable text file that is no program", (d) => file(d, "text", "just words\n"), /not a Gauntlet binary/],
    ["another program", (d) => file(d, "other", "#!/bin/sh\necho hello\n"), /not a Gauntlet binary: `--version` printed "hello"/],
    ["a program that fails", () => "/bin/false", /not a Gauntlet binary: `--version` exited 1/],
    ["a version printer that is not gauntlet", (d) => file(d, "ver", "#!/bin/sh\necho 1.2.3\n"), /`--help` does not describe gauntlet/],
    ["an older gauntlet without the hand-over", (d) => file(d, "old", "#!/bin/sh\n[ \"$1\" = --version ] && echo 0.0.9 && exit 0\nprintf 'gauntlet 0.0.9: x\\n  serve  Run\\n'\n"), /has no `upgrade` command/],
  ];
  test.each(cases)("%s", async (_name, make, message) => {
    const d = tmp();
    const installed = file(d, "installed", "old binary");
    const path = make(d);
    await expect(verifyBinary(path)).rejects.toThrow(message);
    await expect(upgrade({ binary: path, installPath: installed, dataDir: d, out: () => {} })).rejects.toBeInstanceOf(UpgradeRefused);
    expect(readFileSync(installed, "utf8")).toBe("old binary");
    expect(existsSync(`${installed}.previous`)).toBe(false);
  });

  test("through the command line: exit 2 and the reason on stderr", async () => {
    const d = tmp();
    const errors: string[] = [];
    const spy = spyOn(console, "error").mockImplementation((...a: unknown[]) => void errors.push(a.join(" ")));
    try {
      expect(await main(["upgrade", "--binary", join(d, "missing"), "--data", d])).toBe(2);
      expect(await main(["upgrade", "--binary", file(d, "other", "#!/bin/sh\necho hi\n"), "--data", d])).toBe(2);
      expect(await main(["upgrade", "--data", d])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors[0]).toBe(`error: --binary ${join(d, "missing")}: no such file`);
    expect(errors[1]).toContain("is not a Gauntlet binary");
    expect(errors[2]).toContain("usage: gauntlet upgrade --binary NEW");
  });

  test("a gauntlet binary passes and reports its version", async () => {
    expect(await verifyBinary(fakeGauntlet(tmp()))).toEqual({ version: "0.2.0" });
  });
});

describe("swapping the binary", () => {
  test("renames the new one into place and keeps the old one as .previous (same inode: a hard link, not a copy)", () => {
    const d = tmp();
    const dest = file(d, "gauntlet", "v1");
    const oldIno = statSync(dest).ino;
    const src = file(d, "incoming", "v2", 0o644);
    expect(swapBinary(src, dest)).toEqual({ swapped: true, previous: `${dest}.previous` });
    expect(readFileSync(dest, "utf8")).toBe("v2");
    expect(statSync(dest).mode & 0o777).toBe(0o755);
    expect(readFileSync(`${dest}.previous`, "utf8")).toBe("v1");
    expect(statSync(`${dest}.previous`).ino).toBe(oldIno);
    expect(readFileSync(src, "utf8")).toBe("v2");
    // No temporary file is left behind.
    expect(readdirSync(d).sort()).toEqual(["gauntlet", "gauntlet.previous", "incoming"]);

    restoreBinary(dest);
    expect(readFileSync(dest, "utf8")).toBe("v1");
    expect(readdirSync(d).sort()).toEqual(["gauntlet", "gauntlet.previous", "incoming"]);
  });

  test("rolling back with --binary X.previous swaps the two", () => {
    const d = tmp();
    const dest = file(d, "gauntlet", "v1");
    swapBinary(file(d, "incoming", "v2"), dest);
    swapBinary(`${dest}.previous`, dest);
    expect(readFileSync(dest, "utf8")).toBe("v1");
    expect(readFileSync(`${dest}.previous`, "utf8")).toBe("v2");
  });

  test("the same bytes again (a second instance upgraded to the same binary) change nothing: .previous stays the real previous", () => {
    const d = tmp();
    const dest = file(d, "gauntlet", "v1");
    swapBinary(file(d, "incoming", "v2"), dest);
    expect(swapBinary(file(d, "incoming-again", "v2"), dest)).toEqual({ swapped: false, previous: null });
    expect(readFileSync(`${dest}.previous`, "utf8")).toBe("v1");
  });

  test("a first install has no .previous; the same file is not swapped", () => {
    const d = tmp();
    const dest = join(d, "gauntlet");
    expect(swapBinary(file(d, "incoming", "v1"), dest)).toEqual({ swapped: true, previous: null });
    expect(swapBinary(dest, dest)).toEqual({ swapped: false, previous: null });
    expect(existsSync(`${dest}.previous`)).toBe(false);
  });
});

describe("upgrade without a running server", () => {
  test("installs the binary and says there is nothing to hand over (exit 0)", async () => {
    const d = tmp();
    const installed = file(d, "gauntlet", "old");
    const lines: string[] = [];
    expect(await upgrade({ binary: fakeGauntlet(d), installPath: installed, dataDir: d, out: (l) => lines.push(l) })).toBe(0);
    expect(readFileSync(installed, "utf8")).toContain("echo 0.2.0");
    expect(readFileSync(`${installed}.previous`, "utf8")).toBe("old");
    expect(lines.join("\n")).toContain("no server is running");
  });

  test("a stale pid file (dead process) counts as no server", async () => {
    const d = tmp();
    writePidFile(d, record({ pid: 2 ** 22 + 17, startTicks: 1 }));
    const installed = file(d, "gauntlet", "old");
    expect(await upgrade({ binary: fakeGauntlet(d), installPath: installed, dataDir: d, out: () => {} })).toBe(0);
  });
});

test("--port picks the instance: a live one on another port of the same data dir is left alone", async () => {
  const d = tmp();
  // The live instance (this test process) on 3001; nothing on 3002.
  writePidFile(d, record({ port: 3001, exe: "/opt/elsewhere/gauntlet" }));
  const installed = file(d, "gauntlet", "old");
  const lines: string[] = [];
  expect(await upgrade({ binary: fakeGauntlet(d), installPath: installed, dataDir: d, port: 3002, out: (l) => lines.push(l) })).toBe(0);
  expect(lines.join("\n")).toContain(`no live process in ${join(d, "gauntlet.3002.pid")}`);
  // Without --port the newest server is the one: here it runs another executable, so the same call is refused.
  await expect(upgrade({ binary: fakeGauntlet(d), installPath: installed, dataDir: d, out: () => {} })).rejects.toThrow(/runs \/opt\/elsewhere\/gauntlet/);
});

describe("upgrade refuses a server it cannot upgrade", () => {
  test.each([
    ["running from source", { compiled: false, exe: "/usr/bin/bun" }, {}, /runs from source/],
    ["running another executable than --install-path", { exe: "/opt/elsewhere/gauntlet" }, { installPath: "/tmp/x/gauntlet" }, /runs \/opt\/elsewhere\/gauntlet; replacing \/tmp\/x\/gauntlet would not upgrade it/],
  ] as const)("%s", async (_n, rec, extra, message) => {
    const d = tmp();
    writePidFile(d, record(rec));
    await expect(upgrade({ binary: fakeGauntlet(d), dataDir: d, out: () => {}, ...extra })).rejects.toThrow(message);
  });
});

describe("gauntlet.pid", () => {
  test("line 1 is the pid alone (systemd's PIDFile= reads it); line 2 the details", () => {
    const d = tmp();
    writePidFile(d, record());
    const [first, second, rest] = readFileSync(pidFilePath(d), "utf8").split("\n");
    expect(first).toBe(String(process.pid));
    expect(JSON.parse(second).port).toBe(3000);
    expect(rest).toBe("");
    expect(readPidFile(d)).toEqual(record());
  });

  test.each([["", null], ["abc\n{}", null], ["12\nnot json", null], ['12\n{"pid":13}', null]])("unreadable %p → null", (text) => {
    const d = tmp();
    writeFileSync(pidFilePath(d), text);
    expect(readPidFile(d)).toBeNull();
  });

  test("a clean stop removes only its own record", () => {
    const d = tmp();
    writePidFile(d, record({ pid: 4242 }));
    removePidFileIfOurs(d, process.pid, 3000);
    expect(readPidFile(d)?.pid).toBe(4242);
    expect(readPidFile(d, 3000)?.pid).toBe(4242);
    removePidFileIfOurs(d, 4242, 3000);
    expect(readdirSync(d)).toEqual([]);
  });

  test("several instances on one data dir: one file per port, gauntlet.pid names the newest", () => {
    const d = tmp();
    writePidFile(d, record({ pid: 11, port: 3001 }));
    writePidFile(d, record({ pid: 12, port: 3002 }));
    expect(readdirSync(d).sort()).toEqual(["gauntlet.3001.pid", "gauntlet.3002.pid", "gauntlet.pid"]);
    expect([readPidFile(d)?.pid, readPidFile(d, 3001)?.pid, readPidFile(d, 3002)?.pid]).toEqual([12, 11, 12]);
    // The older instance stops: the newest's records stay.
    removePidFileIfOurs(d, 11, 3001);
    expect(readdirSync(d).sort()).toEqual(["gauntlet.3002.pid", "gauntlet.pid"]);
  });

  test("isRunning: this process yes; a dead pid or a recycled one (other start time) no", () => {
    expect(isRunning(record())).toBe(true);
    expect(isRunning(record({ pid: 2 ** 22 + 17 }))).toBe(false);
    expect(isRunning(record({ startTicks: (processStartTicks(process.pid) ?? 0) + 1 }))).toBe(false);
  });

  test("sameListener: another live process on the same host and port only", () => {
    const other = record({ pid: process.ppid, startTicks: processStartTicks(process.ppid) });
    expect(sameListener(other, "127.0.0.1", 3000)).toBe(true);
    expect(sameListener(other, "127.0.0.1", 3001)).toBe(false);
    expect(sameListener(other, "0.0.0.0", 3000)).toBe(false);
    expect(sameListener(record(), "127.0.0.1", 3000)).toBe(false); // ourselves
    expect(sameListener(null, "127.0.0.1", 3000)).toBe(false);
  });
});

describe("the successor's command line", () => {
  test.each([
    ["compiled", ["bun", "/$bunfs/root/gauntlet", "serve", "--data", "/d"], true, ["/usr/local/bin/gauntlet", "serve", "--data", "/d", "--port", "3000"]],
    ["from source", ["/usr/bin/bun", "/src/main.ts", "serve", "--demo"], false, ["/usr/local/bin/gauntlet", "/src/main.ts", "serve", "--demo", "--port", "3000"]],
    ["port 0 becomes the bound port, given once", ["bun", "/$bunfs/root/g", "serve", "--port", "0", "--port=7", "--host", "h"], true, ["/usr/local/bin/gauntlet", "serve", "--host", "h", "--port", "3000"]],
    ["flags go before --", ["bun", "/$bunfs/root/g", "serve", "--", "x"], true, ["/usr/local/bin/gauntlet", "serve", "--port", "3000", "--", "x"]],
  ] as const)("%s", (_n, argv, compiled, want) => {
    expect(successorCommand(3000, [...argv], compiled, "/usr/local/bin/gauntlet")).toEqual([...want]);
  });
});

describe("net.ipv4.tcp_migrate_req", () => {
  test("0 is set to 1; 1 stays; missing or unwritable is reported, not thrown", () => {
    const d = tmp();
    const p = file(d, "migrate", "0\n", 0o644);
    expect(enableMigrateReq(p)).toEqual({ ok: true, message: "set net.ipv4.tcp_migrate_req=1" });
    expect(readFileSync(p, "utf8").trim()).toBe("1");
    expect(enableMigrateReq(p)).toEqual({ ok: true, message: "net.ipv4.tcp_migrate_req is 1" });
    expect(enableMigrateReq(join(d, "absent"))).toMatchObject({ ok: false, message: expect.stringContaining("not available") });
    // A /proc file nobody may write, root included.
    expect(enableMigrateReq("/proc/version")).toMatchObject({ ok: false, message: expect.stringContaining("could not be set") });
  });
});
