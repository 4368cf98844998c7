import { render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { get, post, reachable } from "./api.ts";
import { watchEvent } from "./events.ts";
import { lazy } from "./lazy.tsx";
import { Markdown } from "./md.tsx";
import { liveStatus } from "./live.ts";
import { match, navigate, path } from "./router.tsx";
import { announce, applyTheme, dismissToast, loadMe, politeMessage, setTheme, theme, toasts, user, userError } from "./state.ts";
import { ErrorBox, Icon, Loading, Page } from "./ui.tsx";
import { AuthPage } from "./pages/auth.tsx";
import { HomePage } from "./pages/home.tsx";
import { EventPage } from "./pages/event.tsx";
import "./style.css";

applyTheme();
matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", applyTheme);

const ArenaLobby = lazy(() => import("./pages/arena.tsx").then((m) => m.ArenaLobby));
const MatchPage = lazy(() => import("./pages/match.tsx").then((m) => m.MatchPage));
const ProfilePage = lazy(() => import("./pages/profile.tsx").then((m) => m.ProfilePage));
const AdminApp = lazy(() => import("./admin/admin.tsx").then((m) => m.AdminApp));

type Route = [pattern: string, render: (p: Record<string, string>) => preact.ComponentChildren, opts?: { auth?: "user" | "organiser" }];
const ROUTES: Route[] = [
  ["/", () => <HomePage />],
  ["/login", () => <AuthPage mode="login" />],
  ["/signup", () => <AuthPage mode="signup" />],
  ["/e/:event", (p) => <EventPage eventKey={p.event!} tab="home" />],
  ["/e/:event/hunt", (p) => <EventPage eventKey={p.event!} tab="hunt" />, { auth: "user" }],
  ["/e/:event/leaderboard", (p) => <EventPage eventKey={p.event!} tab="leaderboard" />],
  ["/arena", () => <ArenaLobby />, { auth: "user" }],
  ["/arena/match/:id", (p) => <MatchPage id={p.id!} />, { auth: "user" }],
  ["/profile", () => <ProfilePage />, { auth: "user" }],
  ["/u/:id", (p) => <ProfilePage userId={p.id} />],
];

function resolve(p: string) {
  if (p === "/admin" || p.startsWith("/admin/")) return { render: () => <AdminApp />, opts: { auth: "organiser" as const } };
  for (const [pattern, r, opts] of ROUTES) {
    const m = match(pattern, p);
    if (m) return { render: () => r(m), opts };
  }
  return null;
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is nothing at {path.value}.</p>
      <p>
        <a href="/">Go to the start page</a>
      </p>
    </Page>
  );
}

function ThemeToggle() {
  const order = ["system", "light", "dark"] as const;
  const next = order[(order.indexOf(theme.value) + 1) % 3]!;
  const icon = theme.value === "dark" ? "moon" : theme.value === "light" ? "sun" : "monitor";
  return (
    <button class="icon-button" onClick={() => setTheme(next)} aria-label={`Theme: ${theme.value}. Switch to ${next}.`} title={`Theme: ${theme.value}`}>
      <Icon name={icon} />
    </button>
  );
}

