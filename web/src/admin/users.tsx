import { useEffect, useState } from "preact/hooks";
import { post } from "../api.ts";
import { announce, user as me } from "../state.ts";
import { Async, Empty, FormError, fmtTime, Page, useAction, useApi } from "../ui.tsx";

export function UsersAdmin() {
  const [q, setQ] = useState("");
  const [debounced, setDebounced] = useState("");
  useEffect(() => {
    const t = setTimeout(() => setDebounced(q.trim()), 250);
    return () => clearTimeout(t);
  }, [q]);
  const list = useApi(`/api/v1/admin/users?limit=100${debounced ? "&q=" + encodeURIComponent(debounced) : ""}`);
  const [resetFor, setResetFor] = useState<any>(null);
  const [pw, setPw] = useState("");
  const act = useAction(async (u: any, what: "ban" | "unban" | "organiser" | "player") => {
    if (what === "ban" || what === "unban") await post(`/api/v1/admin/users/${u.id}/${what}`);
    else await post(`/api/v1/admin/users/${u.id}/role`, { role: what });
    announce(what === "ban" ? `${u.username} is banned.` : what === "unban" ? `${u.username} is no longer banned.` : `${u.username} is now ${what === "organiser" ? "an organiser" : "a player"}.`, "success");
    list.reload();
  });
  const reset = useAction(async () => {
    await post(`/api/v1/admin/users/${resetFor.id}/password`, { password: pw });
    announce(`Password of ${resetFor.username} changed; they are signed out everywhere.`, "success");
    setResetFor(null);
    setPw("");
  });
  return (
    <Page title="Users">
      <div class="field">
        <label for="user-search">Search by username or email</label>
        <input id="user-search" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} autocomplete="off" />
      </div>
      <FormError error={act.error} />
      {resetFor && (
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            void reset.run();
          }}
        >
          <label for="new-pw">New password for {resetFor.username}</label>
          <div class="row">
            <input id="new-pw" type="text" minLength={8} required value={pw} onInput={(e) => setPw(e.currentTarget.value)} autocomplete="off" />
            <button type="submit" disabled={reset.busy}>
              Set password
            </button>
            <button type="button" class="secondary" onClick={() => setResetFor(null)}>
              Cancel
            </button>
          </div>
          <FormError error={reset.error} />
        </form>
      )}
      <Async q={list} what="users">
        {(d: any) =>
          d.users.length === 0 ? (
            <Empty>No user matches “{debounced}”.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="table">
                <caption class="muted">
                  {d.total} user{d.total === 1 ? "" : "s"}
                  {d.total > d.users.length ? `, first ${d.users.length} shown` : ""}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Role</th>
                    <th scope="col">Joined</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {d.users.map((u: any) => {
                    const self = u.id === me.value?.id;
                    return (
                      <tr key={u.id} data-user={u.username}>
                        <td>
                          {u.username} {u.bannedAt && <span class="badge danger">banned</span>}
                          {u.email && <div class="muted small">{u.email}</div>}
                        </td>
                        <td>{u.role}</td>
                        <td>{fmtTime(u.createdAt)}</td>
                        <td class="actions">
                          <div>
                          {u.bannedAt ? (
                            <button class="secondary small" onClick={() => act.run(u, "unban")} disabled={act.busy}>
                              Unban <span class="sr-only">{u.username}</span>
                            </button>
                          ) : (
                            <button class="danger small" onClick={() => confirm(`Ban ${u.username}? They are signed out at once.`) && act.run(u, "ban")} disabled={act.busy || self}>
                              Ban <span class="sr-only">{u.username}</span>
                            </button>
                          )}
                          {u.role === "player" ? (
                            <button class="secondary small" onClick={() => act.run(u, "organiser")} disabled={act.busy}>
                              Make organiser <span class="sr-only">{u.username}</span>
                            </button>
                          ) : (
                            <button class="secondary small" onClick={() => act.run(u, "player")} disabled={act.busy || self}>
                              Make player <span class="sr-only">{u.username}</span>
                            </button>
                          )}
                          <button class="secondary small" onClick={() => setResetFor(u)}>
                            Reset password <span class="sr-only">{u.username}</span>
                          </button>
                        </div>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </Page>
  );
}
