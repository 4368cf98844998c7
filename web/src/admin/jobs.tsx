import { useState } from "preact/hooks";
import { post } from "../api.ts";
import { announce } from "../state.ts";
import { Async, Empty, FormError, fmtTime, Page, useAction, useApi } from "../ui.tsx";

const STATUSES = ["", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "DEAD", "CANCELLED"];

/** The durable job queue: what is waiting, what failed, and retry/cancel. */
export function JobsAdmin() {
  const [status, setStatus] = useState("");
  const counts = useApi("/api/v1/admin/jobs/counts");
  const list = useApi(`/api/v1/admin/jobs?limit=100${status ? "&status=" + status : ""}`);
  const act = useAction(async (id: number, what: "retry" | "cancel") => {
    await post(`/api/v1/admin/jobs/${id}/${what}`);
    announce(what === "retry" ? `Job ${id} will run again.` : `Job ${id} cancelled.`, "success");
    list.reload();
    counts.reload();
  });
  return (
    <Page title="Jobs" wide>
      <Async q={counts} what="job counts">
        {(d: any) => (
          <div class="stat-grid">
            {Object.entries(d.counts ?? {}).map(([k, v]) => (
              <div class={"card stat-card" + ((k === "DEAD" || k === "FAILED") && Number(v) > 0 ? " warn" : "")} key={k}>
                <span class="stat-label">{k.toLowerCase()}</span>
                <span class="stat-value">{String(v)}</span>
              </div>
            ))}
          </div>
        )}
      </Async>
      <div class="field" style={{ maxWidth: "16rem" }}>
        <label for="job-status">Status</label>
        <select id="job-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s ? s.toLowerCase() : "all"}
            </option>
          ))}
        </select>
      </div>
      <FormError error={act.error} />
      <Async q={list} what="jobs">
        {(d: any) =>
          !d.jobs?.length ? (
            <Empty>No jobs{status ? ` with status ${status.toLowerCase()}` : ""}.</Empty>
          ) : (
            <div class="table-wrap card">
              <table class="table">
                <caption class="muted">
                  {d.total} job{d.total === 1 ? "" : "s"}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Id</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Status</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Created</th>
                    <th scope="col">Error</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {d.jobs.map((j: any) => (
                    <tr key={j.id}>
                      <td>{j.id}</td>
                      <td>{j.kind}</td>
                      <td>
                        <span class={"badge " + (j.status === "SUCCEEDED" ? "ok" : j.status === "DEAD" || j.status === "FAILED" ? "danger" : "info")}>{j.status.toLowerCase()}</span>
                      </td>
                      <td>
                        {j.attempts}/{j.maxAttempts}
                      </td>
                      <td>{fmtTime(j.createdAt)}</td>
                      <td class="small">{j.error ?? ""}</td>
                      <td class="actions">
                          <div>
                        {["FAILED", "DEAD", "CANCELLED", "QUEUED"].includes(j.status) && (
                          <button class="secondary small" disabled={act.busy} onClick={() => act.run(j.id, "retry")}>
                            {j.status === "QUEUED" ? "Run now" : "Retry"} <span class="sr-only">job {j.id}</span>
                          </button>
                        )}
                        {["QUEUED", "RUNNING"].includes(j.status) && (
                          <button class="danger small" disabled={act.busy} onClick={() => act.run(j.id, "cancel")}>
                            Cancel <span class="sr-only">job {j.id}</span>
                          </button>
                        )}
                      </div>
                        </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </Page>
  );
}
