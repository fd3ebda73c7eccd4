/**
 * A small, forgiving XML reader: enough for the JUnit reports test runners write (elements,
 * attributes, text, CDATA, comments, the five named entities and numeric references). It skips
 * the prolog, DOCTYPE and processing instructions, never resolves external entities (no XXE),
 * and recovers from what real reports get wrong: an unclosed element at the end of a truncated
 * file is closed, a stray `&` stays text, a mismatched end tag closes up to its opening element.
 * No dependency: the formats we read use a fraction of XML, and a hand-written reader of that
 * fraction is easier to keep safe than a general parser.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), children's text excluded. */
  text: string;
  /** Its end tag was seen (or it closed itself): false for what a truncated file left open. */
  closed: boolean;
}

/** Stop at this depth: a report nests a few levels, a hostile file thousands. */
const MAX_DEPTH = 256;

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref] ?? whole;
  });
}

const ATTR = /([^\s=/>]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

function parseAttrs(s: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of s.matchAll(ATTR)) attrs[m[1]] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  return attrs;
}

/** The document's root element (a synthetic `#document` holding several roots, if there are). */
export function parseXml(text: string): XmlElement {
  const doc: XmlElement = { name: '#document', attrs: {}, children: [], text: '', closed: true };
  const stack: XmlElement[] = [doc];
  const top = () => stack[stack.length - 1];
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (pos < text.length) {
    const lt = text.indexOf('<', pos);
    if (lt < 0) {
      top().text += decodeEntities(text.slice(pos));
      break;
    }
    if (lt > pos) top().text += decodeEntities(text.slice(pos, lt));
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      pos = end < 0 ? text.length : end + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      top().text += text.slice(lt + 9, end < 0 ? text.length : end);
      pos = end < 0 ? text.length : end + 3;
    } else if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      pos = end < 0 ? text.length : end + 2;
    } else if (text.startsWith('<!', lt)) {
      pos = skipDeclaration(text, lt);
    } else if (text[lt + 1] === '/') {
      const end = text.indexOf('>', lt);
      const name = text.slice(lt + 2, end < 0 ? text.length : end).trim();
      // Close up to the matching element; an end tag nothing opened is ignored.
      const at = stack.map((e) => e.name).lastIndexOf(name);
      if (at > 0) {
        stack[at].closed = true;
        stack.length = at;
      }
      pos = end < 0 ? text.length : end + 1;
    } else if (!/[A-Za-z_:]/.test(text[lt + 1] ?? '')) {
      top().text += '<'; // `a < b` in sloppy text
      pos = lt + 1;
    } else {
      const end = tagEnd(text, lt + 1);
      if (end < 0) break; // a truncated tag at the end of the file
      const raw = text.slice(lt + 1, end);
      const selfClosing = raw.endsWith('/');
      const body = selfClosing ? raw.slice(0, -1) : raw;
      const nameEnd = body.search(/[\s]/);
      const name = nameEnd < 0 ? body : body.slice(0, nameEnd);
      const el: XmlElement = { name, attrs: nameEnd < 0 ? {} : parseAttrs(body.slice(nameEnd)), children: [], text: '', closed: selfClosing };
      top().children.push(el);
      if (!selfClosing && stack.length < MAX_DEPTH) stack.push(el);
      pos = end + 1;
    }
  }
  return doc.children.length === 1 && !doc.text.trim() ? doc.children[0] : doc;
}

/** The `>` ending a start tag, skipping quoted attribute values (which may hold `>`). */
function tagEnd(text: string, from: number): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
    else if (c === '<') return -1; // never closed: treat as truncated
  }
  return -1;
}

/** Past a `<!DOCTYPE …>` (with an internal subset in brackets) or another `<!…>` declaration. */
function skipDeclaration(text: string, lt: number): number {
  let depth = 0;
  for (let i = lt + 2; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '>' && depth <= 0) return i + 1;
  }
  return text.length;
}

/** Depth-first, document order: every element named `name` (the root included). */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    for (const c of e.children) walk(c);
  };
  walk(root);
  return out;
}
