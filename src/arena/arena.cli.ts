/**
 * `gauntlet import kattis DIR` and `gauntlet export kattis PROBLEM DIR`,
 * spread into main.ts's COMMANDS table. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { loadConfig } from "../config.ts";
import { openCore } from "../core.ts";
import { isAppError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { fromPackage, readPackageDir, writePackageDir } from "./kattis.ts";
import { exportProblem } from "./problems.routes.ts";
import type { Difficulty } from "./problems.service.ts";

type Flags = Record<string, string | boolean>;

const fail = (msg: string, code = 2) => {
  console.error(`error: ${msg}`);
  return code;
};

export const ARENA_COMMANDS = {
  import: {
    usage: "gauntlet import kattis DIR [--difficulty easy|medium|hard] [--slug SLUG] [--data DIR]",
    summary: "Import a Kattis problem package (problem.yaml, problem_statement/, data/sample, data/secret) as an arena problem.",
    own: { difficulty: "difficulty of the imported problem (default medium)", slug: "slug to use (default: the directory name)" },
    async run(p: { positionals: string[]; flags: Flags }, cfgFlags: Flags) {
      const [, format, dir] = p.positionals;
      if (format !== "kattis" || !dir || p.positionals.length > 3) return fail("usage: gauntlet import kattis DIR");
      const difficulty = p.flags.difficulty;
      if (difficulty !== undefined && !["easy", "medium", "hard"].includes(String(difficulty))) return fail("--difficulty must be easy, medium or hard");
      const full = resolve(dir);
      if (!existsSync(full) || !statSync(full).isDirectory()) return fail(`${dir} is not a directory`);
      if (!readdirSync(full).includes("problem.yaml")) return fail(`${dir} has no problem.yaml: not a Kattis package`);
      const config = loadConfig({ flags: cfgFlags });
      const s = openCore(config, { log: createLogger("warn") });
      try {
        const input = fromPackage(readPackageDir(full), { dirName: basename(full), difficulty: difficulty as Difficulty | undefined, slug: typeof p.flags.slug === "string" ? p.flags.slug : undefined });
        const row = await s.arena.problems.create(input);
        console.log(`imported problem ${row.id} "${row.title}" (slug ${row.slug}): ${input.samples?.length ?? 0} sample, ${input.tests?.length ?? 0} hidden test(s), checker ${row.checker}`);
        return 0;
      } catch (e) {
        return fail(isAppError(e) ? `${e.code}: ${e.message}` : (e as Error).message, 1);
      } finally {
        await s.db.flush().catch(() => {});
        s.db.close();
      }
    },
  },
  export: {
    usage: "gauntlet export kattis PROBLEM_ID_OR_SLUG DIR [--data DIR]",
    summary: "Write an arena problem back out as a Kattis problem package directory.",
    async run(p: { positionals: string[] }, cfgFlags: Flags) {
      const [, format, ref, dir] = p.positionals;
      if (format !== "kattis" || !ref || !dir || p.positionals.length > 4) return fail("usage: gauntlet export kattis PROBLEM_ID_OR_SLUG DIR");
      if (existsSync(dir) && readdirSync(dir).length) return fail(`${dir} exists and is not empty`);
      const config = loadConfig({ flags: cfgFlags });
      const s = openCore(config, { log: createLogger("warn") });
      try {
        const row = /^\d+$/.test(ref) ? s.arena.problems.store.byId(Number(ref)) : s.arena.problems.store.bySlug(ref);
        if (!row) return fail(`no problem ${ref}`, 1);
        const files = exportProblem(s.arena.problems, row.id);
        writePackageDir(dir, files);
        console.log(`exported problem ${row.id} "${row.title}" to ${dir} (${files.size} files)`);
        return 0;
      } catch (e) {
        return fail((e as Error).message, 1);
      } finally {
        s.db.close();
      }
    },
  },
};
