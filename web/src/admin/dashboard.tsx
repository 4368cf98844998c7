import { useEffect } from "preact/hooks";
import { Async, ErrorBox, Page, pick, useApi } from "../ui.tsx";

/** Live numbers for the organiser: each box loads on its own, so one missing API does not blank the page. */
export function Dashboard() {
  const runner = useApi("/api/v1/admin/runner");
  const jobs = useApi("/api/v1/admin/jobs/stats");
  const traffic = useApi("/api/v1/admin/analytics?window=15m");
  const live = useApi("/api/v1/admin/live");
  useEffect(() => {
    const t = setInterval(() => {
      runner.reload();
      jobs.reload();
      traffic.reload();
      live.reload();
    }, 5000);
    return () => clearInterval(t);
  }, []);
  const series: any[] = pick(traffic.data, "series") ?? [];
  const lastMin = series.length > 1 ? series[series.length - 2].count : (series[0]?.count ?? 0);
  return (
    <Page title="Dashboard">
      <div class="stat-grid">
        <Stat label="Connected" q={live} value={(d) => pick(d, "connections", "connected", "clients")} />
        <Stat label="Requests last minute" q={traffic} value={() => lastMin} />
        <Stat label="Answers / min" q={live} value={(d) => pick(d, "answersPerMinute")} />
        <Stat label="Latency p95 (15 min)" q={traffic} value={(d) => (pick(d.latencyMs, "p95") ?? "—") + " ms"} />
        <Stat label="Queue depth" q={jobs} value={(d) => pick(d, "queued", "depth", "pending")} />
      </div>
      <section class="card">
        <h2>Runner pool</h2>
        <Async q={runner} what="runner health">
          {(d) => (
            <dl class="facts">
              {Object.entries(d as object)
                .filter(([, v]) => typeof v !== "object")
                .map(([k, v]) => (
                  <>
                    <dt key={k}>{k}</dt>
                    <dd>{String(v)}</dd>
                  </>
                ))}
              {pick(d, "pools") &&
                Object.entries(d.pools as object).map(([k, v]) => (
                  <>
                    <dt key={k}>pool {k}</dt>
                    <dd>{typeof v === "object" ? Object.entries(v as object).map(([a, b]) => `${a}: ${b}`).join(", ") : String(v)}</dd>
                  </>
                ))}
            </dl>
          )}
        </Async>
      </section>
    </Page>
  );
}

function Stat({ label, q, value }: { label: string; q: ReturnType<typeof useApi>; value: (d: any) => unknown }) {
  const v = q.data !== undefined ? value(q.data) : undefined;
  return (
    <div class="card stat-card">
      <span class="stat-label">{label}</span>
      <span class="stat-value">{q.error && q.data === undefined ? <span class="muted small" title={q.error.message}>unavailable</span> : v === undefined || v === null ? "—" : String(v)}</span>
    </div>
  );
}

export { ErrorBox };
