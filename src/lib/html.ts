/** Plain, self-contained HTML for the few pages customers see. Every value is escaped. */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A tagged template that escapes interpolated values unless they are already `SafeHtml`. */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const text = Array.isArray(value)
      ? value.map((v) => (v instanceof SafeHtml ? v.html : escapeHtml(v))).join('')
      : value instanceof SafeHtml
        ? value.html
        : escapeHtml(value);
    out += text + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

export function htmlPage(title: string, body: SafeHtml): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.4rem}.note{color:#555;font-size:.95rem}</style></head>
<body>${body.html}</body></html>
`;
}
