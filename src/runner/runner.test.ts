import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { checkExact, checkFloat, checkTokens, parseChecker } from "./judge.ts";
import { frame } from "./languages.ts";
import { silentLogger } from "../lib/log.ts";
import { runnerService } from "./runner.service.ts";
import { SandboxUnavailable } from "./sandbox.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, CLONE_NS_FLAGS, evaluate, SECCOMP, seccompProgram } from "./seccomp.ts";
import { sandboxSkipReason } from "./testing.ts";

describe("checkers", () => {
  test("exact trims trailing spaces per line and trailing blank lines only", () => {
    expect(checkExact("1 2  \n3\t\n\n\n", "1 2\n3")).toBe(true);
    expect(checkExact("1 2\r\n3\r\n", "1 2\n3\n")).toBe(true);
    expect(checkExact(" 1 2\n3", "1 2\n3")).toBe(false);
    expect(checkExact("1  2\n3", "1 2\n3")).toBe(false);
    expect(checkExact("1 2\n\n3", "1 2\n3")).toBe(false);
    expect(checkExact("", "x")).toBe(false);
  });
  test("tokens ignores all whitespace layout", () => {
    expect(checkTokens("1\n2   3", " 1 2\n3 ")).toBe(true);
    expect(checkTokens("1 2", "1 2 3")).toBe(false);
    expect(checkTokens("1.0", "1")).toBe(false);
  });
  test("float accepts absolute or relative error within EPS", () => {
    expect(checkFloat("0.3333333", "0.33333333333", 1e-6)).toBe(true);
    expect(checkFloat("1000000.5", "1000000.0", 1e-6)).toBe(true); // relative
    expect(checkFloat("0.34", "0.33", 1e-6)).toBe(false);
    expect(checkFloat("nan", "1", 1e-6)).toBe(false);
    expect(checkFloat("yes 1.0000001", "yes 1", 1e-6)).toBe(true);
    expect(checkFloat("no 1", "yes 1", 1e-6)).toBe(false);
    expect(checkFloat("1 2", "1", 1e-6)).toBe(false);
  });
  test("checker names", () => {
    expect(parseChecker("float:1e-6")).toEqual({ kind: "float", eps: 1e-6 });
    expect(parseChecker(undefined).kind).toBe("exact");
    expect(() => parseChecker("float:abc")).toThrow();
    expect(() => parseChecker("regex")).toThrow();
  });
});

describe("seccomp program", () => {
  const prog = seccompProgram();
  const { RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, EPERM, ENOSYS, EAFNOSUPPORT, X86_64, AARCH64 } = SECCOMP;
  test("denies the dangerous syscalls on both architectures and allows ordinary ones", () => {
    for (const [arch, t] of [[AUDIT_ARCH_X86_64, X86_64], [AUDIT_ARCH_AARCH64, AARCH64]] as const) {
      for (const name of ["ptrace", "mount", "unshare", "setns", "bpf", "keyctl", "io_uring_setup", "perf_event_open", "init_module", "reboot", "userfaultfd", "chroot", "pivot_root"] as const) {
        expect({ name, r: evaluate(prog, { arch, nr: t[name]! }) }).toEqual({ name, r: RET_ERRNO | EPERM });
      }
      expect(evaluate(prog, { arch, nr: t.clone3! })).toBe(RET_ERRNO | ENOSYS);
      expect(evaluate(prog, { arch, nr: t.clone!, arg0: 0x11 /* SIGCHLD */ })).toBe(RET_ALLOW);
      expect(evaluate(prog, { arch, nr: t.clone!, arg0: 0x10000000 | 0x11 })).toBe(RET_ERRNO | EPERM);
      expect(evaluate(prog, { arch, nr: t.clone!, arg0: CLONE_NS_FLAGS })).toBe(RET_ERRNO | EPERM);
      expect(evaluate(prog, { arch, nr: t.socket!, arg0: 1 })).toBe(RET_ALLOW);
      expect(evaluate(prog, { arch, nr: t.socket!, arg0: 2 })).toBe(RET_ERRNO | EAFNOSUPPORT);
      expect(evaluate(prog, { arch, nr: t.socket!, arg0: 10 })).toBe(RET_ERRNO | EAFNOSUPPORT);
      expect(evaluate(prog, { arch, nr: t.socket!, arg0: 16 })).toBe(RET_ERRNO | EAFNOSUPPORT);
      expect(evaluate(prog, { arch, nr: t.personality!, arg0: 0 })).toBe(RET_ALLOW);
      expect(evaluate(prog, { arch, nr: t.personality!, arg0: 0x0040000 /* ADDR_NO_RANDOMIZE */ })).toBe(RET_ERRNO | EPERM);
    }
    // read(0) / write(1) on x86_64, read(63) on aarch64
    expect(evaluate(prog, { arch: AUDIT_ARCH_X86_64, nr: 0 })).toBe(RET_ALLOW);
    expect(evaluate(prog, { arch: AUDIT_ARCH_X86_64, nr: 1 })).toBe(RET_ALLOW);
    expect(evaluate(prog, { arch: AUDIT_ARCH_AARCH64, nr: 63 })).toBe(RET_ALLOW);
  });
  test("unknown architectures are killed; x32 numbers refused", () => {
    expect(evaluate(prog, { arch: 0x40000003 /* i386 */, nr: 0 })).toBe(RET_KILL_PROCESS);
    expect(evaluate(prog, { arch: AUDIT_ARCH_X86_64, nr: 0x40000000 + 101 })).toBe(RET_ERRNO | ENOSYS);
  });
});

