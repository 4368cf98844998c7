/**
 * Demo problems for `seed --demo`: nine problems across the three
 * difficulties, each with samples, hidden tests generated from a fixed seed
 * by a reference implementation here, and an accepted Python solution kept
 * as submissions/accepted/sol.py (exported with the Kattis package).
 * Idempotent: a problem whose slug exists is left alone.
 */
import type { ProblemInput, ProblemsService, TestIn } from "./problems.service.ts";

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Demo {
  slug: string;
  title: string;
  difficulty: "easy" | "medium" | "hard";
  tags: string[];
  statement: string;
  samples: string[];
  gen: (r: () => number, i: number) => string;
  solve: (input: string) => string;
  python: string;
}

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const lines = (s: string) => s.trim().split("\n");

const DEMOS: Demo[] = [
  {
    slug: "sum-of-two",
    title: "Sum of Two",
    difficulty: "easy",
    tags: ["math", "warm-up"],
    statement: "Read two integers `a` and `b` (|a|, |b| ≤ 10^12) on one line and print `a + b`.",
    samples: ["1 2\n", "-5 5\n"],
    gen: (r) => `${int(r, -1e12, 1e12)} ${int(r, -1e12, 1e12)}\n`,
    solve: (s) => {
      const [a, b] = s.trim().split(/\s+/).map(BigInt);
      return `${a + b}\n`;
    },
    python: "a, b = map(int, input().split())\nprint(a + b)\n",
  },
  {
    slug: "reverse-words",
    title: "Reverse the Words",
    difficulty: "easy",
    tags: ["strings"],
    statement: "Read one line of words separated by single spaces and print the words in reverse order.",
    samples: ["hello brave new world\n", "one\n"],
    gen: (r) => Array.from({ length: int(r, 1, 12) }, () => Array.from({ length: int(r, 1, 8) }, () => String.fromCharCode(97 + int(r, 0, 25))).join("")).join(" ") + "\n",
    solve: (s) => s.trim().split(" ").reverse().join(" ") + "\n",
    python: "print(' '.join(reversed(input().split())))\n",
  },
  {
    slug: "count-vowels",
    title: "Count the Vowels",
    difficulty: "easy",
    tags: ["strings", "counting"],
    statement: "Print how many of the characters of the input line are vowels (`a e i o u`, either case).",
    samples: ["Gauntlet\n", "rhythm\n"],
    gen: (r) => Array.from({ length: int(r, 1, 200) }, () => "abcdefghijklmnopqrstuvwxyzAEIOU "[int(r, 0, 31)]).join("").trim() + "x\n",
    solve: (s) => `${[...s.trim()].filter((c) => "aeiouAEIOU".includes(c)).length}\n`,
    python: "print(sum(c in 'aeiouAEIOU' for c in input()))\n",
  },
  {
    slug: "max-subarray",
    title: "Best Stretch",
    difficulty: "medium",
    tags: ["dynamic programming", "arrays"],
    statement: "The first line holds `n` (1 ≤ n ≤ 10^5), the second `n` integers. Print the largest sum of a non-empty contiguous run.",
    samples: ["5\n-2 1 -3 4 -1\n", "3\n-3 -1 -2\n"],
    gen: (r, i) => {
      const n = i === 0 ? 100000 : int(r, 1, 2000);
      return `${n}\n${Array.from({ length: n }, () => int(r, -1000, 1000)).join(" ")}\n`;
    },
    solve: (s) => {
      const xs = lines(s)[1].split(" ").map(Number);
      let best = -Infinity;
      let cur = 0;
      for (const x of xs) {
        cur = Math.max(x, cur + x);
        best = Math.max(best, cur);
      }
      return `${best}\n`;
    },
    python: "input()\nbest = cur = None\nfor x in map(int, input().split()):\n    cur = x if cur is None or cur < 0 else cur + x\n    best = cur if best is None or cur > best else best\nprint(best)\n",
  },
  {
    slug: "balanced-brackets",
    title: "Balanced Brackets",
    difficulty: "medium",
    tags: ["stack", "strings"],
    statement: "Each of the `t` lines after the first holds a string of `()[]{}`. Print `YES` if it is balanced, else `NO`, one per line.",
    samples: ["3\n([]{})\n(]\n((\n"],
    gen: (r) => {
      const t = int(r, 1, 50);
      const out = [String(t)];
      for (let k = 0; k < t; k++) {
        if (r() < 0.5) {
          let s = "";
          const build = (d: number) => {
            const n = int(r, 0, d > 3 ? 0 : 3);
            for (let j = 0; j < n; j++) {
              const p = ["()", "[]", "{}"][int(r, 0, 2)];
              s += p[0];
              build(d + 1);
              s += p[1];
            }
          };
          build(0);
          out.push(s || "()");
        } else out.push(Array.from({ length: int(r, 1, 20) }, () => "()[]{}"[int(r, 0, 5)]).join(""));
      }
      return out.join("\n") + "\n";
    },
    solve: (s) =>
      lines(s)
        .slice(1)
        .map((l) => {
          const st: string[] = [];
          const pair: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
          for (const c of l) {
            if ("([{".includes(c)) st.push(c);
            else if (st.pop() !== pair[c]) return "NO";
          }
          return st.length ? "NO" : "YES";
        })
        .join("\n") + "\n",
    python:
      "t = int(input())\npair = {')': '(', ']': '[', '}': '{'}\nfor _ in range(t):\n    st = []\n    ok = True\n    for c in input().strip():\n        if c in '([{':\n            st.append(c)\n        elif not st or st.pop() != pair[c]:\n            ok = False\n            break\n    print('YES' if ok and not st else 'NO')\n",
  },
  {
    slug: "gcd-of-many",
    title: "Common Measure",
    difficulty: "medium",
    tags: ["math", "number theory"],
    statement: "The first line holds `n`, the second `n` positive integers ≤ 10^9. Print their greatest common divisor.",
    samples: ["3\n12 18 30\n", "2\n7 13\n"],
    gen: (r) => {
      const g = int(r, 1, 1000);
      const n = int(r, 1, 500);
      return `${n}\n${Array.from({ length: n }, () => g * int(r, 1, 1e6)).join(" ")}\n`;
    },
    solve: (s) => {
      const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
      return `${lines(s)[1].split(" ").map(Number).reduce(gcd)}\n`;
    },
    python: "from math import gcd\nfrom functools import reduce\ninput()\nprint(reduce(gcd, map(int, input().split())))\n",
  },
  {
    slug: "longest-increasing",
    title: "Climbing Sequence",
    difficulty: "hard",
    tags: ["dynamic programming", "binary search"],
    statement: "The first line holds `n` (1 ≤ n ≤ 2·10^5), the second `n` integers. Print the length of the longest strictly increasing subsequence. An O(n²) solution is too slow.",
    samples: ["6\n5 1 4 2 3 9\n", "3\n3 3 3\n"],
    gen: (r, i) => {
      const n = i === 0 ? 200000 : int(r, 1, 3000);
      return `${n}\n${Array.from({ length: n }, () => int(r, -1e9, 1e9)).join(" ")}\n`;
    },
    solve: (s) => {
      const xs = lines(s)[1].split(" ").map(Number);
      const tails: number[] = [];
      for (const x of xs) {
        let lo = 0;
        let hi = tails.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (tails[mid] < x) lo = mid + 1;
          else hi = mid;
        }
        tails[lo] = x;
      }
      return `${tails.length}\n`;
    },
    python: "import sys, bisect\ndata = sys.stdin.read().split()\ntails = []\nfor x in map(int, data[1:]):\n    i = bisect.bisect_left(tails, x)\n    if i == len(tails):\n        tails.append(x)\n    else:\n        tails[i] = x\nprint(len(tails))\n",
  },
  {
    slug: "count-islands",
    title: "Archipelago",
    difficulty: "hard",
    tags: ["graphs", "flood fill"],
    statement: "The first line holds `h w` (≤ 500 each), then `h` rows of `#` (land) and `.` (water). Print the number of islands (4-connected land regions).",
    samples: ["3 4\n#..#\n#..#\n.##.\n"],
    gen: (r, i) => {
      const h = i === 0 ? 500 : int(r, 1, 60);
      const w = i === 0 ? 500 : int(r, 1, 60);
      const p = r() * 0.6 + 0.2;
      return `${h} ${w}\n${Array.from({ length: h }, () => Array.from({ length: w }, () => (r() < p ? "#" : ".")).join("")).join("\n")}\n`;
    },
    solve: (s) => {
      const ls = lines(s);
      const [h, w] = ls[0].split(" ").map(Number);
      const g = ls.slice(1, 1 + h).map((l) => [...l]);
      let n = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          if (g[y][x] !== "#") continue;
          n++;
          const st = [[y, x]];
          g[y][x] = ".";
          while (st.length) {
            const [cy, cx] = st.pop()!;
            for (const [dy, dx] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
              const ny = cy + dy;
              const nx = cx + dx;
              if (ny >= 0 && ny < h && nx >= 0 && nx < w && g[ny][nx] === "#") {
                g[ny][nx] = ".";
                st.push([ny, nx]);
              }
            }
          }
        }
      return `${n}\n`;
    },
    python:
      "import sys\ndata = sys.stdin.read().split()\nh, w = int(data[0]), int(data[1])\ng = [list(r) for r in data[2:2 + h]]\nn = 0\nfor y in range(h):\n    for x in range(w):\n        if g[y][x] != '#':\n            continue\n        n += 1\n        st = [(y, x)]\n        g[y][x] = '.'\n        while st:\n            cy, cx = st.pop()\n            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):\n                if 0 <= ny < h and 0 <= nx < w and g[ny][nx] == '#':\n                    g[ny][nx] = '.'\n                    st.append((ny, nx))\nprint(n)\n",
  },
  {
    slug: "maze-distance",
    title: "Shortest Way Out",
    difficulty: "hard",
    tags: ["graphs", "bfs"],
    statement: "The first line holds `h w` (≤ 300 each), then `h` rows of `.` and `#`. Print the fewest 4-directional steps from the top-left to the bottom-right cell through `.` cells, or `-1`.",
    samples: ["3 3\n...\n.#.\n...\n", "2 2\n.#\n#.\n"],
    gen: (r, i) => {
      const h = i === 0 ? 300 : int(r, 2, 40);
      const w = i === 0 ? 300 : int(r, 2, 40);
      const rows = Array.from({ length: h }, () => Array.from({ length: w }, () => (r() < 0.25 ? "#" : ".")));
      rows[0][0] = ".";
      rows[h - 1][w - 1] = ".";
      return `${h} ${w}\n${rows.map((x) => x.join("")).join("\n")}\n`;
    },
    solve: (s) => {
      const ls = lines(s);
      const [h, w] = ls[0].split(" ").map(Number);
      const g = ls.slice(1, 1 + h);
      const dist = new Int32Array(h * w).fill(-1);
      dist[0] = 0;
      const q = [0];
      for (let qi = 0; qi < q.length; qi++) {
        const c = q[qi];
        const y = Math.floor(c / w);
        const x = c % w;
        for (const [dy, dx] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
          const ny = y + dy;
          const nx = x + dx;
          if (ny < 0 || ny >= h || nx < 0 || nx >= w || g[ny][nx] !== "." || dist[ny * w + nx] >= 0) continue;
          dist[ny * w + nx] = dist[c] + 1;
          q.push(ny * w + nx);
        }
      }
      return `${dist[h * w - 1]}\n`;
    },
    python:
      "import sys\nfrom collections import deque\ndata = sys.stdin.read().split()\nh, w = int(data[0]), int(data[1])\ng = data[2:2 + h]\ndist = [[-1] * w for _ in range(h)]\ndist[0][0] = 0\nq = deque([(0, 0)])\nwhile q:\n    y, x = q.popleft()\n    for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):\n        if 0 <= ny < h and 0 <= nx < w and g[ny][nx] == '.' and dist[ny][nx] < 0:\n            dist[ny][nx] = dist[y][x] + 1\n            q.append((ny, nx))\nprint(dist[h - 1][w - 1])\n",
  },
];

export const DEMO_PROBLEM_SLUGS = DEMOS.map((d) => d.slug);

export function demoProblemInputs(hiddenPerProblem = 6): ProblemInput[] {
  return DEMOS.map((d, k) => {
    const r = prng(1000 + k);
    const samples: TestIn[] = d.samples.map((input, i) => ({ name: String(i + 1), input, answer: d.solve(input) }));
    const tests: TestIn[] = Array.from({ length: hiddenPerProblem }, (_, i) => {
      const input = d.gen(r, i);
      return { name: String(i + 1).padStart(2, "0"), input, answer: d.solve(input) };
    });
    return {
      slug: d.slug,
      title: d.title,
      statement: `# ${d.title}\n\n${d.statement}\n`,
      difficulty: d.difficulty,
      tags: d.tags,
      checker: "tokens",
      samples,
      tests,
      files: [{ path: "submissions/accepted/sol.py", content: d.python }],
    };
  });
}

export async function seedDemoProblems(problems: ProblemsService): Promise<string[]> {
  const created: string[] = [];
  for (const p of demoProblemInputs()) {
    if (problems.store.bySlug(p.slug!)) continue;
    await problems.create(p);
    created.push(`problem:${p.slug}`);
  }
  return created;
}
