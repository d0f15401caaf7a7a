import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SifiveTest, type TestDeviceExit } from "./sifive-test.js";

function setup() {
  const exits: TestDeviceExit[] = [];
  return { dev: new SifiveTest((e) => exits.push(e)), exits };
}

describe("SifiveTest", () => {
  it("powers off with exit code 0 on 0x5555, whatever the upper half holds", () => {
    const { dev, exits } = setup();
    dev.write(0, 4, 0x5555);
    dev.write(0, 4, 0x0007_5555);
    assert.deepEqual(exits, [
      { kind: "poweroff", code: 0 },
      { kind: "poweroff", code: 0 },
    ]);
  });

  it("powers off with the code in bits 31:16 on 0x3333", () => {
    const { dev, exits } = setup();
    dev.write(0, 4, (42 << 16) | 0x3333);
    dev.write(0, 4, 0xffff_3333);
    assert.deepEqual(exits, [
      { kind: "poweroff", code: 42 },
      { kind: "poweroff", code: 0xffff },
    ]);
  });

  it("resets on 0x7777", () => {
    const { dev, exits } = setup();
    dev.write(0, 4, 0x7777);
    assert.deepEqual(exits, [{ kind: "reset", code: 0 }]);
  });

  it("accepts a halfword command, as QEMU does", () => {
    const { dev, exits } = setup();
    dev.write(0, 2, 0x5555);
    assert.deepEqual(exits, [{ kind: "poweroff", code: 0 }]);
  });

  it("ignores other values, other offsets and byte writes, and reads as zero", () => {
    const { dev, exits } = setup();
    dev.write(0, 4, 0x1234);
    dev.write(4, 4, 0x5555);
    dev.write(0, 1, 0x55);
    assert.deepEqual(exits, []);
    assert.equal(dev.read(0, 4), 0);
  });
});
