/** App-wide state as signals: who is logged in, the theme, the announcer. */
import { signal } from "@preact/signals";
import { ApiError, get } from "./api.ts";

export interface User {
  id: number;
  username: string;
  role: "player" | "organiser";
  email?: string | null;
}

/** undefined while loading, null when logged out. */
export const user = signal<User | null | undefined>(undefined);
export const userError = signal<string>("");

export async function loadMe() {
  try {
    const r = await get<{ user: User }>("/api/v1/me");
    user.value = r.user;
    userError.value = "";
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      user.value = null;
      userError.value = "";
    } else {
      userError.value = (e as Error).message;
    }
  }
}

// Theme: follows the system until the user picks one; the pick is remembered.
export type Theme = "light" | "dark" | "system";
const THEME_KEY = "gauntlet-theme";
const stored = (() => {
  try {
    return localStorage.getItem(THEME_KEY) as Theme | null;
  } catch {
    return null;
  }
})();
export const theme = signal<Theme>(stored === "light" || stored === "dark" ? stored : "system");
export function applyTheme() {
  const t = theme.value;
  if (t === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", t);
}
export function setTheme(t: Theme) {
  theme.value = t;
  try {
    if (t === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, t);
  } catch {}
  applyTheme();
}

// Screen-reader announcements (polite) and visible toasts.
export interface Toast {
  id: number;
  text: string;
  kind: "info" | "success" | "error" | "announcement";
  title?: string;
}
export const toasts = signal<Toast[]>([]);
export const politeMessage = signal("");
let toastId = 0;
export function announce(text: string, kind: Toast["kind"] = "info", opts: { title?: string; ttlMs?: number } = {}) {
  const t: Toast = { id: ++toastId, text, kind, title: opts.title };
  toasts.value = [...toasts.value.slice(-2), t];
  // Re-set so repeated identical messages are announced again.
  politeMessage.value = "";
  queueMicrotask(() => (politeMessage.value = (opts.title ? opts.title + ": " : "") + text));
  const ttl = opts.ttlMs ?? (kind === "announcement" ? 15000 : kind === "error" ? 8000 : 4000);
  if (ttl > 0) setTimeout(() => dismissToast(t.id), ttl);
}
export function dismissToast(id: number) {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}
