// Test helper: used by src/metrics/metrics.test.ts and test/ops/metrics.e2e.test.ts.
/**
 * A strict parser of the Prometheus text format 0.0.4: every line is a HELP,
 * a TYPE or a sample; names and labels follow the grammar; a family's TYPE
 * comes once and before its samples; no series repeats; histogram buckets
 * are cumulative, end in +Inf, and +Inf equals _count. Throws on anything else.
 */
export function parsePrometheus(text: string) {
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const familyOf = (name: string) => {
    for (const suf of ["_bucket", "_sum", "_count"]) {
      const base = name.slice(0, -suf.length);
      if (name.endsWith(suf) && types.get(base) === "histogram") return base;
    }
    return name;
  };
  const parseValue = (v: string) => {
    if (v === "+Inf") return Infinity;
    if (v === "-Inf") return -Infinity;
    if (v === "NaN") return NaN;
    if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad value ${JSON.stringify(v)}`);
    return Number(v);
  };
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line === "") throw new Error(`${where}: empty line`);
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`${where}: bad comment`);
      if (!NAME.test(m[2])) throw new Error(`${where}: bad name`);
      if (m[1] === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3])) throw new Error(`${where}: bad type`);
        if (types.has(m[2])) throw new Error(`${where}: TYPE repeated`);
        if (samples.some((s) => familyOf(s.name) === m[2])) throw new Error(`${where}: TYPE after samples`);
        types.set(m[2], m[3]);
      } else {
        if (helps.has(m[2])) throw new Error(`${where}: HELP repeated`);
        if (/\\[^\\n]/.test(m[3].replace(/\\\\/g, ""))) throw new Error(`${where}: bad escape in HELP`);
        helps.add(m[2]);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: bad sample`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== "") {
      let rest = m[3];
      while (rest.length) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
        if (!lm || !LABEL.test(lm[1])) throw new Error(`${where}: bad labels at ${rest}`);
        if (lm[1] in labels) throw new Error(`${where}: label repeated`);
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, ch) => (ch === "n" ? "\n" : ch));
        rest = rest.slice(lm[0].length);
        if (lm[3] === "," && !rest.length) throw new Error(`${where}: trailing comma`);
      }
    }
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`${where}: series repeated`);
    seen.add(key);
    if (!types.has(familyOf(m[1]))) throw new Error(`${where}: sample without TYPE`);
    samples.push({ name: m[1], labels, value: parseValue(m[4]) });
  });
  // Histogram invariants.
  for (const [fam, type] of types) {
    if (type !== "histogram") continue;
    const groups = new Map<string, { le: number; v: number }[]>();
    for (const s of samples.filter((x) => x.name === fam + "_bucket")) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${fam}: bucket without le`);
      const k = JSON.stringify(Object.entries(rest).sort());
      (groups.get(k) ?? groups.set(k, []).get(k)!).push({ le: parseValue(le), v: s.value });
    }
    for (const [k, bs] of groups) {
      for (let i = 1; i < bs.length; i++) {
        if (!(bs[i].le > bs[i - 1].le)) throw new Error(`${fam}${k}: le not increasing`);
        if (bs[i].v < bs[i - 1].v) throw new Error(`${fam}${k}: buckets not cumulative`);
      }
      if (bs.at(-1)!.le !== Infinity) throw new Error(`${fam}${k}: no +Inf bucket`);
      const count = samples.find((s) => s.name === fam + "_count" && JSON.stringify(Object.entries(s.labels).sort()) === k);
      if (!count || count.value !== bs.at(-1)!.v) throw new Error(`${fam}${k}: _count differs from +Inf bucket`);
    }
  }
  return { types, samples };
}
