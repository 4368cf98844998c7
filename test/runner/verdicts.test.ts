/**
 * A table of small programs per language and the verdict each must get
 * (AC, WA, TLE, MLE, RE, OLE, CE), judged by the real sandbox.
 * Skips (with the reason printed) only when the host cannot sandbox.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../src/lib/log.ts";
import { judge } from "../../src/runner/judge.ts";
import { runnerService, type RunnerService } from "../../src/runner/runner.service.ts";
import { sandboxSkipReason, TEST_RUNNER_CACHE } from "../../src/runner/testing.ts";

const cacheDir = TEST_RUNNER_CACHE;
const skipReason = sandboxSkipReason("runner verdict table");

/** Small programs per language and the verdict each must get. */
const TABLE: Record<string, Partial<Record<"AC" | "WA" | "TLE" | "MLE" | "RE" | "OLE" | "CE", string>>> = {
  python3: {
    AC: "a, b = map(int, input().split())\nprint(a + b)\n",
    WA: "print(42)\n",
    TLE: "while True:\n    pass\n",
    MLE: "x = []\nwhile True:\n    x.append(bytearray(1 << 20))\n",
    RE: "raise SystemExit(3)\n",
    OLE: "while True:\n    print('x' * 4096)\n",
  },
  javascript: {
    AC: 'const [a, b] = require("fs").readFileSync(0, "utf8").trim().split(" ").map(Number);\nconsole.log(a + b);\n',
    WA: "console.log(42);\n",
    TLE: "for (;;) {}\n",
    MLE: "const x = [];\nfor (;;) x.push(new Uint8Array(1 << 20).fill(1));\n",
    RE: 'throw new Error("boom");\n',
    OLE: 'const s = "x".repeat(4096);\nfor (;;) process.stdout.write(s);\n',
  },
  typescript: {
    AC: 'const [a, b]: number[] = require("fs").readFileSync(0, "utf8").trim().split(" ").map(Number);\nconsole.log(a + b);\n',
    WA: "const n: number = 42;\nconsole.log(n);\n",
    TLE: "while (true) {}\n",
    RE: "process.exit(2);\n",
  },
  c: {
    AC: '#include <stdio.h>\nint main(void){int a,b;scanf("%d %d",&a,&b);printf("%d\\n",a+b);return 0;}\n',
    WA: '#include <stdio.h>\nint main(void){puts("42");return 0;}\n',
    TLE: "int main(void){volatile int x=0;for(;;)x++;}\n",
    MLE: '#include <stdlib.h>\n#include <string.h>\nint main(void){for(;;){char*p=malloc(1<<20);memset(p,1,1<<20);}}\n',
    RE: "int main(void){int *p=0;return *p;}\n",
    OLE: '#include <stdio.h>\nint main(void){for(;;)puts("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");}\n',
    CE: "int main(void){ this is not C }\n",
  },
  cpp: {
    AC: "#include <bits/stdc++.h>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<\"\\n\";}\n",
    WA: "#include <bits/stdc++.h>\nint main(){std::cout<<42<<\"\\n\";}\n",
    TLE: "#include <bits/stdc++.h>\nint main(){volatile long x=0;for(;;)x++;}\n",
    MLE: "#include <bits/stdc++.h>\nint main(){std::vector<std::vector<char>> v;for(;;)v.emplace_back(1<<20,'x');}\n",
    RE: "#include <bits/stdc++.h>\nint main(){std::vector<int> v;return v.at(5);}\n",
    CE: "#include <bits/stdc++.h>\nint main(){ std::vector<int> v = 5; }\n",
  },
};

