/** Small DOM helpers. Text always goes in through textContent: message data is never parsed as markup. */

/** The element with `id`, which the page's HTML must have. */
export function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`console page: #${id} is missing from index.html`);
  return found as T;
}

export interface ElementSpec {
  text?: string;
  className?: string;
  attrs?: Record<string, string>;
}

/** A new element with text, class and attributes set, holding `children` in order. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, spec: ElementSpec = {}, children: Node[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (spec.text !== undefined) node.textContent = spec.text;
  if (spec.className !== undefined) node.className = spec.className;
  for (const [name, value] of Object.entries(spec.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** A table cell holding `text`. */
export function cell(text: string, className?: string): HTMLTableCellElement {
  return element("td", className === undefined ? { text } : { text, className });
}

/** Local wall-clock time with milliseconds, e.g. "14:03:27.512". */
export function clockTime(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
