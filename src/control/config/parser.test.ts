import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Value } from "./ast.js";
import { ConfigError } from "./errors.js";
import { parseConfigText } from "./parser.js";

/** The tree's values as plain data, for comparing. */
function plain(v: Value): unknown {
  if (v.kind === "list") return v.items.map(plain);
  return v.value;
}
const settings = (text: string) =>
  parseConfigText(text, "t.cfg").assignments.map((a) => [a.key, a.op, plain(a.value)]);

function errorOf(text: string): string {
  try {
    parseConfigText(text, "vm.cfg");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.message;
  }
  assert.fail("expected a ConfigError");
}

describe("xl.cfg parser", () => {
  it("reads assignments of strings, numbers and lists", () => {
    assert.deepEqual(settings('name = "a"\nmemory = 512\ndisk = [ "x", "y" ]\n'), [
      ["name", "=", "a"],
      ["memory", "=", 512],
      ["disk", "=", ["x", "y"]],
    ]);
  });

  it("accepts ';' between assignments and a last line without newline", () => {
    assert.deepEqual(settings('name="h0"; type="hvm"'), [
      ["name", "=", "h0"],
      ["type", "=", "hvm"],
    ]);
  });

  it("reads lists that span lines, hold comments and end with a comma", () => {
    const text = "disk = [\n  'a', # first\n\n  'b',\n]\nvcpus = 2\n";
    assert.deepEqual(settings(text), [
      ["disk", "=", ["a", "b"]],
      ["vcpus", "=", 2],
    ]);
  });

  it("reads empty and nested lists", () => {
    assert.deepEqual(settings("a = []\nb = [[1, 'x'], []]"), [
      ["a", "=", []],
      ["b", "=", [[1, "x"], []]],
    ]);
  });

  it("keeps += as its own operator", () => {
    assert.deepEqual(settings("a = 'x'\na += 'y'"), [
      ["a", "=", "x"],
      ["a", "+=", "y"],
    ]);
  });

  it("records the position of keys and values", () => {
    const [a] = parseConfigText("\n  memory = 64", "t.cfg").assignments;
    assert.deepEqual(a!.pos, { line: 2, column: 3 });
    assert.deepEqual(a!.value.pos, { line: 2, column: 12 });
  });

  it("ignores blank lines and comment-only files", () => {
    assert.deepEqual(settings("# nothing\n\n;;\n"), []);
  });

  it("names the file, line and key of a bare word", () => {
    assert.equal(
      errorOf("name = 'a'\nmemory = lots\n"),
      'vm.cfg:2: memory: bare word "lots": strings must be quoted, as in "lots" or \'lots\'',
    );
  });

  it("wants '=' after a key", () => {
    assert.equal(errorOf("memory 512"), 'vm.cfg:1: memory: expected "=" after the key, got "512"');
  });

  it("wants a value after '='", () => {
    assert.equal(
      errorOf("memory =\n"),
      "vm.cfg:1: memory: expected a value (a quoted string, a number or a [list]), got end of line",
    );
    assert.equal(
      errorOf("memory = ]"),
      'vm.cfg:1: memory: expected a value (a quoted string, a number or a [list]), got "]"',
    );
  });

  it("wants a key at the start of a statement", () => {
    assert.equal(errorOf("= 3"), 'vm.cfg:1:1: expected a key name, got "="');
    assert.equal(errorOf("'x' = 3"), 'vm.cfg:1:1: expected a key name, got string "x"');
  });

  it("says keys are lower case and suggests the lower-case key", () => {
    assert.equal(
      errorOf("Memory = 3"),
      'vm.cfg:1:1: "Memory" is not a key name: keys are lower case ([a-z][_0-9a-z]*) (did you mean "memory"?)',
    );
  });

  it("wants the end of the line after a value", () => {
    assert.equal(
      errorOf("memory = 3 4"),
      'vm.cfg:1: memory: expected the end of the line or ";" after the value, got "4"',
    );
  });

  it("wants commas between list items and says where the list began", () => {
    assert.equal(
      errorOf("disk = ['a'\n 'b']"),
      'vm.cfg:2: disk: expected "," or "]" in the list opened at line 1, got string "b"',
    );
  });

  it("reports an unclosed list at the end of the file", () => {
    assert.equal(
      errorOf("disk = ['a',\n"),
      "vm.cfg:2: disk: expected a value (a quoted string, a number or a [list]), got end of file",
    );
  });

  it("reports every bad line, and recovers after a bad multi-line list", () => {
    const message = errorOf("a = x\nb = [1 2,\n 3]\nc = 3 3\nd = 4\n");
    assert.deepEqual(message.split("\n"), [
      'vm.cfg:1: a: bare word "x": strings must be quoted, as in "x" or \'x\'',
      'vm.cfg:2: b: expected "," or "]" in the list opened at line 2, got "2"',
      'vm.cfg:4: c: expected the end of the line or ";" after the value, got "3"',
    ]);
  });

  it("reports a lexical error once, without a parse error for the same line", () => {
    assert.equal(errorOf('a = "x\nb = 1'), 'vm.cfg:1:5: unterminated string (missing ")');
  });

  it("lists its problems on the error object, sorted by line", () => {
    try {
      parseConfigText("a = 1 1\nb = x", "vm.cfg");
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.problems.map((p) => [p.file, p.pos.line, p.key]),
        [
          ["vm.cfg", 1, "a"],
          ["vm.cfg", 2, "b"],
        ],
      );
    }
  });
});