describe.skipIf(skipReason !== null)("runner: verdict table", () => {
  let r: RunnerService;
  beforeAll(async () => {
    r = runnerService({ config: { dataDir: "/nonexistent" } as never, log: createLogger("silent") }, { cacheDir, warm: { python3: 1, javascript: 1, typescript: 1 } });
    await r.start();
  });
  afterAll(async () => {
    await r?.stop();
  });
  for (const [lang, rows] of Object.entries(TABLE)) {
    for (const [want, source] of Object.entries(rows)) {
      test(`${lang} ${want}`, async () => {
        const res = await judge(r, { language: lang, source }, [{ input: "2 3\n", expected: "5\n" }], { timeMs: 700, memoryMb: 96, outputBytes: 64 << 10 });
        expect({ verdict: res.verdict, out: res.compileOutput ? "ce" : "" }).toEqual({ verdict: want as never, out: want === "CE" ? "ce" : "" });
      }, 30_000);
    }
  }
});

describe.skipIf(skipReason !== null)("runner: checkers in the sandbox", () => {
  let r: RunnerService;
  beforeAll(async () => {
    r = runnerService({ config: { dataDir: "/nonexistent" } as never, log: createLogger("silent") }, { cacheDir });
    await r.start();
  });
  afterAll(async () => {
    await r?.stop();
  });
  const tests = [
    { input: "1 2\n", expected: "3\n" },
    { input: "10 20\n", expected: "30\n" },
  ];
  // Accepts any output whose value is the sum of the input (e.g. "3.0"), the Kattis way: 42 = AC, 43 = WA.
  const checker = { language: "python3", source: 'import json, sys\nd = json.load(sys.stdin)\na, b = map(int, d["input"].split())\ntry:\n    ok = abs(float(d["output"]) - (a + b)) < 1e-9\nexcept ValueError:\n    ok = False\nsys.exit(42 if ok else 43)\n' };

  test("custom checker: AC when it accepts, WA when it refuses, per test; submission verdict is the first non-AC", async () => {
    const ok = await judge(r, { language: "python3", source: "a, b = map(int, input().split())\nprint(float(a + b))\n" }, tests, { checker: "custom", customChecker: checker });
    expect(ok.verdict).toBe("AC");
    expect(ok.passed).toBe(2);
    const half = await judge(r, { language: "python3", source: "a, b = map(int, input().split())\nprint(3)\n" }, tests, { checker: "custom", customChecker: checker });
    expect(half.tests.map((t) => t.verdict)).toEqual(["AC", "WA"]);
    expect(half.verdict).toBe("WA");
    expect(half.passed).toBe(1);
  }, 30_000);

  test("float checker in a real run; exact refuses the same output", async () => {
    const src = "a, b = map(int, input().split())\nprint(f'{(a + b) / 3:.9f}')\n";
    const t = [{ input: "1 0\n", expected: "0.333333333333\n" }];
    expect((await judge(r, { language: "python3", source: src }, t, { checker: "float:1e-6" })).verdict).toBe("AC");
    expect((await judge(r, { language: "python3", source: src }, t, { checker: "exact" })).verdict).toBe("WA");
  }, 30_000);

  test("a checker that fails to compile makes every test IE, never WA or AC", async () => {
    const res = await judge(r, { language: "python3", source: "print(3)\n" }, tests.slice(0, 1), { checker: "custom", customChecker: { language: "c", source: "not C" } });
    expect(res.verdict).toBe("IE");
  }, 30_000);
});

describe.skipIf(skipReason !== null)("runner: output caps", () => {
  let r: RunnerService;
  beforeAll(async () => {
    r = runnerService({ config: { dataDir: "/nonexistent" } as never, log: createLogger("silent") }, { cacheDir, warm: { python3: 1 } });
    await r.start();
  });
  afterAll(async () => {
    await r?.stop();
  });
  test("a flood of stderr is cut at the cap but is not a verdict", async () => {
    const res = await r.run({ language: "python3", source: "import sys\nfor i in range(20000):\n    sys.stderr.write('debug line %d\\n' % i)\nprint('done')\n", limits: { outputBytes: 10_000 } });
    expect(res.status).toBe("OK");
    expect(res.stdout).toBe("done\n");
    expect(res.stderr.length).toBe(10_000);
  }, 30_000);
});
