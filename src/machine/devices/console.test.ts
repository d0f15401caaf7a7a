import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BufferConsole } from "./console.js";

describe("BufferConsole", () => {
  it("collects output bytes and serves its input once, then -1", () => {
    const c = new BufferConsole("hé");
    assert.deepEqual([c.read(), c.read(), c.read(), c.read()], [0x68, 0xc3, 0xa9, -1]);
    for (const b of Buffer.from("ok\n")) c.write(b);
    assert.equal(c.text(), "ok\n");
  });

  it("appends fed input after what is still unread", () => {
    const c = new BufferConsole("ab");
    c.read();
    c.feed("c");
    assert.equal(String.fromCharCode(c.read(), c.read()), "bc");
    assert.equal(c.read(), -1);
  });
});

describe("StdioConsole", () => {
  it("echoes piped stdin to stdout in a real process and flushes on close", () => {
    const module = fileURLToPath(new URL("./console.js", import.meta.url));
    // A child that copies every input byte back through the console, upper-cased, until "." arrives.
    const script = `
      const { StdioConsole } = await import(${JSON.stringify(module)});
      const c = new StdioConsole();
      const timer = setInterval(() => {
        for (let b = c.read(); b >= 0; b = c.read()) {
          if (b === 0x2e) { clearInterval(timer); c.close(); return; }
          c.write(String.fromCharCode(b).toUpperCase().charCodeAt(0));
        }
      }, 1);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      input: "hello.",
      encoding: "utf8",
      timeout: 10_000,
    });
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "HELLO");
    assert.equal(r.status, 0);
  });
});
