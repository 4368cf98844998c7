/** Shared pieces: data loading with clear states, icons, countdowns, forms. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError, errorText, get } from "./api.ts";
import { navigate } from "./router.tsx";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | null;
  loading: boolean;
  reload: () => void;
  set: (t: T) => void;
}

/** GETs a path (re-fetched when it changes); null path means "not yet". */
export function useApi<T = any>(path: string | null, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(!!path);
  const [n, setN] = useState(0);
  const seq = useRef(0);
  // A layout effect starts the request right after render; a plain effect would wait for the next frame.
  useLayoutEffect(() => {
    if (!path) return;
    const my = ++seq.current;
    const ctl = new AbortController();
    setLoading(true);
    get<T>(path, ctl.signal).then(
      (d) => {
        if (my !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (my !== seq.current || e?.name === "AbortError") return;
        setError(e);
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [path, n, ...deps]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** Renders loading / error / content for a useApi result. */
export function Async<T>({ q, children, what = "this" }: { q: Loaded<T>; children: (d: T) => ComponentChildren; what?: string }) {
  if (q.error && q.data === undefined) return <ErrorBox error={q.error} onRetry={q.reload} what={what} />;
  if (q.data === undefined) return <Loading what={what} />;
  return <>{children(q.data)}</>;
}

export function Loading({ what = "" }: { what?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading{what && what !== "this" ? " " + what : ""}…
    </div>
  );
}

export function ErrorBox({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what?: string }) {
  const e = error as ApiError;
  if (e?.status === 401)
    return (
      <div class="notice" role="alert">
        <p>Please log in to see {what && what !== "this" ? what : "this page"}.</p>
        <button onClick={() => navigate("/login?next=" + encodeURIComponent(location.pathname))}>Log in</button>
      </div>
    );
  const missing = e?.status === 404;
  return (
    <div class={missing ? "notice" : "notice error"} role="alert">
      <p>
        <strong>{missing ? "Not available." : e?.status === 0 ? "You are offline." : "Could not load " + (what && what !== "this" ? what : "this") + "."}</strong> {errorText(error)}
      </p>
      {onRetry && (
        <button class="secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** Inline SVG icons (no icon font, nothing fetched). */
const PATHS: Record<string, string> = {
  sun: "M12 4V2m0 20v-2m8-8h2M2 12h2m13.66-5.66 1.41-1.41M4.93 19.07l1.41-1.41m0-11.32L4.93 4.93m14.14 14.14-1.41-1.41M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10z",
  moon: "M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z",
  monitor: "M3 4h18v12H3zM8 20h8m-4-4v4",
  trophy: "M8 21h8m-4-4v4M7 4h10v5a5 5 0 0 1-10 0zM7 6H4a3 3 0 0 0 3 4m10-4h3a3 3 0 0 1-3 4",
  puzzle: "M10 3h4v3a2 2 0 1 0 4 0V3h3v7h-3a2 2 0 1 0 0 4h3v7h-7v-3a2 2 0 1 0-4 0v3H3v-7h3a2 2 0 1 0 0-4H3V3z",
  code: "m8 6-6 6 6 6m8-12 6 6-6 6",
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-8 9a8 8 0 0 1 16 0",
  bell: "M18 8a6 6 0 1 0-12 0c0 7-3 9-3 9h18s-3-2-3-9m-4.3 13a2 2 0 0 1-3.4 0",
  settings: "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm7.4-3a7.4 7.4 0 0 0-.1-1.3l2-1.6-2-3.4-2.4 1a7.5 7.5 0 0 0-2.2-1.3L14.4 3h-4l-.4 2.4A7.5 7.5 0 0 0 7.8 6.7l-2.4-1-2 3.4 2 1.6a7.4 7.4 0 0 0 0 2.6l-2 1.6 2 3.4 2.4-1a7.5 7.5 0 0 0 2.2 1.3l.4 2.4h4l.4-2.4a7.5 7.5 0 0 0 2.2-1.3l2.4 1 2-3.4-2-1.6c.1-.4.1-.9.1-1.3z",
  bolt: "M13 2 3 14h9l-1 8 10-12h-9z",
  check: "m5 12 5 5L20 7",
  x: "M6 6l12 12M18 6 6 18",
  lightbulb: "M9 18h6m-5 4h4M12 2a7 7 0 0 0-4 12.7V17h8v-2.3A7 7 0 0 0 12 2z",
  wifiOff: "m2 2 20 20M8.5 16.4a5 5 0 0 1 7 0M5 12.5a10 10 0 0 1 5.2-2.8M19 12.5a10 10 0 0 0-2.3-1.7M2 8.8a15 15 0 0 1 4.2-2.7M22 8.8A15 15 0 0 0 10.7 5M12 20h.01",
  menu: "M3 6h18M3 12h18M3 18h18",
  clock: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zm0-15v5l3 3",
};
export function Icon({ name, size = 18, label }: { name: keyof typeof PATHS | string; size?: number; label?: string }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden={label ? undefined : "true"} role={label ? "img" : undefined} aria-label={label}>
      <path d={PATHS[name] ?? ""} />
    </svg>
  );
}

export function useNow(intervalMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function fmtDuration(ms: number) {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return (d ? `${d}d ` : "") + (d || h ? `${pad(h)}:` : "") + `${pad(m)}:${pad(sec)}`;
}

export function fmtTime(ms: number | null | undefined) {
  if (!ms) return "—";
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Counts down to `to`, corrected by the server's clock offset (serverNow -
 * Date.now() at fetch time) so a fake or skewed server clock still shows right.
 */
export function Countdown({ to, offsetMs = 0, label, onDone }: { to: number; offsetMs?: number; label: string; onDone?: () => void }) {
  const now = useNow(1000) + offsetMs;
  const left = to - now;
  const done = left <= 0;
  const fired = useRef(false);
  useEffect(() => {
    if (done && !fired.current) {
      fired.current = true;
      onDone?.();
    }
  }, [done]);
  return (
    <div class="countdown" role="timer" aria-label={`${label}: ${fmtDuration(left)}`}>
      <span class="countdown-label">{label}</span>
      <span class="countdown-value" aria-hidden="true">
        {fmtDuration(left)}
      </span>
    </div>
  );
}

export function Field({ id, label, hint, children }: { id: string; label: string; hint?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <small id={id + "-hint"} class="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A button that shows progress and turns failures into a readable message next to it. */
export function useAction<A extends unknown[]>(fn: (...a: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const run = async (...a: A) => {
    setBusy(true);
    setError("");
    try {
      return await fn(...a);
    } catch (e) {
      setError(errorText(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

export function FormError({ error }: { error: string }) {
  return error ? (
    <p class="form-error" role="alert">
      <Icon name="x" size={16} /> {error}
    </p>
  ) : null;
}

export function Page({ title, children, actions, wide }: { title: string; children: ComponentChildren; actions?: ComponentChildren; wide?: boolean }) {
  useEffect(() => {
    document.title = title + " · Gauntlet";
  }, [title]);
  return (
    <section class={"page" + (wide ? " wide" : "")} aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {title}
        </h1>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}


/** An event may be addressed by slug or id. */
export const eventKey = (e: any) => String(e?.slug ?? e?.id ?? "");
/** Pick the first present field among spellings the API might use. */
export function pick<T = any>(o: any, ...keys: string[]): T | undefined {
  if (!o || typeof o !== "object") return undefined;
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}
