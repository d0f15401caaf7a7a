import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ram } from "../ram.js";
import { BufferConsole } from "./console.js";
import { Htif, type HtifExit } from "./htif.js";

const BASE = 0x8000_0000;
const TOHOST = BASE + 0x1000;
const FROMHOST = BASE + 0x1040;
const MAGIC = BASE + 0x2000;
const TEXT = BASE + 0x3000;

function setup(options: { fromhost?: boolean } = {}) {
  const fromhost = options.fromhost === false ? undefined : FROMHOST;
  const ram = new Ram(BASE, 0x1_0000);
  const console = new BufferConsole("k");
  const exits: HtifExit[] = [];
  const htif = new Htif(ram, TOHOST, fromhost, console, (e) => exits.push(e));
  const view = new DataView(ram.buffer);
  const peek32 = (paddr: number) => view.getUint32(paddr - BASE, true);
  const poke32 = (paddr: number, v: number) => view.setUint32(paddr - BASE, v >>> 0, true);
  /** A guest store as the CPU performs it: into RAM, then reported to the watcher. */
  const store32 = (paddr: number, v: number) => {
    poke32(paddr, v);
    htif.handleStore(paddr, 4, v >>> 0);
  };
  /** tohost = (device << 56) | (cmd << 48) | payload, written low word first as RV32 code does. */
  const toHost = (device: number, cmd: number, payload: number) => {
    store32(TOHOST, payload % 2 ** 32);
    store32(TOHOST + 4, (device << 24) | (cmd << 16) | Math.floor(payload / 2 ** 32));
  };
  const fromHost = () => [peek32(FROMHOST), peek32(FROMHOST + 4)];
  return { ram, console, exits, htif, peek32, poke32, store32, toHost, fromHost };
}

describe("Htif", () => {
  it("ends the run with success when tohost is 1", () => {
    const { toHost, exits } = setup();
    toHost(0, 0, 1);
    assert.deepEqual(exits, [{ kind: "htif", code: 0 }]);
  });

  it("ends the run with exit code v >> 1 for any other odd v", () => {
    const { toHost, exits } = setup();
    toHost(0, 0, (23 << 1) | 1);
    assert.deepEqual(exits, [{ kind: "htif", code: 23 }]);
  });

  it("acts only once the high word is written", () => {
    const { store32, exits, peek32 } = setup();
    store32(TOHOST, 1);
    assert.deepEqual(exits, []);
    store32(TOHOST + 4, 0);
    assert.equal(exits.length, 1);
    assert.equal(peek32(TOHOST), 0, "tohost is cleared once taken");
  });

  it("ignores other stores in the watched frame", () => {
    const { store32, exits, console } = setup();
    store32(TOHOST + 8, 1);
    store32(TOHOST - 4, 0x0101_0000);
    assert.deepEqual(exits, []);
    assert.equal(console.text(), "");
  });

  it("prints console putchar commands and replies 0x100 | char", () => {
    const { toHost, console, fromHost, exits } = setup();
    toHost(1, 1, 0x41);
    assert.equal(console.text(), "A");
    assert.deepEqual(fromHost(), [0x141, 0x0101_0000]);
    assert.deepEqual(exits, []);
  });

  it("queues replies until the guest clears fromhost", () => {
    const { toHost, console, fromHost, store32 } = setup();
    toHost(1, 1, 0x61);
    toHost(1, 1, 0x62);
    assert.equal(console.text(), "ab");
    assert.deepEqual(fromHost(), [0x161, 0x0101_0000]);
    store32(FROMHOST, 0);
    assert.deepEqual(fromHost(), [0, 0x0101_0000], "only half cleared");
    store32(FROMHOST + 4, 0);
    assert.deepEqual(fromHost(), [0x162, 0x0101_0000]);
  });

  it("answers getchar with a waiting key", () => {
    const { toHost, fromHost } = setup();
    toHost(1, 0, 0);
    assert.deepEqual(fromHost(), [0x6b, 0x0100_0000]);
  });

  it("proxies write(1, buf, len) to the console and returns len in magic_mem[0]", () => {
    const { ram, poke32, peek32, toHost, console, fromHost, exits } = setup();
    ram.u8.set(Buffer.from("mcycle = 1234\n"), TEXT - BASE);
    for (const [i, v] of [64, 1, TEXT, 14].entries()) poke32(MAGIC + 8 * i, v);
    toHost(0, 0, MAGIC);
    assert.equal(console.text(), "mcycle = 1234\n");
    assert.equal(peek32(MAGIC), 14);
    assert.equal(peek32(MAGIC + 4), 0);
    assert.deepEqual(fromHost(), [1, 0]);
    assert.deepEqual(exits, []);
  });

  it("returns -EBADF for writes to other descriptors", () => {
    const { poke32, peek32, toHost, console } = setup();
    for (const [i, v] of [64, 3, TEXT, 4].entries()) poke32(MAGIC + 8 * i, v);
    toHost(0, 0, MAGIC);
    assert.equal(console.text(), "");
    assert.equal(peek32(MAGIC) | 0, -9);
    assert.equal(peek32(MAGIC + 4), 0xffff_ffff);
  });

  it("ends the run through the exit syscall, as Spike does", () => {
    const { poke32, toHost, exits } = setup();
    for (const [i, v] of [93, 3].entries()) poke32(MAGIC + 8 * i, v);
    toHost(0, 0, MAGIC);
    assert.deepEqual(exits, [{ kind: "htif", code: 3 }]);
  });

  it("fails the run naming an unsupported syscall", () => {
    const { poke32, toHost, exits } = setup();
    poke32(MAGIC, 214);
    toHost(0, 0, MAGIC);
    assert.equal(exits.length, 1);
    assert.equal(exits[0].code, 1);
    assert.match(exits[0].error ?? "", /unsupported syscall 214/);
  });

  it("fails the run on an unknown device and on a syscall block outside RAM", () => {
    const a = setup();
    a.toHost(7, 2, 5);
    assert.match(a.exits[0].error ?? "", /device 7, cmd 2/);
    const b = setup();
    b.toHost(0, 0, 0x1000);
    assert.match(b.exits[0].error ?? "", /0x1000 is not in RAM/);
  });

  it("writes no reply when the program has no fromhost", () => {
    const { toHost, console, peek32 } = setup({ fromhost: false });
    toHost(1, 1, 0x21);
    assert.equal(console.text(), "!");
    assert.equal(peek32(FROMHOST), 0);
  });

  it("rejects a tohost that is not an aligned word in RAM", () => {
    const ram = new Ram(BASE, 0x1000);
    const c = new BufferConsole();
    assert.throws(() => new Htif(ram, BASE + 4, undefined, c, () => {}), /tohost at 0x80000004/);
    assert.throws(() => new Htif(ram, BASE, BASE + 0x1000, c, () => {}), /fromhost at 0x80001000/);
  });
});
