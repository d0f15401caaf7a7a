/** The daemon's console buffer: offsets that keep counting, a bounded log, queued input, listeners. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConsoleLog } from "./console-log.js";

const put = (c: ConsoleLog, text: string) => {
  for (const b of Buffer.from(text)) c.write(b);
};

describe("ConsoleLog", () => {
  it("keeps output and serves it from a byte offset", () => {
    const c = new ConsoleLog();
    put(c, "hello ");
    put(c, "world");
    assert.equal(c.text(), "hello world");
    const s = c.since(6);
    assert.equal(s.bytes.toString(), "world");
    assert.deepEqual([s.from, s.to, s.dropped], [6, 11, 0]);
    assert.equal(c.since(99).bytes.length, 0);
  });

  it("drops the oldest output beyond its limit, and offsets keep counting", () => {
    const c = new ConsoleLog(16);
    put(c, "0123456789abcdefXYZ");
    assert.equal(c.end, 19);
    const s = c.since(0);
    assert.equal(s.dropped + s.bytes.length, 19);
    assert.ok(s.bytes.length <= 16);
    assert.ok(s.bytes.toString().endsWith("defXYZ"));
    assert.equal(c.since(17).bytes.toString(), "YZ");
  });

  it("queues input bytes until the guest reads them", () => {
    const c = new ConsoleLog();
    assert.equal(c.read(), -1);
    c.feed(Buffer.from("ab"));
    assert.equal(c.read(), 0x61);
    assert.equal(c.read(), 0x62);
    assert.equal(c.read(), -1);
  });

  it("tells each listener the output written after it started listening, in chunks", async () => {
    const c = new ConsoleLog();
    put(c, "before ");
    const got: string[] = [];
    const stop = c.listen((b) => got.push(b.toString()));
    put(c, "one ");
    put(c, "two");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ["one two"]);
    stop();
    put(c, "three");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ["one two"]);
  });
});
