import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { decodeStdout, encodeReport, REPORT_MAX, runLimits } from "./remote.ts";
import type { RunResult } from "./runner.service.ts";

const ok = (stdout: string, stderr = ""): RunResult => ({ status: "OK", stdout, stderr, exitCode: 0, timeMs: 5, memoryKb: 900 });

describe("remote report encoding", () => {
  test("a small result goes as plain JSON, stderr cut at 64 KiB", () => {
    const body = JSON.parse(encodeReport(ok("42\n", "e".repeat(100_000))));
    expect(body).toMatchObject({ status: "OK", stdout: "42\n", exitCode: 0 });
    expect(body.stdoutGz).toBeUndefined();
    expect(body.stderr.length).toBe(64 * 1024);
  });

  test("a large stdout goes whole, gzipped, and comes back byte for byte", () => {
    const out = "123456789\n".repeat(100_000) + "last";
    const text = encodeReport(ok(out));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(REPORT_MAX);
    const body = JSON.parse(text);
    expect(body.stdout).toBe("");
    expect(decodeStdout(body.stdoutGz, 8 << 20)).toBe(out);
  });

  test("a stdout too large even gzipped is IE, never a cut stdout", () => {
    const noise = Buffer.from(crypto.getRandomValues(new Uint8Array(1_000_000))).toString("base64");
    const body = JSON.parse(encodeReport(ok(noise)));
    expect(body).toMatchObject({ status: "IE", stdout: "" });
    expect(body.stdoutGz).toBeUndefined();
  });

  test("the server refuses a gzip that inflates past the largest output, or garbage", () => {
    const bomb = Buffer.from(gzipSync(Buffer.alloc(9 << 20))).toString("base64");
    expect(() => decodeStdout(bomb, 8 << 20)).toThrow(/stdoutGz/);
    expect(() => decodeStdout("not gzip", 8 << 20)).toThrow(/stdoutGz/);
  });

  test("a run job's limits: only the three numeric limits go to a runner", () => {
    expect(runLimits({ timeMs: 1000, memoryMb: 64, checker: "custom", customChecker: { source: "secret" } })).toEqual({ timeMs: 1000, memoryMb: 64 });
    expect(runLimits({ timeMs: -1, outputBytes: "9" })).toBeUndefined();
    expect(runLimits(undefined)).toBeUndefined();
  });
});