function Nav() {
  const u = user.value;
  const cur = path.value;
  const item = (href: string, label: string, icon: string, prefix = href) => (
    <li>
      <a href={href} aria-current={cur === href || (prefix !== "/" && cur.startsWith(prefix)) ? "page" : undefined}>
        <Icon name={icon} /> <span>{label}</span>
      </a>
    </li>
  );
  const logout = async () => {
    await post("/api/v1/auth/logout").catch(() => {});
    user.value = null;
    navigate("/");
    announce("You are logged out.");
  };
  return (
    <header class="topbar">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <a class="brand" href="/" aria-label="Gauntlet home">
        <svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true">
          <path d="M12 2 3 6v6c0 5 3.8 9.4 9 10 5.2-.6 9-5 9-10V6z" fill="var(--accent)" />
          <path d="m8 12 3 3 5-6" stroke="var(--accent-fg)" stroke-width="2.4" fill="none" stroke-linecap="round" />
        </svg>
        <span>Gauntlet</span>
      </a>
      <nav aria-label="Main">
        <ul>
          {item("/", "Events", "puzzle", "/e/")}
          {u && item("/arena", "Arena", "code")}
          {u && item("/profile", "Profile", "user")}
          {u?.role === "organiser" && item("/admin", "Organise", "settings")}
        </ul>
      </nav>
      <div class="topbar-right">
        <LiveBadge />
        <ThemeToggle />
        {u ? (
          <button class="secondary small" onClick={logout}>
            Log out <span class="sr-only">{u.username}</span>
          </button>
        ) : u === null ? (
          <a class="button small" href="/login">
            Log in
          </a>
        ) : null}
      </div>
    </header>
  );
}

function LiveBadge() {
  const s = liveStatus.value;
  if (reachable.value && s !== "offline") return null;
  return (
    <span class="badge warn" role="status">
      <Icon name="wifiOff" size={14} /> Offline
    </span>
  );
}

function Toasts() {
  return (
    <div class="toasts" aria-live="off">
      {toasts.value.map((t) => (
        <div key={t.id} class={"toast " + t.kind}>
          <Icon name={t.kind === "announcement" ? "bell" : t.kind === "error" ? "x" : t.kind === "success" ? "check" : "bell"} />
          <div>
            {t.title && <strong>{t.title}</strong>}
            {t.kind === "announcement" ? <Markdown source={t.text} /> : <p>{t.text}</p>}
          </div>
          <button class="icon-button" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>
            <Icon name="x" size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}

function OfflineBanner() {
  if (reachable.value && liveStatus.value !== "offline") return null;
  return (
    <div class="banner warn" role="status">
      You are offline or the server cannot be reached. What you see may be out of date; it refreshes when the connection is back.
    </div>
  );
}

function App() {
  const p = path.value;
  const r = resolve(p);
  const u = user.value;
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  // Move focus to the new page's heading so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    requestAnimationFrame(() => (document.getElementById("page-title") ?? mainRef.current)?.focus({ preventScroll: true }));
  }, [p]);
  let content: preact.ComponentChildren;
  if (u === undefined && userError.value) content = <ErrorBox error={new Error(userError.value)} onRetry={loadMe} what="your account" />;
  else if (!r) content = <NotFound />;
  // Public pages start loading their data while /me is still in flight; guarded ones wait for it.
  else if (u === undefined && r.opts?.auth) content = <Loading />;
  else if (r.opts?.auth && !u) {
    queueMicrotask(() => navigate("/login?next=" + encodeURIComponent(p + location.search), { replace: true }));
    content = <Loading />;
  } else if (r.opts?.auth === "organiser" && u?.role !== "organiser")
    content = (
      <Page title="Organisers only">
        <p>This part of Gauntlet is for event organisers. Ask an organiser to give your account that role.</p>
      </Page>
    );
  else content = r.render();
  return (
    <>
      <Nav />
      <OfflineBanner />
      <main id="main" ref={mainRef} tabIndex={-1}>
        {content}
      </main>
      <Toasts />
      <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">
        {politeMessage.value}
      </div>
    </>
  );
}

void loadMe();
render(<App />, document.getElementById("app")!);

// Announcements of the default event reach players on any page (arena, profile), not only inside the event.
setTimeout(() => {
  if (path.value.startsWith("/e/")) return; // the event page watches its own event
  get("/api/v1/events").then(
    (d) => {
      const list: any[] = d?.events ?? [];
      const ev = list.find((e) => e.isDefault) ?? list[0];
      if (ev && !path.value.startsWith("/e/")) watchEvent(String(ev.slug ?? ev.id), ev.id, () => {});
    },
    () => {},
  );
}, 1500);
