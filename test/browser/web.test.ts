/**
 * The web app in real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real server process with the demo data and the
 * fake clock. Covers the "Done when": a player signs up, solves two
 * puzzles, takes a hint and a powerup and another browser sees the rank
 * change live; an organiser creates an event and a puzzle and posts an
 * announcement the player sees; two players play a duel to its result; the
 * first screen's JavaScript is small and renders fast; no request leaves the
 * server's origin; server errors read as sentences. Screenshots of the main
 * screens go to test-results/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { DEMO_ORGANISER, DEMO_PASSWORD } from "../../src/demo/seed.ts";
import { httpClient, startServer, type ServerProc } from "../helpers/server.ts";
import { a11yProblems, haveChromium, openContext, shot, type Page, type Session } from "./browser.ts";

const ROOT = join(import.meta.dir, "..", "..");
const DIST = join(ROOT, "web", "dist");
const PW = "correct horse battery staple";
const ORGANISER = DEMO_ORGANISER;
const T = 60_000;

if (!haveChromium) console.log("skipping browser tests: /usr/bin/chromium is absent (apt-get install chromium)");
const d = haveChromium ? describe : describe.skip;

/** A screenshot of a main screen, which must also pass the cheap accessibility checks. */
async function snap(page: Page, name: string) {
  await shot(page, name);
  expect({ screen: name, problems: await a11yProblems(page) }).toEqual({ screen: name, problems: [] });
}

/** Static imports of an ES module chunk, as esbuild writes them (minified). */
function staticImports(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[\w$*{}\s,]+from\s*)?["']\.\/([^"']+\.js)["']/g)) out.push(m[1]!);
  return out;
}

describe("bundle", () => {
  test("the first screen's JavaScript (entry plus its static imports) is under 150 kB gzipped", () => {
    expect(existsSync(join(DIST, "index.html"))).toBe(true);
    const html = readFileSync(join(DIST, "index.html"), "utf8");
    const entry = /<script type="module" src="\/assets\/([^"]+)"/.exec(html)?.[1];
    expect(entry).toBeTruthy();
    const seen = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const i of staticImports(readFileSync(join(DIST, "assets", f), "utf8"))) walk(i);
    };
    walk(entry!);
    // The preloads the build writes must be exactly what the entry imports statically.
    const preloads = [...html.matchAll(/rel="modulepreload" href="\/assets\/([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(preloads)).toEqual(new Set([...seen].filter((f) => f !== entry)));
    let gz = 0;
    for (const f of seen) gz += gzipSync(readFileSync(join(DIST, "assets", f)), { level: 9 }).length;
    console.log(`first screen JS: ${seen.size} files, ${(gz / 1024).toFixed(1)} kB gzipped`);
    expect(gz).toBeLessThan(150 * 1024);
    // The code editor is not part of it.
    const all = [...seen].map((f) => readFileSync(join(DIST, "assets", f), "utf8")).join("\n");
    expect(all).not.toContain("cm-activeLine");
  });

  test("the HTML has no inline script and nothing from another host", () => {
    const html = readFileSync(join(DIST, "index.html"), "utf8");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});

