/**
 * The languages the runner offers. Every stub reads one header line with the
 * program's length, then exactly that many bytes (the source or a compiled
 * binary), then leaves the rest of stdin to the program as its input. The
 * stubs read byte-exact (os.read / readSync / sh `read` + `head -c`), so not
 * one byte of the test input is swallowed.
 *
 * Python and JavaScript stubs are the interpreter itself, already started in
 * the warm pool: the program is compiled and run in that process, so a run
 * costs no interpreter start-up. C and C++ compile in one sandbox (the binary
 * comes back over stdout) and run in another.
 */
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { SandboxSpec } from "./sandbox.ts";

export type LanguageId = "python3" | "javascript" | "typescript" | "c" | "cpp";
export const LANGUAGE_IDS: readonly LanguageId[] = ["python3", "javascript", "typescript", "c", "cpp"];

export interface Language {
  id: LanguageId;
  name: string;
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
  /** Compile sandbox: reads the source, writes the binary to stdout, exits 1 on a compile error. */
  compile?: SandboxSpec;
  run: SandboxSpec;
  /** A hello world, for health checks and the benchmark. */
  hello: string;
}

const PY_STUB = `import os,sys
h=b''
while not h.endswith(b'\\n'):
    c=os.read(0,1)
    if not c: os._exit(120)
    h+=c
n=int(h);s=bytearray()
while len(s)<n:
    c=os.read(0,n-len(s))
    if not c: os._exit(120)
    s+=c
del h,c,n
sys.argv=['main.py']
__g={'__name__':'__main__','__file__':'main.py','__builtins__':__builtins__}
exec(compile(bytes(s),'main.py','exec'),__g)
`;

const jsStub = (file: string) => `const fs=require("fs");const b=Buffer.alloc(1);let h="";
const rd=(buf,o,n)=>{for(;;){try{return fs.readSync(0,buf,o,n,null)}catch(e){if(e.code!=="EAGAIN")throw e}}};
for(;;){if(!rd(b,0,1))process.exit(120);if(b[0]===10)break;h+=String.fromCharCode(b[0])}
const n=Number(h),s=Buffer.alloc(n);let o=0;
while(o<n){const r=rd(s,o,n-o);if(!r)process.exit(120);o+=r}
fs.writeFileSync(${JSON.stringify(file)},s);
process.argv=[process.argv[0],${JSON.stringify(file)}];
await import(${JSON.stringify(file)});
`;

// $1 = output path, the rest = the compiler argv. The binary goes to stdout, diagnostics to stderr.
const COMPILE_STUB = `read n || exit 120
src="$1"; shift
head -c "$n" > "$src" || exit 120
"$@" 1>&2 || exit 1
exec cat /tmp/a.out`;

const RUN_BINARY_STUB = `read n || exit 120
head -c "$n" > /tmp/a.out || exit 120
chmod 700 /tmp/a.out
exec /tmp/a.out`;

export const CXX_FLAGS = ["-O2", "-pipe", "-std=gnu++17"];
export const C_FLAGS = ["-O2", "-pipe", "-std=gnu17"];

/** Where libstdc++ keeps bits/stdc++.h (Debian: /usr/include/<triplet>/c++/<ver>/bits). */
function findStdcxxHeader(): string | null {
  for (const pattern of ["*/c++/*/bits/stdc++.h", "c++/*/bits/stdc++.h"]) {
    const found = [...new Bun.Glob(pattern).scanSync({ cwd: "/usr/include", absolute: true })].sort();
    if (found.length) return found[found.length - 1];
  }
  return null;
}

/**
 * Builds the precompiled bits/stdc++.h once into the cache (a trusted system
 * header, so it is compiled on the host; the cache is bound read-only into
 * compile sandboxes at /pch). Returns the directory or null.
 */
