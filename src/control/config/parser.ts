/**
 * The parser of xl.cfg files: tokens to a syntax tree. The grammar is libxlu's
 * (tools/libs/util/libxlu_cfg_y.y), written here as recursive descent:
 *
 *   file       := stmt* [assignment]                 a last line needs no newline
 *   stmt       := assignment endstmt | endstmt
 *   assignment := IDENT ('=' | '+=') value
 *   endstmt    := NEWLINE | ';'
 *   value      := atom | '[' nl* [values [',' nl*]] ']'   lists span lines, may end with a comma
 *   values     := value nl* (',' nl* value nl*)*
 *   atom       := STRING | NUMBER
 *
 * Keys follow libxlu's lexer, [a-z][_0-9a-z]*. After an error the parser skips to the next newline
 * (libxlu's `error NEWLINE` rule) and carries on, so every bad line is reported; a line that already
 * had a lexical error reports nothing more.
 */
import type { Assignment, AssignOp, ConfigFile, Value } from "./ast.js";
import { ConfigError, Problems } from "./errors.js";
import { type Token, tokenize } from "./lexer.js";

const KEY_PATTERN = /^[a-z][_0-9a-z]*$/;

class SyntaxFailure extends Error {}

/** Parses the text of a config file; `file` is the name errors use. Throws ConfigError. */
export function parseConfigText(source: string, file: string): ConfigFile {
  const problems = new Problems(file);
  const tokens = tokenize(source, problems);
  const lexErrorLines = new Set(problems.list.map((p) => p.pos.line));
  const assignments: Assignment[] = [];
  let at = 0;
  let currentKey: string | undefined;
  /** Lists open at the current token: recovery skips to a newline outside them. */
  let depth = 0;

  const peek = (): Token => tokens[at]!;
  /** The current token, moving on unless it is the end of file (which stays current). */
  const next = (): Token => {
    const t = tokens[at]!;
    if (t.kind !== "eof") at++;
    return t;
  };
  const fail = (token: Token, message: string): never => {
    if (!lexErrorLines.has(token.pos.line)) problems.add(token.pos, message, currentKey);
    throw new SyntaxFailure(message);
  };
  const describe = (t: Token): string => {
    switch (t.kind) {
      case "newline":
        return "end of line";
      case "eof":
        return "end of file";
      case "string":
        return `string ${JSON.stringify(t.text)}`;
      case "ident":
      case "number":
        return `"${t.text}"`;
      default:
        return `"${t.kind}"`;
    }
  };
  const skipNewlines = () => {
    while (peek().kind === "newline") next();
  };

  const parseValue = (): Value => {
    const t = next();
    if (t.kind === "string") return { kind: "string", value: t.text, pos: t.pos };
    if (t.kind === "number") return { kind: "number", text: t.text, value: t.value!, pos: t.pos };
    if (t.kind === "ident")
      return fail(t, `bare word "${t.text}": strings must be quoted, as in "${t.text}" or '${t.text}'`);
    if (t.kind !== "[")
      return fail(t, `expected a value (a quoted string, a number or a [list]), got ${describe(t)}`);
    const items: Value[] = [];
    depth++;
    skipNewlines();
    while (peek().kind !== "]") {
      items.push(parseValue());
      skipNewlines();
      const sep = peek();
      if (sep.kind === ",") {
        next();
        skipNewlines();
      } else if (sep.kind !== "]") {
        fail(sep, `expected "," or "]" in the list opened at line ${t.pos.line}, got ${describe(sep)}`);
      }
    }
    next();
    depth--;
    return { kind: "list", items, pos: t.pos };
  };

  const parseAssignment = () => {
    const keyToken = next();
    if (keyToken.kind !== "ident") fail(keyToken, `expected a key name, got ${describe(keyToken)}`);
    if (!KEY_PATTERN.test(keyToken.text)) {
      const lower = keyToken.text.toLowerCase();
      const hint = KEY_PATTERN.test(lower) ? ` (did you mean "${lower}"?)` : "";
      fail(keyToken, `"${keyToken.text}" is not a key name: keys are lower case ([a-z][_0-9a-z]*)${hint}`);
    }
    currentKey = keyToken.text;
    const opToken = next();
    if (opToken.kind !== "=" && opToken.kind !== "+=")
      fail(opToken, `expected "=" after the key, got ${describe(opToken)}`);
    const value = parseValue();
    const end = peek();
    if (end.kind !== "newline" && end.kind !== ";" && end.kind !== "eof") {
      fail(end, `expected the end of the line or ";" after the value, got ${describe(end)}`);
    }
    assignments.push({ key: keyToken.text, op: opToken.kind as AssignOp, value, pos: keyToken.pos });
  };

  while (peek().kind !== "eof") {
    const t = peek();
    if (t.kind === "newline" || t.kind === ";") {
      next();
      continue;
    }
    currentKey = undefined;
    depth = 0;
    try {
      parseAssignment();
    } catch (e) {
      if (!(e instanceof SyntaxFailure)) throw e;
      // libxlu's `error NEWLINE`, but a newline inside a list the bad line opened does not count.
      for (let t = peek(); t.kind !== "eof" && (t.kind !== "newline" || depth > 0); t = peek()) {
        if (t.kind === "[") depth++;
        if (t.kind === "]") depth--;
        next();
      }
    }
  }
  problems.throwIfAny();
  return { file, assignments };
}

export { ConfigError };
