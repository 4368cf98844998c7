/** The organiser app: its own lazy chunk, routed under /admin. */
import { match, path } from "../router.tsx";
import { Icon } from "../ui.tsx";
import { Dashboard } from "./dashboard.tsx";
import { EventEditor, EventsAdmin } from "./events.tsx";
import { PuzzleEditor } from "./puzzles.tsx";
import { ProblemEditor, ProblemsAdmin } from "./problems.tsx";
import { UsersAdmin } from "./users.tsx";
import { Analytics } from "./analytics.tsx";
import { AntiCheat } from "./anticheat.tsx";
import { JobsAdmin } from "./jobs.tsx";

const SECTIONS: [string, string, string][] = [
  ["/admin", "Dashboard", "monitor"],
  ["/admin/events", "Events", "puzzle"],
  ["/admin/problems", "Problems", "code"],
  ["/admin/users", "Users", "user"],
  ["/admin/jobs", "Jobs", "clock"],
  ["/admin/analytics", "Analytics", "bolt"],
  ["/admin/anticheat", "Anti-cheat", "x"],
];

export function AdminApp() {
  const p = path.value;
  let m: Record<string, string> | null;
  let body: preact.ComponentChildren;
  if (p === "/admin" || p === "/admin/") body = <Dashboard />;
  else if (p === "/admin/events") body = <EventsAdmin />;
  else if (p === "/admin/events/new") body = <EventEditor />;
  else if ((m = match("/admin/events/:event/puzzles/new", p))) body = <PuzzleEditor eventKey={m.event!} />;
  else if ((m = match("/admin/events/:event/puzzles/:id", p))) body = <PuzzleEditor eventKey={m.event!} id={m.id} />;
  else if ((m = match("/admin/events/:event", p))) body = <EventEditor eventKey={m.event} />;
  else if (p === "/admin/problems") body = <ProblemsAdmin />;
  else if (p === "/admin/problems/new") body = <ProblemEditor />;
  else if ((m = match("/admin/problems/:id", p))) body = <ProblemEditor id={m.id} />;
  else if (p === "/admin/users") body = <UsersAdmin />;
  else if (p === "/admin/analytics") body = <Analytics />;
  else if (p === "/admin/anticheat") body = <AntiCheat />;
  else if (p === "/admin/jobs") body = <JobsAdmin />;
  else body = <p>There is no organiser page at {p}.</p>;
  return (
    <div class="admin">
      <nav class="subnav" aria-label="Organiser">
        <ul>
          {SECTIONS.map(([href, label, icon]) => (
            <li key={href}>
              <a href={href} aria-current={p === href || (href !== "/admin" && p.startsWith(href)) ? "page" : undefined}>
                <Icon name={icon} /> {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="admin-body">{body}</div>
    </div>
  );
}
