/**
 * A small history-API router: the path is a signal; same-origin <a> clicks
 * are intercepted globally so plain links (Markdown ones too) stay in the app.
 */
import { signal } from "@preact/signals";

export const path = signal(location.pathname);
export const search = signal(location.search);

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const url = new URL(to, location.href);
  if (url.pathname + url.search === location.pathname + location.search) return;
  history[opts.replace ? "replaceState" : "pushState"](null, "", url.pathname + url.search + url.hash);
  path.value = url.pathname;
  search.value = url.search;
  if (!opts.replace) window.scrollTo(0, 0);
}

addEventListener("popstate", () => {
  path.value = location.pathname;
  search.value = location.search;
});

document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
  if (a.pathname.startsWith("/api/")) return;
  e.preventDefault();
  navigate(a.pathname + a.search + a.hash);
});

/** Matches "/e/:event/hunt" against a path; returns params or null. */
export function match(pattern: string, p: string): Record<string, string> | null {
  const a = pattern.split("/").filter(Boolean);
  const b = p.split("/").filter(Boolean);
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(":")) out[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return null;
  }
  return out;
}

export function queryParam(name: string) {
  return new URLSearchParams(search.value).get(name);
}
