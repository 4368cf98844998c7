/** The Markdown subset renders to nodes, never HTML: markup in the source stays text. */
import { expect, test } from "bun:test";
import type { VNode } from "preact";
import { renderMarkdown, safeHref } from "./md.tsx";

type Node = VNode<any> | string | number | null | undefined | boolean | Node[];
function walk(n: Node, visit: (v: VNode<any>) => void) {
  if (Array.isArray(n)) return n.forEach((c) => walk(c, visit));
  if (!n || typeof n !== "object") return;
  visit(n);
  walk(n.props?.children as Node, visit);
}
const tags = (src: string) => {
  const out: string[] = [];
  walk(renderMarkdown(src), (v) => typeof v.type === "string" && out.push(v.type));
  return out;
};
const text = (src: string) => {
  let s = "";
  const go = (n: Node) => {
    if (Array.isArray(n)) return n.forEach(go);
    if (typeof n === "string" || typeof n === "number") s += n;
    else if (n && typeof n === "object") go(n.props?.children as Node);
  };
  go(renderMarkdown(src));
  return s;
};

test("block and inline syntax", () => {
  expect(tags("# Title\n\nSome **bold** and *em* and `code`.")).toEqual(["h3", "p", "strong", "em", "code"]);
  expect(tags("- a\n- b\n\n1. x\n2. y")).toEqual(["ul", "li", "li", "ol", "li", "li"]);
  expect(tags("> quoted\n\n```\nx < y\n```\n\n---")).toEqual(["blockquote", "p", "pre", "code", "hr"]);
  expect(text("```\n<b>x</b>\n```")).toBe("<b>x</b>");
});

test("raw HTML stays text; dangerous links and images are not made", () => {
  const src = '<script>alert(1)</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) ![i](http://evil/x.png) [ok](https://example.org/a)';
  const t = tags(src);
  expect(t).not.toContain("script");
  expect(t).not.toContain("img");
  expect(t.filter((x) => x === "a")).toHaveLength(1);
  expect(text(src)).toContain("<script>alert(1)</script>");
  let href = "";
  walk(renderMarkdown(src), (v) => v.type === "a" && (href = v.props.href));
  expect(href).toBe("https://example.org/a");
});

test.each([
  ["https://x.org", true],
  ["mailto:a@b.c", true],
  ["/e/demo", true],
  ["#top", true],
  ["//evil.org", false],
  ["javascript:alert(1)", false],
  [" JavaScript:alert(1)", false],
  ["data:text/html,x", false],
  ["vbscript:x", false],
])("safeHref(%p) → %p", (url, ok) => {
  expect(safeHref(url) !== null).toBe(ok);
});

test("same-site images and data images render", () => {
  expect(tags("![map](/api/v1/events/demo/attachments/1)")).toEqual(["p", "img"]);
  expect(tags("![dot](data:image/png;base64,iVBORw0KGgo=)")).toEqual(["p", "img"]);
});
