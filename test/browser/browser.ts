/**
 * Debian's Chromium driven by playwright-core: never a downloaded browser.
 * Each call gets a fresh user-data dir, and every request a page makes is
 * recorded so a test can assert none left the server's own origin.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);
export const SHOTS = join(import.meta.dir, "..", "..", "test-results", "screenshots");

const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

export interface Session {
  context: BrowserContext;
  /** Every URL requested by any page of the context. */
  requests: string[];
  close(): Promise<void>;
}

/** A persistent context on a fresh profile dir (Chromium's own user-data-dir, deleted on close). */
export async function openContext(opts: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark" } = {}): Promise<Session> {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 860 },
    colorScheme: opts.colorScheme ?? "light",
    reducedMotion: "reduce",
  });
  const requests: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  return {
    context,
    requests,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name + ".png"), fullPage: true });
}

/**
 * Cheap accessibility checks on what is on screen: every form control has a
 * label, every button and link a name, every image alt text, ids are unique,
 * and there is exactly one h1.
 */
export async function a11yProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const name = (el: Element) => (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.textContent || el.getAttribute("title") || "").trim();
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
      const c = el as HTMLInputElement;
      if (c.closest(".cm-editor")) continue;
      if (!(c.labels?.length || c.getAttribute("aria-label") || c.getAttribute("aria-labelledby"))) out.push(`unlabelled ${c.tagName.toLowerCase()}#${c.id || "?"}`);
    }
    for (const el of document.querySelectorAll("button, a[href]")) if (!name(el)) out.push(`nameless ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
    for (const el of document.querySelectorAll("img")) if (!el.hasAttribute("alt")) out.push(`img without alt ${el.getAttribute("src")}`);
    const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
    for (const id of new Set(ids.filter((x, i) => ids.indexOf(x) !== i))) out.push(`duplicate id ${id}`);
    const h1 = document.querySelectorAll("h1").length;
    if (h1 !== 1) out.push(`${h1} h1 elements`);
    return out;
  });
}

export type { Browser, BrowserContext, Page };
