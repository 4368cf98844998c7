/**
 * A small Markdown subset rendered straight to Preact nodes, never to an
 * HTML string, so puzzle text cannot inject markup or script: raw HTML in the
 * source shows as text. Supports headings, paragraphs, emphasis, strong,
 * inline code, fenced code, block quotes, lists, rules, links (http, https,
 * mailto and same-site paths only) and images from this site or data: URLs
 * (the only ones the CSP allows).
 */
import type { ComponentChildren, VNode } from "preact";

const SAFE_LINK = /^(https?:\/\/|mailto:|\/(?!\/)|#)/i;
const SAFE_IMG = /^(\/(?!\/)|data:image\/(png|gif|jpeg|webp);)/i;

export function safeHref(url: string): string | null {
  const u = url.trim();
  return SAFE_LINK.test(u) ? u : null;
}

function inline(text: string, key = 0): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  // Order matters: code first (its content is literal), then images, links, strong, emphasis.
  const re = /(`+)([\s\S]*?[^`])\1(?!`)|!\[([^\]]*)\]\(([^)\s]+)\)|\[([^\]]+)\]\(([^)\s]+)\)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*([^*\s][^*]*?)\*|(?<![A-Za-z0-9])_([^_\s][^_]*?)_(?![A-Za-z0-9])|\\([\\`*_{}\[\]()#+\-.!>])|  \n/g;
  let last = 0;
  let m: RegExpExecArray | null;
  let k = key * 1000;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2] !== undefined) out.push(<code key={k++}>{m[2]!.trim() ? m[2]!.replace(/^ (.*) $/, "$1") : m[2]}</code>);
    else if (m[4] !== undefined) {
      const src = m[4]!;
      out.push(SAFE_IMG.test(src) ? <img key={k++} src={src} alt={m[3]} loading="lazy" /> : `![${m[3]}](${src})`);
    } else if (m[6] !== undefined) {
      const href = safeHref(m[6]!);
      const external = href && /^https?:/i.test(href) && !(typeof location !== "undefined" && href.startsWith(location.origin));
      out.push(href ? <a key={k++} href={href} {...(external ? { rel: "noopener noreferrer nofollow", target: "_blank" } : {})}>{inline(m[5]!, k++)}</a> : m[5]);
    } else if (m[7] !== undefined || m[8] !== undefined) out.push(<strong key={k++}>{inline((m[7] ?? m[8])!, k++)}</strong>);
    else if (m[9] !== undefined || m[10] !== undefined) out.push(<em key={k++}>{inline((m[9] ?? m[10])!, k++)}</em>);
    else if (m[11] !== undefined) out.push(m[11]);
    else out.push(<br key={k++} />);
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

type Block = VNode | null;

export function renderMarkdown(src: string): VNode[] {
  const lines = (src ?? "").replace(/\r\n?/g, "\n").split("\n");
  const out: VNode[] = [];
  let i = 0;
  let key = 0;
  const isBlank = (l: string | undefined) => l === undefined || l.trim() === "";
  const startsBlock = (l: string) => /^(#{1,6}\s|```|~~~|>|\s*([-*+]|\d+[.)])\s|(\*\s*){3,}$|(-\s*){3,}$|(_\s*){3,}$)/.test(l);
  while (i < lines.length) {
    const line = lines[i]!;
    if (isBlank(line)) {
      i++;
      continue;
    }
    let b: Block = null;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^(```|~~~)\s*([\w+-]*)\s*$/))) {
      const fence = m[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.startsWith(fence)) body.push(lines[i++]!);
      i++;
      b = (
        <pre key={key++} class="code">
          <code data-lang={m[2] || undefined}>{body.join("\n")}</code>
        </pre>
      );
    } else if ((m = line.match(/^(#{1,6})\s+(.*?)\s*#*\s*$/))) {
      // Puzzle headings sit under the page's own h1/h2.
      const level = Math.min(6, m[1]!.length + 2);
      const Tag = `h${level}` as "h3";
      b = <Tag key={key++}>{inline(m[2]!, key)}</Tag>;
      i++;
    } else if (/^((\*\s*){3,}|(-\s*){3,}|(_\s*){3,})$/.test(line.trim())) {
      b = <hr key={key++} />;
      i++;
    } else if (line.startsWith(">")) {
      const body: string[] = [];
      while (i < lines.length && lines[i]!.startsWith(">")) body.push(lines[i++]!.replace(/^>\s?/, ""));
      b = <blockquote key={key++}>{renderMarkdown(body.join("\n"))}</blockquote>;
    } else if ((m = line.match(/^\s*([-*+]|\d+[.)])\s+/))) {
      const ordered = /\d/.test(m[1]!);
      const items: string[][] = [];
      while (i < lines.length) {
        const l = lines[i]!;
        const im = l.match(/^\s*([-*+]|\d+[.)])\s+(.*)$/);
        if (im && /\d/.test(im[1]!) === ordered) {
          items.push([im[2]!]);
          i++;
        } else if (!isBlank(l) && /^\s{2,}/.test(l) && items.length) {
          items[items.length - 1]!.push(l.trim());
          i++;
        } else break;
      }
      const lis = items.map((it, j) => <li key={j}>{inline(it.join("\n"), key * 100 + j)}</li>);
      const start = ordered ? parseInt(m[1]!, 10) : 1;
      b = ordered ? <ol key={key++} start={start !== 1 ? start : undefined}>{lis}</ol> : <ul key={key++}>{lis}</ul>;
    } else {
      const para: string[] = [];
      while (i < lines.length && !isBlank(lines[i]) && (para.length === 0 || !startsBlock(lines[i]!))) para.push(lines[i++]!);
      b = <p key={key++}>{inline(para.join("\n"), key)}</p>;
    }
    if (b) out.push(b);
  }
  return out;
}

export function Markdown({ source, class: cls }: { source: string; class?: string }) {
  return <div class={"md " + (cls ?? "")}>{renderMarkdown(source)}</div>;
}
