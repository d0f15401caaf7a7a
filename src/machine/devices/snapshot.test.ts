/**
 * Device snapshots: a PLIC or UART restored from another's snapshot behaves exactly as the original from
 * then on (random register traffic, lines, input), and a bad snapshot is refused without a change.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ConsoleBackend } from "./console.js";
import { Plic } from "./plic.js";
import { recordingHarts } from "./recording-hart.js";
import { DeviceStateError } from "./snapshot.js";
import { Uart16550 } from "./uart16550.js";

/** A console whose unread input can be copied (a restored UART's host side gets the same queue). */
class QueueConsole implements ConsoleBackend {
  readonly out: number[] = [];
  constructor(readonly input: number[] = []) {}
  write(b: number): void {
    this.out.push(b);
  }
  read(): number {
    return this.input.length > 0 ? (this.input.shift() as number) : -1;
  }
}

type UartOp =
  | { op: "read"; reg: number }
  | { op: "write"; reg: number; value: number }
  | { op: "poll" }
  | { op: "input"; bytes: number[] };

const uartOp: fc.Arbitrary<UartOp> = fc.oneof(
  fc.record({ op: fc.constant("read" as const), reg: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant("write" as const),
    reg: fc.integer({ min: 0, max: 7 }),
    // FCR values that switch the FIFOs on and pick trigger levels are the interesting ones.
    value: fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x01, 0xc1, 0x41, 0x07, 0x0f, 0x80, 0x03),
    ),
  }),
  fc.constant({ op: "poll" as const }),
  fc.record({
    op: fc.constant("input" as const),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }),
  }),
);

function uartRig(input: number[] = []) {
  const console = new QueueConsole(input);
  const irq: boolean[] = [];
  const uart = new Uart16550((l) => irq.push(l), console);
  const apply = (o: UartOp): number | undefined => {
    if (o.op === "read") return uart.read(o.reg, 1);
    if (o.op === "write") uart.write(o.reg, 1, o.value);
    else if (o.op === "poll") uart.poll();
    else console.input.push(...o.bytes);
    return undefined;
  };
  return { uart, console, irq, apply };
}

type PlicOp =
  | { op: "line"; source: number; level: boolean }
  | { op: "edge" }
  | { op: "write"; offset: number; value: number }
  | { op: "read"; offset: number };

const plicOffset = fc.oneof(
  fc.integer({ min: 0, max: 4 }).map((s) => 4 * s), // priorities
  fc.constant(0x1000), // pending
  fc.integer({ min: 0, max: 3 }).map((c) => 0x2000 + 0x80 * c), // enables, word 0
  fc.integer({ min: 0, max: 3 }).map((c) => 0x20_0000 + 0x1000 * c), // thresholds
  fc.integer({ min: 0, max: 3 }).map((c) => 0x20_0004 + 0x1000 * c), // claim / complete
);

const plicOp: fc.Arbitrary<PlicOp> = fc.oneof(
  // A few sources, so that lines, priorities, enables and claims meet often.
  fc.record({
    op: fc.constant("line" as const),
    source: fc.integer({ min: 1, max: 3 }),
    level: fc.boolean(),
  }),
  fc.record({
    op: fc.constant("write" as const),
    offset: plicOffset,
    value: fc.integer({ min: 0, max: 0x1f }),
  }),
  fc.constant({ op: "edge" as const }), // source 4, edge-triggered
  fc.record({ op: fc.constant("read" as const), offset: plicOffset }),
);

function plicRig() {
  const harts = recordingHarts(2);
  const plic = new Plic(harts);
  const lines = new Map<number, (l: boolean) => void>();
  const edge = plic.edge(4);
  const apply = (o: PlicOp): number | undefined => {
    if (o.op === "read") return plic.read(o.offset, 4);
    if (o.op === "write") plic.write(o.offset, 4, o.value);
    else if (o.op === "edge") edge();
    else {
      const line = lines.get(o.source) ?? plic.line(o.source);
      lines.set(o.source, line);
      line(o.level);
    }
    return undefined;
  };
  return { plic, harts, apply };
}

describe("device snapshots", () => {
  it("a UART restored from a snapshot answers every later access as the original does", () => {
    fc.assert(
      fc.property(
        fc.array(uartOp, { maxLength: 80, size: "max" }),
        fc.array(uartOp, { maxLength: 80, size: "max" }),
        (before, after) => {
          const a = uartRig();
          for (const o of before) a.apply(o);
          const b = uartRig([...a.console.input]);
          b.uart.restore(JSON.parse(JSON.stringify(a.uart.snapshot())));
          assert.deepEqual(b.uart.snapshot(), a.uart.snapshot());
          const sentBefore = a.console.out.length;
          const irqBefore = a.irq.length;
          for (const o of after) assert.equal(b.apply(o), a.apply(o), JSON.stringify(o));
          assert.deepEqual(b.console.out, a.console.out.slice(sentBefore));
          assert.deepEqual(b.irq, a.irq.slice(irqBefore));
          assert.deepEqual(b.uart.snapshot(), a.uart.snapshot());
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a PLIC restored from a snapshot claims, completes and drives the harts as the original does", () => {
    fc.assert(
      fc.property(
        fc.array(plicOp, { maxLength: 80, size: "max" }),
        fc.array(plicOp, { maxLength: 80, size: "max" }),
        (before, after) => {
          const a = plicRig();
          for (const o of before) a.apply(o);
          const b = plicRig();
          b.plic.restore(JSON.parse(JSON.stringify(a.plic.snapshot())));
          assert.deepEqual(b.plic.snapshot(), a.plic.snapshot());
          // The harts' own saved state carries the levels the PLIC last drove.
          for (const [i, h] of b.harts.entries()) h.mip = a.harts[i].mip;
          for (const o of after) {
            assert.equal(b.apply(o), a.apply(o), JSON.stringify(o));
            assert.deepEqual(
              b.harts.map((h) => h.mip),
              a.harts.map((h) => h.mip),
            );
          }
          assert.deepEqual(b.plic.snapshot(), a.plic.snapshot());
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a bad snapshot, naming the field, and keeps its state", () => {
    const u = uartRig();
    u.uart.write(7, 1, 0x5a);
    const kept = u.uart.snapshot();
    assert.throws(
      () => u.uart.restore({ ...kept, rxFifo: new Array(17).fill(0) }),
      (e) => e instanceof DeviceStateError && /^rxFifo: 17 entries, want at most 16$/.test(e.message),
    );
    assert.throws(
      () => u.uart.restore({ ...kept, triggerLevel: 3 }),
      /triggerLevel: 3 is not one of 1, 4, 8, 14/,
    );
    assert.throws(() => u.uart.restore({ ...kept, scr: 256 }), /scr: 256 is not an integer in 0\.\.255/);
    assert.deepEqual(u.uart.snapshot(), kept);

    const p = plicRig();
    p.plic.write(4, 4, 5);
    const was = p.plic.snapshot();
    assert.throws(
      () => p.plic.restore({ ...was, threshold: [0, 0] }),
      (e) => e instanceof DeviceStateError && e.message === "threshold: 2 entries, want 4",
    );
    assert.throws(() => p.plic.restore({ ...was, priority: was.priority.map(() => 9) }), /priority\[0\]: 9/);
    assert.deepEqual(p.plic.snapshot(), was);
  });
});