d("web app in Chromium", () => {
  let srv: ServerProc;
  const sessions: Session[] = [];
  let org: ReturnType<typeof httpClient>;

  const open = async (opts?: Parameters<typeof openContext>[0]) => {
    const s = await openContext(opts);
    sessions.push(s);
    const page = await s.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    return { s, page, errors };
  };
  const advance = async (ms: number) => {
    const r = await org.json("POST", "/api/v1/admin/clock", { advanceMs: ms });
    expect(r.status).toBe(200);
  };
  const signup = async (page: Page, username: string) => {
    await page.goto(srv.url + "/signup");
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(PW);
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.getByRole("button", { name: /Log out/ }).waitFor();
  };
  const answer = async (page: Page, text: string) => {
    await page.getByLabel("Your answer", { exact: true }).fill(text);
    await page.getByRole("button", { name: "Submit" }).click();
  };

  beforeAll(async () => {
    srv = await startServer({ args: ["--demo"], env: { GAUNTLET_FAKE_CLOCK: "1" } });
    org = httpClient(srv.url);
    expect((await org.json("POST", "/api/v1/auth/login", ORGANISER)).status).toBe(200);
  }, T);

  afterAll(async () => {
    for (const s of sessions) await s.close();
    // Every request any page made went to the server itself.
    const origin = srv ? new URL(srv.url).origin : "";
    const foreign = sessions.flatMap((s) => s.requests).filter((u) => !u.startsWith(origin + "/") && !u.startsWith("data:"));
    srv?.cleanup();
    expect(foreign).toEqual([]);
  }, T);

  test(
    "first render on the demo data is under 1 s, with no request to another host",
    async () => {
      const { s, page, errors } = await open();
      // Stamp the moment the first event card is in the DOM, from the page's own clock (navigation start = 0).
      await page.addInitScript(() => {
        new MutationObserver((_, obs) => {
          if (document.querySelector(".event-card")) {
            (window as any).__rendered = performance.now();
            obs.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
      });
      await page.goto(srv.url + "/");
      await page.getByRole("link", { name: "Demo hunt: the Lighthouse", exact: true }).waitFor();
      const ms = await page.evaluate(() => (window as any).__rendered as number);
      console.log(`first render: ${Math.round(ms)} ms after navigation start`);
      expect(ms).toBeLessThan(1000);
      await snap(page, "01-home");
      const origin = new URL(srv.url).origin;
      expect(s.requests.length).toBeGreaterThan(0);
      expect(s.requests.filter((u) => !u.startsWith(origin))).toEqual([]);
      expect(errors).toEqual([]);
    },
    T,
  );

  test(
    "server errors read as sentences, never raw JSON",
    async () => {
      const { page } = await open();
      await page.goto(srv.url + "/login");
      await page.getByLabel("Username").fill("nobody-here");
      await page.getByLabel("Password").fill("wrong password entirely");
      await page.getByRole("button", { name: "Log in" }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      const text = (await alert.textContent()) ?? "";
      expect(text.length).toBeGreaterThan(10);
      expect(text).not.toContain("{");
      expect(text).not.toContain("invalid_credentials");
      await page.goto(srv.url + "/e/no-such-event");
      await page.getByRole("alert").waitFor();
      const t2 = (await page.getByRole("alert").textContent()) ?? "";
      expect(t2).not.toContain("{");
      expect(t2).toMatch(/not|no such/i);
      // A page that does not exist is a page, not a blank screen.
      await page.goto(srv.url + "/definitely/not/here");
      await page.getByRole("heading", { name: "Page not found" }).waitFor();
      await snap(page, "02-error-states");
      // ?next= only ever leads to a path on this site.
      for (const next of ["//evil.example/x", "/\\evil.example/x", "https://evil.example/"]) {
        await page.goto(srv.url + "/login?next=" + encodeURIComponent(next));
        await page.getByLabel("Username").fill("bob");
        await page.getByLabel("Password").fill(DEMO_PASSWORD);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.getByRole("button", { name: /Log out/ }).waitFor();
        await page.getByRole("heading", { name: "Events", exact: true }).waitFor();
        expect(page.url()).toBe(srv.url + "/");
        await page.getByRole("button", { name: /Log out/ }).click();
        await page.getByRole("banner").getByRole("link", { name: "Log in" }).waitFor();
      }
    },
    T,
  );

  test(
    "a player signs up, solves puzzles, takes a hint and a powerup; another browser sees the rank change live",
    async () => {
      // Alice (demo account) is ahead first, watching the leaderboard in her own browser.
      const alice = await open();
      const frames: string[] = [];
      alice.page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
      await alice.page.goto(srv.url + "/login");
      await alice.page.getByLabel("Username").fill("alice");
      await alice.page.getByLabel("Password").fill(DEMO_PASSWORD);
      await alice.page.getByRole("button", { name: "Log in" }).click();
      await alice.page.getByRole("button", { name: /Log out/ }).waitFor();
      await alice.page.goto(srv.url + "/e/demo-hunt/hunt");
      await answer(alice.page, "a clock");
      await alice.page.locator('[data-outcome="correct"]').waitFor();
      await alice.page.getByRole("link", { name: "Leaderboard" }).click();
      const aliceRow = alice.page.locator("tr.me");
      await aliceRow.waitFor();
      expect(await aliceRow.locator("td").first().textContent()).toBe("1");

      const { page, errors } = await open({ viewport: { width: 1280, height: 900 } });
      const name = "pat" + (Date.now() % 100000);
      await signup(page, name);
      await page.goto(srv.url + "/e/demo-hunt/hunt");
      await page.getByRole("heading", { name: "The Lighthouse", exact: true }).waitFor();
      await snap(page, "03-hunt");

      // Wrong, then close, then a hint, then right.
      await answer(page, "a banana");
      await page.locator('[data-outcome="wrong"]').waitFor();
      await answer(page, "watch");
      await page.locator('[data-outcome="close"]').waitFor();
      expect(await page.locator('[data-outcome="close"]').textContent()).toContain("close");
      await page.getByRole("button", { name: /Take a hint/ }).click();
      await page.getByText("It tells you something every minute.").waitFor();
      await snap(page, "04-hunt-close-and-hint");
      await answer(page, "clock");
      await page.locator('[data-outcome="correct"]').waitFor();
      await page.getByRole("heading", { name: "The Keeper's Ledger", exact: true }).waitFor();

      // XP builds up with time: five ticks of 10 XP pay for the 50 XP hint powerup.
      await advance(5 * 3_600_000);
      await page.reload();
      await page.getByRole("heading", { name: "The Keeper's Ledger", exact: true }).waitFor();
      expect(await page.getByTestId("xp").textContent()).toBe("50");
      await page.locator('[data-powerup="hint"]').click();
      await page.getByText("Shift each letter back by three.").waitFor();
      await page.getByTestId("xp").filter({ hasText: "0" }).waitFor();
      await answer(page, "LAMP");
      await page.locator('[data-outcome="correct"]').waitFor();
      await page.getByRole("heading", { name: "Stairs", exact: true }).waitFor();
      await snap(page, "05-hunt-after-two");
      // The answer log names puzzles and shows wrong answers (never the right ones); the story so far is readable.
      await page.getByRole("button", { name: "My answers" }).click();
      await page.locator("td", { hasText: "a banana" }).waitFor();
      expect(await page.locator("tr", { hasText: "a banana" }).locator("td").first().textContent()).toBe("1. The Lighthouse");
      expect(await page.locator("table").textContent()).not.toContain("clock");
      await page.getByRole("button", { name: "Story so far" }).click();
      await page.getByText("Inside, the keeper's ledger is written in a simple shift.").waitFor();
      // 90 + 10 (decayed) ties Alice's 100, and ties go to whoever got there first: one more solve takes the lead.
      await answer(page, "21");
      await page.getByRole("heading", { name: "The Lamp Room", exact: true }).waitFor();

      // Alice's page, never reloaded, now shows the newcomer ahead of her.
      const newcomer = alice.page.locator("tr", { hasText: name });
      await newcomer.waitFor({ timeout: 10_000 });
      await alice.page.waitForFunction(() => document.querySelector("tr.me td")?.textContent === "2", null, { timeout: 10_000 });
      expect(await newcomer.locator("td").first().textContent()).toBe("1");
      // It came over the live channel, not a poll.
      expect(frames.some((f) => f.includes('"kind":"leaderboard"'))).toBe(true);
      await snap(alice.page, "06-leaderboard-live");

      // The player's own view highlights their row.
      await page.getByRole("link", { name: "Leaderboard" }).click();
      await page.locator("tr.me", { hasText: name }).waitFor();
      expect(await page.getByTestId("my-rank").textContent()).toContain("#1");
      await snap(page, "07-leaderboard-own");
      expect(errors).toEqual([]);
      expect(alice.errors).toEqual([]);
    },
    2 * T,
  );

  test(
    "an organiser creates an event and a puzzle, and posts an announcement the player sees",
    async () => {
      const player = await open();
      await signup(player.page, "reader" + (Date.now() % 100000));
      await player.page.goto(srv.url + "/e/demo-hunt");
      await player.page.getByRole("heading", { name: /Announcements/ }).waitFor();

      const { page, errors } = await open();
      await page.goto(srv.url + "/login");
      await page.getByLabel("Username").fill(ORGANISER.username);
      await page.getByLabel("Password").fill(ORGANISER.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("link", { name: "Organise" }).click();
      await page.getByRole("heading", { name: "Dashboard" }).waitFor();
      await snap(page, "08-admin-dashboard");

      await page.goto(srv.url + "/admin/events/new");
      await page.getByLabel("Title").fill("Browser test hunt");
      await page.getByLabel("Slug (in the address)").fill("browser-hunt");
      await page.getByRole("button", { name: "Create event" }).click();
      await page.getByRole("heading", { name: "Event: Browser test hunt" }).waitFor();
      await page.getByRole("link", { name: "Add puzzle" }).click();
      await page.getByLabel("Title").fill("Colours");
      await page.getByLabel("Puzzle (Markdown)").fill("What colour is the **sky**? <script>alert(1)</script>");
      await page.getByRole("button", { name: "Preview" }).nth(1).click();
      // Markdown renders; raw HTML shows as text and never runs.
      await page.locator(".preview strong", { hasText: "sky" }).waitFor();
      expect(await page.locator(".preview script").count()).toBe(0);
      await page.getByLabel("Accepted answers (one per line)").fill("blue");
      await page.getByRole("button", { name: "Add a hint" }).click();
      await page.getByRole("textbox", { name: "Hint 1" }).fill("Look up.");
      await snap(page, "09-admin-puzzle-editor");
      await page.getByRole("button", { name: "Create puzzle" }).click();
      await page.getByRole("link", { name: "Colours" }).waitFor();
      // Import two more from JSON; one is invalid and is reported, the other lands.
      const json = JSON.stringify([{ title: "Shapes", body: "How many sides has a square?", answers: ["four", "4"] }, { title: "Broken", answers: [] }]);
      await page.getByLabel("Import JSON").setInputFiles({ name: "puzzles.json", mimeType: "application/json", buffer: Buffer.from(json) });
      await page.getByText("Imported 1 of 2.").waitFor();
      await page.locator(".import-progress .form-error", { hasText: "Broken" }).waitFor();
      await page.getByRole("link", { name: "Shapes" }).waitFor();
      const puzzles = await org.json("GET", "/api/v1/events/browser-hunt/puzzles");
      expect(puzzles.body.puzzles.map((p: any) => p.title)).toEqual(["Colours", "Shapes"]);
      expect(puzzles.body.puzzles[0].hints[0].text).toBe("Look up.");
      await snap(page, "10-admin-event");
      // Start the new event now, then freeze its leaderboard: players are told it is frozen.
      await page.getByRole("button", { name: "Start now" }).click();
      await page.locator(".toast", { hasText: "The event has started." }).waitFor();
      await page.getByRole("button", { name: "Freeze leaderboard" }).click();
      await page.locator(".toast", { hasText: "The leaderboard is frozen." }).waitFor();
      expect((await org.json("GET", "/api/v1/events/browser-hunt")).body.event.freezeAt).toEqual(expect.any(Number));
      await player.page.goto(srv.url + "/e/browser-hunt/leaderboard");
      await player.page.getByText("The leaderboard is frozen").waitFor();
      await player.page.goto(srv.url + "/e/demo-hunt");
      await player.page.getByRole("heading", { name: /Announcements/ }).waitFor();

      // An announcement on the demo hunt reaches the player's open page live.
      await page.goto(srv.url + "/admin/events/demo-hunt");
      await page.getByLabel("Title (optional)").fill("Heads up");
      await page.getByLabel("Message (Markdown)").fill("Puzzle 3 has a **typo**; both spellings count.");
      await page.getByRole("button", { name: "Post announcement" }).click();
      await player.page.locator(".announcements li", { hasText: "both spellings count" }).waitFor({ timeout: 10_000 });
      await player.page.locator(".toast.announcement", { hasText: "Heads up" }).waitFor();
      await snap(player.page, "11-announcement-seen");
      // On a page outside the event, a fresh load still hears the default event's announcements.
      await player.page.goto(srv.url + "/arena");
      await player.page.getByRole("heading", { name: "Arena" }).waitFor();
      await player.page.waitForTimeout(2500);
      await page.getByLabel("Title (optional)").fill("Second");
      await page.getByLabel("Message (Markdown)").fill("Lunch is served.");
      await page.getByRole("button", { name: "Post announcement" }).click();
      await player.page.locator(".toast.announcement", { hasText: "Lunch is served." }).waitFor({ timeout: 10_000 });
      expect(errors).toEqual([]);
      expect(player.errors).toEqual([]);
    },
    2 * T,
  );

  test(
    "organiser screens: users (search, make organiser), analytics, jobs, anti-cheat, problems, events",
    async () => {
      const { page } = await open();
      await page.goto(srv.url + "/login");
      await page.getByLabel("Username").fill(ORGANISER.username);
      await page.getByLabel("Password").fill(ORGANISER.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("button", { name: /Log out/ }).waitFor();
      await page.goto(srv.url + "/admin/users");
      await page.getByLabel("Search by username or email").fill("bob");
      const row = page.locator('tr[data-user="bob"]');
      await row.waitFor();
      // The search is debounced: wait for the filtered list.
      await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
      await row.getByRole("button", { name: "Make organiser bob" }).click();
      await row.getByRole("button", { name: "Make player bob" }).waitFor();
      await snap(page, "12-admin-users");
      await row.getByRole("button", { name: "Make player bob" }).click();
      await row.getByRole("button", { name: "Make organiser bob" }).waitFor();

      // The other organiser screens load without an error state.
      for (const [path, heading, file] of [
        ["/admin/analytics", "Analytics", "13a-admin-analytics"],
        ["/admin/jobs", "Jobs", "13b-admin-jobs"],
        ["/admin/anticheat", "Anti-cheat report", "13c-admin-anticheat"],
        ["/admin/problems", "Problems", "13d-admin-problems"],
        ["/admin/events", "Events", "13e-admin-events"],
      ] as const) {
        await page.goto(srv.url + path);
        await page.getByRole("heading", { name: heading, exact: true }).waitFor();
        await page.waitForFunction(() => !document.querySelector(".loading"));
        expect(await page.locator(".notice.error").count()).toBe(0);
        await snap(page, file);
      }
      await page.getByRole("link", { name: "Demo hunt: the Lighthouse", exact: true }).waitFor();
    },
    T,
  );

  test(
    "organiser problems: create one with a sample and uploaded hidden tests; import a Kattis package folder with progress",
    async () => {
      const { page, errors } = await open();
      await page.goto(srv.url + "/login");
      await page.getByLabel("Username").fill(ORGANISER.username);
      await page.getByLabel("Password").fill(ORGANISER.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("button", { name: /Log out/ }).waitFor();
      await page.goto(srv.url + "/admin/problems/new");
      await page.getByLabel("Title").fill("Double it");
      // Hard, so the duel test's easy room never draws this problem (it has no accepted solution on file).
      await page.getByLabel("Difficulty").selectOption("hard");
      await page.getByLabel("Statement (Markdown)").fill("Print twice the number **n**.");
      await page.getByRole("button", { name: "Add a sample" }).click();
      await page.getByLabel("Sample 1 input").fill("2\n");
      await page.getByLabel("Sample 1 output").fill("4\n");
      const dir = mkdtempSync(join(tmpdir(), "gauntlet-tests-"));
      for (const [n, i, o] of [["1", "3", "6"], ["2", "10", "20"], ["3", "0", "0"]]) {
        writeFileSync(join(dir, `${n}.in`), i + "\n");
        writeFileSync(join(dir, `${n}.ans`), o + "\n");
      }
      await page.getByLabel(/Upload .in and .ans files/).setInputFiles(["1", "2", "3"].flatMap((n) => [join(dir, `${n}.in`), join(dir, `${n}.ans`)]));
      await page.getByText("3 tests ready to save.").waitFor();
      await snap(page, "22-admin-problem-editor");
      await page.getByRole("button", { name: "Create problem" }).click();
      await page.getByRole("heading", { name: "Problem: Double it" }).waitFor();
      const list = await org.json("GET", "/api/v1/admin/problems");
      const made = list.body.problems.find((p: any) => p.title === "Double it");
      const full = await org.json("GET", `/api/v1/admin/problems/${made.id}`);
      expect(full.body.problem.tests.filter((t: any) => t.kind === "secret")).toHaveLength(3);
      expect(full.body.problem.tests.filter((t: any) => t.kind === "sample")).toHaveLength(1);

      // Export a demo problem as a Kattis package on disk, then import the folder through the page.
      const pkg = await org.json("GET", `/api/v1/admin/problems/${list.body.problems[0].id}/export/kattis`);
      const files: Record<string, string> = pkg.body.files ?? pkg.body;
      const root = join(mkdtempSync(join(tmpdir(), "gauntlet-kattis-")), "imported-pkg");
      for (const [rel, content] of Object.entries(files)) {
        const p = join(root, rel);
        mkdirSync(dirname(p), { recursive: true });
        if (rel === "problem.yaml") writeFileSync(p, String(content).replace(/^name:.*$/m, "name: Imported through the browser"));
        else writeFileSync(p, content.startsWith("base64:") ? Buffer.from(content.slice(7), "base64") : content);
      }
      await page.goto(srv.url + "/admin/problems");
      await page.getByLabel("Import Kattis folder").setInputFiles(root);
      await page.locator(".import-progress progress").waitFor();
      await page.getByRole("link", { name: /Imported through the browser|imported-pkg/ }).waitFor({ timeout: 15_000 });
      expect(await page.locator(".import-progress .form-error").count()).toBe(0);
      await snap(page, "23-admin-problems-imported");
      expect(errors).toEqual([]);
    },
    T,
  );

  test(
    "two players play a duel to its result",
    async () => {
      const a = await open();
      const b = await open();
      await signup(a.page, "duelA" + (Date.now() % 10000));
      await signup(b.page, "duelB" + (Date.now() % 10000));
      await a.page.goto(srv.url + "/arena");
      await a.page.getByRole("heading", { name: "Arena" }).waitFor();
      await snap(a.page, "13-arena-lobby");
      await a.page.getByRole("button", { name: "Create a room" }).click();
      const code = (await a.page.getByTestId("invite-code").textContent())!.trim();
      expect(code).toMatch(/^[A-Z0-9]{6}$/);
      await b.page.goto(srv.url + "/arena");
      await b.page.getByLabel("Have an invite code?").fill(code.toLowerCase());
      await b.page.getByRole("button", { name: "Join", exact: true }).click();
      await b.page.waitForURL(/\/arena\/match\/\d+$/);
      const matchId = b.page.url().split("/").pop()!;
      expect(a.page.url()).toEndWith("/arena/match/" + matchId);
      // The countdown runs on the server's (fake) clock.
      await advance(6_000);
      for (const p of [a.page, b.page]) await p.locator(".cm-content").waitFor({ timeout: 15_000 });
      await snap(a.page, "14-match-editor");

      // The accepted solution kept with the demo problem.
      const view = await org.json("GET", `/api/v1/arena/matches/${matchId}`);
      const problemId = view.body.match.problem.id;
      const pkg = await org.json("GET", `/api/v1/admin/problems/${problemId}/export/kattis`);
      const files = pkg.body.files ?? pkg.body;
      const accepted = Object.entries(files as Record<string, string>).find(([k]) => k.startsWith("submissions/accepted/") && k.endsWith(".py"));
      expect({ problem: view.body.match.problem.title, hasAcceptedPython: !!accepted }).toEqual({ problem: view.body.match.problem.title, hasAcceptedPython: true });
      const sol = accepted![1];

      // B submits something wrong first; A then submits the accepted solution and wins.
      await b.page.locator(".cm-content").click();
      await b.page.keyboard.press("Control+A");
      await b.page.keyboard.insertText("print(0)\n");
      await b.page.getByRole("button", { name: "Submit" }).click();
      await b.page.locator(".verdict.v-WA").first().waitFor({ timeout: 30_000 });

      await a.page.locator(".cm-content").click();
      await a.page.keyboard.press("Control+A");
      await a.page.keyboard.insertText(sol);
      await a.page.getByRole("button", { name: "Run samples" }).click();
      await a.page.locator(".verdict.v-AC").first().waitFor({ timeout: 30_000 });
      await a.page.getByRole("button", { name: "Submit" }).click();
      await a.page.getByTestId("match-result").waitFor({ timeout: 30_000 });
      expect(await a.page.getByTestId("match-result").textContent()).toContain("You won");
      await a.page.getByTestId("rating-change").waitFor();
      expect(await a.page.getByTestId("rating-change").textContent()).toMatch(/\+\d+/);
      await snap(a.page, "15-match-won");
      await b.page.getByTestId("match-result").waitFor({ timeout: 15_000 });
      expect(await b.page.getByTestId("match-result").textContent()).toContain("You lost");
      expect(await b.page.getByTestId("rating-change").textContent()).toMatch(/-\d+/);
      await snap(b.page, "16-match-lost");

      // The profile lists the match.
      await a.page.getByRole("link", { name: "Profile" }).click();
      await a.page.locator("td a", { hasText: "win" }).waitFor();
      await snap(a.page, "17-profile");
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    },
    3 * T,
  );

  test(
    "the public queue pairs two players by format and difficulty",
    async () => {
      const a = await open();
      const b = await open();
      await signup(a.page, "qA" + (Date.now() % 100000));
      await signup(b.page, "qB" + (Date.now() % 100000));
      for (const p of [a.page, b.page]) {
        await p.goto(srv.url + "/arena");
        await p.getByLabel("Difficulty").selectOption("medium");
      }
      await a.page.getByRole("button", { name: "Find a match" }).click();
      await a.page.locator(".waiting", { hasText: "Waiting for an opponent" }).waitFor();
      await snap(a.page, "13f-arena-waiting");
      await b.page.getByRole("button", { name: "Find a match" }).click();
      // B is matched at once; A hears of it over the live channel.
      await b.page.waitForURL(/\/arena\/match\/\d+$/);
      await a.page.waitForURL(/\/arena\/match\/\d+$/, { timeout: 15_000 });
      expect(a.page.url()).toBe(b.page.url());
      await a.page.locator(".match-meta", { hasText: "medium" }).waitFor();
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    },
    T,
  );

  test(
    "a pairs match: four players, roles shown, the swap banner reaches everyone, the tester panel follows the role",
    async () => {
      // Two of them in the dark theme, so the screenshots show the editor in both.
      const ps = [await open(), await open({ colorScheme: "dark" }), await open(), await open({ colorScheme: "dark" })];
      const tag = Date.now() % 10000;
      for (const [i, p] of ps.entries()) await signup(p.page, `pair${i}x${tag}`);
      const [a, ...rest] = ps;
      await a!.page.goto(srv.url + "/arena");
      await a!.page.getByLabel("Format").selectOption("pairs");
      await a!.page.getByRole("button", { name: "Create a room" }).click();
      const code = (await a!.page.getByTestId("invite-code").textContent())!.trim();
      for (const p of rest) {
        await p.page.goto(srv.url + "/arena");
        await p.page.getByLabel("Have an invite code?").fill(code);
        await p.page.getByRole("button", { name: "Join", exact: true }).click();
        await p.page.waitForURL(/\/arena\/match\/\d+$/);
      }
      const matchId = a!.page.url().split("/").pop()!;
      await advance(6_000);
      const roles = async () => Promise.all(ps.map(async (p) => ((await p.page.locator(".match-meta .badge.ok").textContent({ timeout: 15_000 })) ?? "").replace("You are the ", "")));
      for (const p of ps) await p.page.locator(".match-meta .badge.ok").waitFor({ timeout: 15_000 });
      const before = await roles();
      expect(before.filter((r) => r === "coder")).toHaveLength(2);
      expect(before.filter((r) => r === "tester")).toHaveLength(2);
      const tester = ps[before.indexOf("tester")]!;
      await tester.page.getByRole("heading", { name: "Tester: write test cases" }).waitFor();
      await snap(tester.page, "19-pairs-tester");
      // The tester's teammate writes code; it is saved for the team.
      const teammateSide = await tester.page.evaluate(async (id) => (await (await fetch(`/api/v1/arena/matches/${id}`)).json()).match.you.side, matchId);
      const sides = await Promise.all(ps.map((p) => p.page.evaluate(async (id) => (await (await fetch(`/api/v1/arena/matches/${id}`)).json()).match.you.side, matchId)));
      const coder = ps.find((p, i) => sides[i] === teammateSide && p !== tester)!;
      await coder.page.locator(".cm-content").click();
      await coder.page.keyboard.press("Control+A");
      await coder.page.keyboard.insertText("print('team code marker')\n");
      await coder.page.waitForTimeout(1500);
      // The swap comes at a random instant between 30 % and 70 % of the match; past 70 % it has happened.
      const view = await org.json("GET", `/api/v1/arena/matches/${matchId}`);
      await advance(Math.ceil(view.body.match.durationSec * 0.7) * 1000 + 1000);
      for (const p of ps) await p.page.locator(".banner.swap").waitFor({ timeout: 15_000 });
      // The former tester is now the coder and picks up the team's code.
      await tester.page.locator(".cm-content", { hasText: "team code marker" }).waitFor({ timeout: 15_000 });
      await snap(tester.page, "20-pairs-swapped");
      await snap(ps.find((p) => p !== tester && p !== coder)!.page, "20b-pairs-swapped-other");
      await coder.page.getByRole("heading", { name: "Tester: write test cases" }).waitFor();
      const after = await roles();
      expect(after).toEqual(before.map((r) => (r === "coder" ? "tester" : "coder")));
      for (const p of ps) expect(p.errors).toEqual([]);
    },
    2 * T,
  );

  test(
    "offline: a failed request says so in words, and the app recovers when the network is back",
    async () => {
      const { s, page, errors } = await open();
      await signup(page, "off" + (Date.now() % 100000));
      await page.goto(srv.url + "/e/demo-hunt/hunt");
      await page.getByLabel("Your answer", { exact: true }).waitFor();
      await s.context.setOffline(true);
      await answer(page, "clock");
      await page.locator('[data-outcome="error"]', { hasText: "Cannot reach the server" }).waitFor();
      await page.locator(".banner.warn", { hasText: "offline" }).waitFor();
      await snap(page, "21-offline");
      await s.context.setOffline(false);
      await answer(page, "clock");
      await page.locator('[data-outcome="correct"]').waitFor();
      await page.locator(".banner.warn").waitFor({ state: "detached" });
      expect(errors).toEqual([]);
    },
    T,
  );

  test(
    "phone width and dark theme: the hunt stays usable, the theme toggle persists",
    async () => {
      const { page } = await open({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
      await signup(page, "phone" + (Date.now() % 100000));
      await page.goto(srv.url + "/e/demo-hunt/hunt");
      await page.getByLabel("Your answer", { exact: true }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(bg).toBe("rgb(14, 17, 23)");
      await snap(page, "18-hunt-phone-dark");
      for (const path of ["/", "/e/demo-hunt", "/e/demo-hunt/leaderboard", "/arena", "/profile"]) {
        await page.goto(srv.url + path);
        await page.locator("#page-title").waitFor();
        await page.waitForFunction(() => !document.querySelector(".loading"));
        expect({ path, overflow: await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) }).toEqual({ path, overflow: 0 });
      }
      await page.goto(srv.url + "/e/demo-hunt/hunt");
      await page.getByLabel("Your answer", { exact: true }).waitFor();
      // Keyboard: the skip link is the first stop and jumps to the content.
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
      // system → light, remembered across a reload.
      await page.getByRole("button", { name: /^Theme: system/ }).click();
      await page.reload();
      await page.getByLabel("Your answer", { exact: true }).waitFor();
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(246, 247, 249)");
    },
    T,
  );
});
