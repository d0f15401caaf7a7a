/**
 * The tokenizer of xl.cfg files, following libxlu's flex scanner (tools/libs/util/libxlu_cfg_l.l):
 *
 *   IDENT    [a-z][_0-9a-z]*          key names (we also lex upper case, to say what is wrong)
 *   NUMBER   [0-9][0-9a-zA-Z_]*       then checked as a C integer: 0x1f hex, 017 octal, 15 decimal
 *   STRING   '...' or "..."           no raw newline inside; escapes \' \" \\ \a \b \f \n \r \t \v
 *                                     \xHH (two hex digits) and \ooo (one to three octal digits)
 *   punct    ,  [  ]  =  +=  ;
 *   NEWLINE  \n, or # comment up to and including \n (a comment ends a statement like a newline)
 *   blank    space, tab, and \r before \n
 *
 * libxlu's own octal and hex escapes are broken (octal digits are read in base 10, and a \x escape
 * is always rejected); we decode them as C does. An unknown escape such as \q is an error here where
 * libxlu silently drops it. Characters such as + - . ( ) : are Python, which xm accepted and xl does
 * not; saying so helps people porting old configs.
 *
 * A lexical error is recorded and the rest of its line skipped, so one pass reports every bad line.
 */
import type { Position, Problems } from "./errors.js";

export type TokenKind =
  | "ident"
  | "number"
  | "string"
  | ","
  | "["
  | "]"
  | "="
  | "+="
  | ";"
  | "newline"
  | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** Identifier name, number literal, or decoded string. */
  readonly text: string;
  /** Numeric value of a number token. */
  readonly value?: number;
  readonly pos: Position;
}

const PYTHON_CHARS = "+-.():";

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  "\\": "\\",
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** Parses a C integer literal as strtol(…, 0) would accept it whole; undefined if it is not one. */
export function parseCInteger(text: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = Number.parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) n = text.length === 1 ? 0 : Number.parseInt(text.slice(1), 8);
  else if (/^[1-9][0-9]*$/.test(text)) n = Number.parseInt(text, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function tokenize(source: string, problems: Problems): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): Position => ({ line, column: at - lineStart + 1 });

  /** Records a problem and skips to the end of the line (the newline itself is still lexed). */
  const fail = (at: number, message: string) => {
    problems.add(pos(at), message);
    while (i < source.length && source[i] !== "\n") i++;
  };

  while (i < source.length) {
    const c = source[i]!;
    const start = i;
    if (c === " " || c === "\t" || (c === "\r" && source[i + 1] === "\n")) {
      i++;
    } else if (c === "\n" || c === "#") {
      while (source[i] !== "\n" && i < source.length) i++;
      tokens.push({ kind: "newline", text: "\n", pos: pos(start) });
      i++;
      line++;
      lineStart = i;
    } else if (c === "," || c === "[" || c === "]" || c === "=" || c === ";") {
      tokens.push({ kind: c, text: c, pos: pos(start) });
      i++;
    } else if (c === "+" && source[i + 1] === "=") {
      tokens.push({ kind: "+=", text: "+=", pos: pos(start) });
      i += 2;
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < source.length && /[A-Za-z0-9_]/.test(source[i]!)) i++;
      tokens.push({ kind: "ident", text: source.slice(start, i), pos: pos(start) });
    } else if (/[0-9]/.test(c)) {
      while (i < source.length && /[0-9A-Za-z_]/.test(source[i]!)) i++;
      const text = source.slice(start, i);
      if (source[i] === ".") {
        fail(start, `"${text}${source[i]}…": numbers are integers (decimal, 0x hex or 0 octal)`);
        continue;
      }
      const value = parseCInteger(text);
      if (value === undefined && /^\d+[KMGT]i?B?$/i.test(text)) {
        fail(start, `"${text}" is not a number: sizes take no unit (memory and maxmem are in MiB)`);
        continue;
      }
      if (value === undefined) {
        fail(start, `"${text}" is not a number (decimal, 0x hex or 0 octal, at most 2^53-1)`);
        continue;
      }
      tokens.push({ kind: "number", text, value, pos: pos(start) });
    } else if (c === "'" || c === '"') {
      const decoded = lexString(source, i, c);
      if (typeof decoded === "object" && "error" in decoded) {
        fail(decoded.at, decoded.error);
        continue;
      }
      tokens.push({ kind: "string", text: decoded.text, pos: pos(start) });
      i = decoded.end;
    } else if (PYTHON_CHARS.includes(c)) {
      fail(start, `unexpected "${c}": xl.cfg is not Python (no expressions, negative numbers or calls)`);
    } else {
      fail(start, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ kind: "eof", text: "", pos: pos(i) });
  return tokens;
}

type LexedString = { text: string; end: number } | { error: string; at: number };

/** Decodes the quoted string starting at `open`; `end` is the index after the closing quote. */
function lexString(source: string, open: number, quote: string): LexedString {
  let out = "";
  let i = open + 1;
  for (;;) {
    const c = source[i];
    if (c === undefined || c === "\n") return { error: `unterminated string (missing ${quote})`, at: open };
    if (c === quote) return { text: out, end: i + 1 };
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = source[i + 1];
    if (e === undefined || e === "\n") return { error: `unterminated string (missing ${quote})`, at: open };
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 2;
    } else if (e === "x") {
      const hex = source.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return { error: "\\x must be followed by two hex digits", at: i };
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 4;
    } else if (/[0-7]/.test(e)) {
      const oct = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4))![0];
      const code = Number.parseInt(oct, 8);
      if (code > 0xff) return { error: `octal escape \\${oct} is larger than a byte`, at: i };
      out += String.fromCharCode(code);
      i += 1 + oct.length;
    } else {
      return { error: `unknown escape \\${e} in string`, at: i };
    }
  }
}