test("a host that cannot sandbox is refused with how to fix it; nothing runs", async () => {
  const r = runnerService({ config: { dataDir: "/nonexistent", roles: ["runner"] } as never, log: silentLogger() }, { binDirs: ["/nonexistent-bin"] });
  let err: unknown;
  await r.start().catch((e) => (err = e));
  expect(err).toBeInstanceOf(SandboxUnavailable);
  expect((err as Error).message).toContain("apt-get install bubblewrap");
  const run = await r.run({ language: "python3", source: "print(1)" }).catch((e) => e);
  expect(run.code).toBe("runner_unavailable");
  expect(run.status).toBe(503);
  expect(r.health()).toMatchObject({ available: false, sandbox: null });
  expect(r.languages().every((l) => !l.available)).toBe(true);
});

test("frame puts the program length on its own line, then the program, then the input", () => {
  const f = new TextDecoder().decode(frame(new TextEncoder().encode("ab\nc"), new TextEncoder().encode("in")));
  expect(f).toBe("4\nab\ncin");
});

const sandbox = sandboxSkipReason("runner API runs") === null;

describe("runner API", () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(async () => {
    await t.s.runner.stop();
    t.cleanup();
  });

  test("running code needs a login", async () => {
    const anon = t.client();
    const r = await anon.json("POST", "/api/v1/run", { language: "python3", source: "print(1)" });
    expect(r.status).toBe(401);
  });

  test("bad input gets 4xx JSON, never a run", async () => {
    const p = await t.player();
    const cases: Array<[unknown, number]> = [
      [{ language: "cobol", source: "x" }, 400],
      [{ language: "python3" }, 400],
      [{ source: "print(1)" }, 400],
      [{ language: "python3", source: "" }, 400],
      [{ language: "python3", source: "print(1)", extra: 1 }, 400],
      [{ language: "python3", source: "x".repeat(70_000) }, 400],
      [{ language: "python3", source: "print(1)", stdin: 5 }, 400],
      [{ language: "python3", source: "x".repeat(1 << 20) }, 413],
      [[1, 2], 400],
    ];
    for (const [body, status] of cases) {
      const r = await p.json("POST", "/api/v1/run", body);
      expect({ body: JSON.stringify(body).slice(0, 60), status: r.status }).toEqual({ body: JSON.stringify(body).slice(0, 60), status });
      expect(typeof r.body.error.code).toBe("string");
    }
    const garbage = await p.json("POST", "/api/v1/run", new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x7b]), { "content-type": "application/json" });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.code).toBe("invalid_utf8");
    const notJson = await p.json("POST", "/api/v1/run", "language=python3", { "content-type": "application/json" });
    expect(notJson.status).toBe(400);
    const form = await p.json("POST", "/api/v1/run", "language=python3", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(415);
    expect(t.s.runner.health().stats.runs).toBe(0);
  });

  test("languages are listed without login", async () => {
    const r = await t.client().json("GET", "/api/v1/runner/languages");
    expect(r.status).toBe(200);
    expect(r.body.languages.map((l: { id: string }) => l.id)).toEqual(["python3", "javascript", "typescript", "c", "cpp"]);
  });

  test("health is for organisers only", async () => {
    const p = await t.player();
    expect((await p.json("GET", "/api/v1/admin/runner")).status).toBe(403);
    const o = await t.organiser();
    const h = await o.json("GET", "/api/v1/admin/runner");
    expect(h.status).toBe(200);
    expect(h.body.slots.total).toBeGreaterThan(0);
  });

  test.skipIf(!sandbox)("a player runs Python and gets stdout, status and usage; runs are rate limited", async () => {
    const p = await t.player();
    const r = await p.json("POST", "/api/v1/run", { language: "python3", source: "import sys\nprint(int(sys.stdin.read()) * 2)\n", stdin: "21\n" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "OK", stdout: "42\n", exitCode: 0 });
    expect(r.body.memoryKb).toBeGreaterThan(0);
    // The response carries no host detail: no uid, no paths of the host.
    expect(JSON.stringify(r.body)).not.toContain("/var/cache");
    expect(Object.keys(r.body).sort()).toEqual(["exitCode", "memoryKb", "status", "stderr", "stdout", "timeMs"]);
    let limited = 0;
    for (let i = 0; i < 35; i++) {
      const x = await p.json("POST", "/api/v1/run", { language: "cobol", source: "x" });
      if (x.status === 429) limited++;
    }
    // Invalid bodies are refused before the limiter counts them.
    expect(limited).toBe(0);
    for (let i = 0; i < 29; i++) await t.s.limiter.hit(`run:user:${p.user.id}`, 30, 60_000);
    const over = await p.json("POST", "/api/v1/run", { language: "python3", source: "print(1)" });
    expect(over.status).toBe(429);
    expect(over.res.headers.get("retry-after")).toBeTruthy();
  }, 30_000);

  test.skipIf(!sandbox)("through the durable queue: a run is a job of kind run whose stored result is the response", async () => {
    t.s.queue.start({ cron: false });
    t.s.runner.enableQueue(t.s.queue);
    try {
      const p = await t.player();
      const r = await p.json("POST", "/api/v1/run", { language: "python3", source: "print('via queue')" });
      expect(r.body).toMatchObject({ status: "OK", stdout: "via queue\n" });
      const jobs = t.s.queue.list({ kind: "run" }).jobs;
      expect(jobs.length).toBe(1);
      const job = t.s.queue.get(jobs[0].id)!;
      expect(job.status).toBe("SUCCEEDED");
      expect(job.result).toEqual(r.body);
      expect(t.s.runner.health().queue).toBe("durable queue (kind run)");
    } finally {
      await t.s.queue.stop(1000);
    }
  }, 30_000);
});
