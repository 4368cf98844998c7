import { useState } from "preact/hooks";
import { BarChart, LineChart } from "../chart.tsx";
import { Async, Page, pick, useApi } from "../ui.tsx";

const WINDOWS = ["15m", "1h", "6h", "24h", "7d"];

export function Analytics() {
  const [w, setW] = useState("1h");
  const q = useApi(`/api/v1/admin/analytics?window=${w}`);
  return (
    <Page title="Analytics" wide>
      <div class="row" role="group" aria-label="Time window">
        {WINDOWS.map((x) => (
          <button key={x} class={x === w ? "" : "secondary"} aria-pressed={x === w} onClick={() => setW(x)}>
            {x}
          </button>
        ))}
      </div>
      <Async q={q} what="analytics">
        {(d: any) => (
          <>
            <div class="stat-grid">
              <div class="card stat-card">
                <span class="stat-label">Requests</span>
                <span class="stat-value">{d.total ?? 0}</span>
              </div>
              {(["p50", "p95", "p99"] as const).map((k) => (
                <div class="card stat-card" key={k}>
                  <span class="stat-label">Latency {k}</span>
                  <span class="stat-value">{pick(d.latencyMs, k) ?? "—"} ms</span>
                </div>
              ))}
            </div>
            <div class="card">
              <h2>Requests per minute</h2>
              <LineChart title="Requests per minute" series={[{ name: "requests", points: (d.series ?? []).map((s: any) => [s.minute, s.count]) }]} />
            </div>
            <div class="grid-2">
              <div class="card">
                <h2>Status codes</h2>
                <BarChart title="Responses by status code" data={(d.statuses ?? []).map((s: any) => ({ label: String(s.status), value: s.count }))} />
              </div>
              <div class="card">
                <h2>Top routes</h2>
                <BarChart title="Requests by route" data={(d.topRoutes ?? []).map((r: any) => ({ label: `${r.method ?? ""} ${r.route}`.trim(), value: r.count }))} />
              </div>
            </div>
          </>
        )}
      </Async>
    </Page>
  );
}