export async function buildPch(cacheDir: string): Promise<string | null> {
  const dir = join(cacheDir, "pch");
  const out = join(dir, "bits", "stdc++.h.gch");
  if (existsSync(out)) return dir;
  const header = findStdcxxHeader();
  if (!header || !existsSync("/usr/bin/g++")) return null;
  mkdirSync(join(dir, "bits"), { recursive: true, mode: 0o755 });
  const tmp = `${out}.${process.pid}.tmp`;
  const p = Bun.spawn(["/usr/bin/g++", ...CXX_FLAGS, "-x", "c++-header", header, "-o", tmp], { stdout: "ignore", stderr: "pipe", env: { PATH: "/usr/bin:/bin" } });
  if ((await p.exited) !== 0) return null;
  renameSync(tmp, out);
  return dir;
}

export interface LanguageOptions {
  /** The bun (or gauntlet) executable that runs JS/TS with BUN_BE_BUN=1. */
  bunPath?: string;
  pchDir?: string | null;
}

export function languages(opts: LanguageOptions = {}): Language[] {
  const bun = opts.bunPath ?? process.execPath;
  const py = "/usr/bin/python3";
  const gcc = "/usr/bin/gcc";
  const gxx = "/usr/bin/g++";
  const bunSpec = (file: string): SandboxSpec => ({
    argv: ["/opt/bun/bun", "-e", jsStub(file)],
    binds: [[bun, "/opt/bun/bun"]],
    env: { BUN_BE_BUN: "1", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", NO_COLOR: "1" },
  });
  const runBinary: SandboxSpec = { argv: ["/bin/sh", "-c", RUN_BINARY_STUB] };
  const pchBind: Array<[string, string]> = opts.pchDir ? [[opts.pchDir, "/pch"]] : [];
  const bunOk = existsSync(bun);
  return [
    {
      id: "python3",
      name: "Python 3",
      available: existsSync(py),
      reason: existsSync(py) ? undefined : `${py} not found (apt-get install python3)`,
      run: { argv: [py, "-S", "-c", PY_STUB] },
      hello: 'print("hello")\n',
    },
    {
      id: "javascript",
      name: "JavaScript (Bun)",
      available: bunOk,
      reason: bunOk ? undefined : `${bun} not found`,
      run: bunSpec("/tmp/main.js"),
      hello: 'console.log("hello");\n',
    },
    {
      id: "typescript",
      name: "TypeScript (Bun)",
      available: bunOk,
      reason: bunOk ? undefined : `${bun} not found`,
      run: bunSpec("/tmp/main.ts"),
      hello: 'const s: string = "hello";\nconsole.log(s);\n',
    },
    {
      id: "c",
      name: "C (gcc, gnu17, -O2)",
      available: existsSync(gcc),
      reason: existsSync(gcc) ? undefined : `${gcc} not found (apt-get install gcc)`,
      compile: { argv: ["/bin/sh", "-c", COMPILE_STUB, "compile", "/tmp/main.c", gcc, ...C_FLAGS, "/tmp/main.c", "-o", "/tmp/a.out", "-lm"] },
      run: runBinary,
      hello: '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
    },
    {
      id: "cpp",
      name: "C++ (g++, gnu++17, -O2)",
      available: existsSync(gxx),
      reason: existsSync(gxx) ? undefined : `${gxx} not found (apt-get install g++)`,
      compile: {
        argv: ["/bin/sh", "-c", COMPILE_STUB, "compile", "/tmp/main.cpp", gxx, ...CXX_FLAGS, ...(opts.pchDir ? ["-I/pch"] : []), "/tmp/main.cpp", "-o", "/tmp/a.out"],
        binds: pchBind,
      },
      run: runBinary,
      hello: "#include <bits/stdc++.h>\nint main() { std::cout << \"hello\" << std::endl; }\n",
    },
  ];
}

/** Frames a program for a stub: "<length>\n" + program + input. */
export function frame(program: Uint8Array, input: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${program.length}\n`);
  const out = new Uint8Array(head.length + program.length + input.length);
  out.set(head, 0);
  out.set(program, head.length);
  out.set(input, head.length + program.length);
  return out;
}
