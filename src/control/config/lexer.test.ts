import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Problems } from "./errors.js";
import { parseCInteger, type Token, tokenize } from "./lexer.js";

function lex(source: string): { tokens: Token[]; problems: string[] } {
  const problems = new Problems("t.cfg");
  const tokens = tokenize(source, problems);
  return { tokens, problems: problems.list.map((p) => `${p.pos.line}:${p.pos.column} ${p.message}`) };
}
const kinds = (source: string) => lex(source).tokens.map((t) => t.kind);

describe("xl.cfg lexer", () => {
  it("splits an assignment into key, operator, value and newline", () => {
    assert.deepEqual(kinds('name = "a"\n'), ["ident", "=", "string", "newline", "eof"]);
    assert.deepEqual(kinds("disk += [1,2];"), ["ident", "+=", "[", "number", ",", "number", "]", ";", "eof"]);
  });

  it("gives every token its line and column", () => {
    const { tokens } = lex('a = 1\n  bb = "x"');
    const bb = tokens.find((t) => t.text === "bb")!;
    assert.deepEqual(bb.pos, { line: 2, column: 3 });
    assert.deepEqual(tokens.find((t) => t.kind === "string")!.pos, { line: 2, column: 8 });
  });

  it("reads a comment as the end of its line", () => {
    assert.deepEqual(kinds("a = 1 # memory, in MiB\nb = 2"), [
      "ident",
      "=",
      "number",
      "newline",
      "ident",
      "=",
      "number",
      "eof",
    ]);
  });

  it("treats CR before LF as a blank", () => {
    assert.deepEqual(kinds("a = 1\r\nb = 2\r\n"), [
      "ident",
      "=",
      "number",
      "newline",
      "ident",
      "=",
      "number",
      "newline",
      "eof",
    ]);
  });

  it("reads numbers as C does: decimal, 0x hex and leading-zero octal", () => {
    const values = lex("a = [10, 0x1f, 017, 0]")
      .tokens.filter((t) => t.kind === "number")
      .map((t) => t.value);
    assert.deepEqual(values, [10, 31, 15, 0]);
  });

  it("decodes every escape in single and double quoted strings", () => {
    const { tokens } = lex(String.raw`a = "q\" s\' b\\ \a\b\f\n\r\t\v \x41 \101 \0"` + String.raw` 'x\'y'`);
    const strings = tokens.filter((t) => t.kind === "string").map((t) => t.text);
    assert.deepEqual(strings, ["q\" s' b\\ \x07\b\f\n\r\t\v A A \0", "x'y"]);
  });

  it("keeps a double quote inside single quotes and the other way round", () => {
    const strings = lex(`a = ['say "hi"', "it's"]`)
      .tokens.filter((t) => t.kind === "string")
      .map((t) => t.text);
    assert.deepEqual(strings, ['say "hi"', "it's"]);
  });

  it("reports an unterminated string at its opening quote", () => {
    assert.deepEqual(lex('a = "abc\nb = 1').problems, ['1:5 unterminated string (missing ")']);
    assert.deepEqual(lex("a = 'abc").problems, ["1:5 unterminated string (missing ')"]);
  });

  it("reports bad escapes where they are", () => {
    assert.deepEqual(lex(String.raw`a = "x\q"`).problems, ["1:7 unknown escape \\q in string"]);
    assert.deepEqual(lex(String.raw`a = "\x4"`).problems, ["1:6 \\x must be followed by two hex digits"]);
    assert.deepEqual(lex(String.raw`a = "\777"`).problems, ["1:6 octal escape \\777 is larger than a byte"]);
  });

  it("rejects numbers that are not C integers, and fractions", () => {
    assert.match(lex("a = 12abc").problems[0]!, /^1:5 "12abc" is not a number/);
    assert.match(lex("a = 08").problems[0]!, /"08" is not a number/);
    assert.match(lex("a = 1.5").problems[0]!, /numbers are integers/);
    assert.match(lex("a = 99999999999999999999").problems[0]!, /at most 2\^53-1/);
    assert.deepEqual(lex("memory = 512M").problems, [
      '1:10 "512M" is not a number: sizes take no unit (memory and maxmem are in MiB)',
    ]);
    assert.match(lex("memory = 2GiB").problems[0]!, /sizes take no unit/);
  });

  it("says that Python syntax is not xl.cfg syntax", () => {
    assert.match(lex("a = -1").problems[0]!, /^1:5 unexpected "-": xl.cfg is not Python/);
    assert.match(lex("a = f(1)").problems[0]!, /unexpected "\(": xl.cfg is not Python/);
  });

  it("rejects stray characters, then carries on with the next line", () => {
    const { tokens, problems } = lex("a = @\nb = 2");
    assert.deepEqual(problems, ['1:5 unexpected character "@"']);
    assert.ok(tokens.some((t) => t.text === "b"));
  });
});

describe("parseCInteger", () => {
  it("accepts exactly what strtol(…, 0) reads whole", () => {
    assert.equal(parseCInteger("0x10"), 16);
    assert.equal(parseCInteger("010"), 8);
    assert.equal(parseCInteger("10"), 10);
    assert.equal(parseCInteger("0"), 0);
    assert.equal(parseCInteger(""), undefined);
    assert.equal(parseCInteger("0x"), undefined);
    assert.equal(parseCInteger("1e3"), undefined);
    assert.equal(parseCInteger("-1"), undefined);
  });
});
