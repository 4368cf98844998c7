import { useEffect } from "preact/hooks";
import { Async, Page, pick, useApi } from "../ui.tsx";

/** Live numbers for the organiser, refreshed every few seconds. */
export function Dashboard() {
  const q = useApi("/api/v1/admin/live");
  useEffect(() => {
    const t = setInterval(q.reload, 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <Page title="Dashboard">
      <Async q={q} what="live numbers">
        {(d: any) => {
          const runner = d.runner ?? {};
          const slots = pick(runner, "slots") ?? {};
          const pools: any[] = Array.isArray(runner.pools) ? runner.pools : [];
          return (
            <>
              <div class="stat-grid" aria-live="off">
                <Stat label="Connected (live)" value={d.connections} />
                <Stat label="Answers, last minute" value={d.answersLastMinute} />
                <Stat label="Requests, last minute" value={d.requestsLastMinute} />
                <Stat label="Jobs queued" value={d.queue?.queued} warn={d.queue?.queued > 50} />
                <Stat label="Jobs running" value={d.queue?.running} />
                <Stat label="Dead jobs" value={d.queue?.dead} warn={d.queue?.dead > 0} />
              </div>
              <section class="card" aria-labelledby="runner-title">
                <div class="row between">
                  <h2 id="runner-title">Runner pool</h2>
                  <span class={"badge " + (runner.available ? "ok" : "danger")}>{runner.available ? "healthy" : "unavailable"}</span>
                </div>
                {!runner.available && runner.reason && <p class="form-error">{runner.reason}</p>}
                <dl class="facts">
                  <dt>Sandbox</dt>
                  <dd>{pick(runner.sandbox, "detail", "cgroups") ?? "—"}</dd>
                  <dt>Slots busy</dt>
                  <dd>
                    {slots.busy ?? 0} of {slots.total ?? 0} ({slots.waiting ?? 0} waiting)
                  </dd>
                  <dt>Runs</dt>
                  <dd>
                    {pick(runner.stats, "runs") ?? 0} ({pick(runner.stats, "warm") ?? 0} warm, {pick(runner.stats, "cold") ?? 0} cold, {pick(runner.stats, "ie") ?? 0} internal errors)
                  </dd>
                </dl>
                <table class="table">
                  <caption class="sr-only">Warm pools</caption>
                  <thead>
                    <tr>
                      <th scope="col">Pool</th>
                      <th scope="col" class="num">
                        Warm
                      </th>
                      <th scope="col" class="num">
                        Target
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {pools.map((p) => (
                      <tr key={p.key}>
                        <td>{p.key}</td>
                        <td class="num">{p.warm}</td>
                        <td class="num">{p.target}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            </>
          );
        }}
      </Async>
    </Page>
  );
}

function Stat({ label, value, warn }: { label: string; value: unknown; warn?: boolean }) {
  return (
    <div class={"card stat-card" + (warn ? " warn" : "")}>
      <span class="stat-label">{label}</span>
      <span class="stat-value">{value === undefined || value === null ? "—" : String(value)}</span>
    </div>
  );
}
