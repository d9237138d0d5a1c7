/**
 * A strict little XML reader for the demo's SVG: enough to say the file is well formed (one root,
 * every tag closed in order, attributes quoted, no stray `<` or `&`) and to list its elements.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
}

const NAME = /^[A-Za-z_][\w.-]*/;
const ATTR = /^\s+([A-Za-z_][\w.:-]*)="([^"<]*)"/;
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function checkText(text: string, at: number): void {
  if (text.replace(ENTITY, "").includes("&")) throw new Error(`unescaped & in text at ${at}`);
}

/** Every element in document order; throws on anything not well formed. */
export function parseXml(doc: string): XmlElement[] {
  const out: XmlElement[] = [];
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < doc.length) {
    const lt = doc.indexOf("<", i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    checkText(text, i);
    if (stack.length === 0 && text.trim() !== "") throw new Error(`text outside the root element at ${i}`);
    if (lt < 0) break;
    if (doc.startsWith("<?", lt)) {
      const end = doc.indexOf("?>", lt);
      if (end < 0) throw new Error("unterminated processing instruction");
      i = end + 2;
      continue;
    }
    if (doc.startsWith("</", lt)) {
      const m = NAME.exec(doc.slice(lt + 2));
      const name = m?.[0];
      if (name === undefined || doc[lt + 2 + name.length] !== ">") throw new Error(`bad closing tag at ${lt}`);
      if (stack.pop() !== name) throw new Error(`</${name}> at ${lt} does not close the open element`);
      i = lt + 3 + name.length;
      continue;
    }
    const m = NAME.exec(doc.slice(lt + 1));
    if (m === null) throw new Error(`bad tag at ${lt}`);
    const name = m[0];
    let j = lt + 1 + name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const a = ATTR.exec(doc.slice(j));
      if (a === null) break;
      if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]} at ${j}`);
      checkText(a[2]!, j);
      attrs[a[1]!] = a[2]!;
      j += a[0].length;
    }
    while (doc[j] === " ") j++;
    const selfClosing = doc.startsWith("/>", j);
    if (!selfClosing && doc[j] !== ">") throw new Error(`bad attribute or unterminated tag <${name}> at ${j}`);
    if (stack.length === 0 && roots++ > 0) throw new Error("more than one root element");
    out.push({ name, attrs });
    if (!selfClosing) stack.push(name);
    i = j + (selfClosing ? 2 : 1);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  if (roots !== 1) throw new Error("no root element");
  return out;
}
