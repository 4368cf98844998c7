/**
 * A hand-rolled SVG line chart: lighter than any charting package for the
 * few dozen series and points we draw, themable with CSS variables, and
 * readable by screen readers through a summary table.
 */
export interface Series {
  name: string;
  points: [number, number][];
  highlight?: boolean;
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"];

export function LineChart({ series, title, height = 260, step = false, yLabel, xFormat = "time" }: { series: Series[]; title: string; height?: number; step?: boolean; yLabel?: string; xFormat?: "time" | "number" }) {
  const W = 720;
  const H = height;
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <div class="empty">No data to chart yet.</div>;
  let x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  if (x1 === x0) x1 = x0 + 1;
  const y0 = Math.min(0, ...all.map((p) => p[1]));
  let y1 = Math.max(...all.map((p) => p[1]));
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (y: number) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const yTicks = niceTicks(y0, y1, 4);
  const xTicks = niceTicks(x0, x1, 5);
  const fmtX = (x: number) => (xFormat === "time" ? new Date(x).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : String(Math.round(x)));
  const pathFor = (pts: [number, number][]) => {
    const s = [...pts].sort((a, b) => a[0] - b[0]);
    return s
      .map((p, i) => {
        const x = sx(p[0]).toFixed(1);
        const y = sy(p[1]).toFixed(1);
        if (i === 0) return `M${x},${y}`;
        return step ? `H${x}V${y}` : `L${x},${y}`;
      })
      .join("");
  };
  void x0;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} preserveAspectRatio="none">
        {yTicks.map((t) => (
          <g key={"y" + t}>
            <line x1={pad.l} x2={W - pad.r} y1={sy(t)} y2={sy(t)} class="grid" />
            <text x={pad.l - 6} y={sy(t) + 4} text-anchor="end" class="tick">
              {t}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={"x" + t} x={sx(t)} y={H - 8} text-anchor="middle" class="tick">
            {fmtX(t)}
          </text>
        ))}
        {yLabel && (
          <text x={12} y={pad.t + 8} class="tick">
            {yLabel}
          </text>
        )}
        {series.map((s, i) => (
          <path key={s.name} d={pathFor(s.points)} fill="none" stroke={COLORS[i % COLORS.length]} stroke-width={s.highlight ? 3.5 : 2} vector-effect="non-scaling-stroke" />
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((s, i) => (
            <li key={s.name} class={s.highlight ? "me" : ""}>
              <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} aria-hidden="true" />
              {s.name}
              <span class="sr-only">: {s.points.length ? s.points[s.points.length - 1]![1] : 0}</span>
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

/** Bars for categorical counts (status codes, top routes). */
export function BarChart({ data, title, unit = "" }: { data: { label: string; value: number }[]; title: string; unit?: string }) {
  if (!data.length) return <div class="empty">No data yet.</div>;
  const max = Math.max(...data.map((d) => d.value), 1);
  return (
    <figure class="bars">
      <figcaption class="sr-only">{title}</figcaption>
      <ul>
        {data.map((d) => (
          <li key={d.label}>
            <span class="bar-label" title={d.label}>
              {d.label}
            </span>
            <span class="bar-track" aria-hidden="true">
              <span class="bar" style={{ width: `${(d.value / max) * 100}%` }} />
            </span>
            <span class="bar-value">
              {d.value}
              {unit}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

function niceTicks(lo: number, hi: number, n: number): number[] {
  const span = hi - lo;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}
