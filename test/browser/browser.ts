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

export type { Browser, BrowserContext, Page };
