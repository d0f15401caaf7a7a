/**
 * The virtio-mmio transport and the split virtqueue against a driver written in TypeScript: the
 * registers a driver probes, feature negotiation, queues, interrupts — and a hostile driver, whose
 * every broken rule ends in DEVICE_NEEDS_RESET (or an ignored notification), never a host exception,
 * never a byte written outside the domain.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DRAM_BASE } from "../../machine/memory-map.js";
import { makeVirtioEnv, TestDriver, type TestQueue } from "../testing/virtio-driver.js";
import {
  featureBits,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  type VirtioDevice,
  type VirtioTransport,
} from "./device.js";
import {
  INT_CONFIG_CHANGE,
  INT_USED_BUFFER,
  REG_CONFIG,
  REG_CONFIG_GENERATION,
  REG_DEVICE_FEATURES,
  REG_DEVICE_FEATURES_SEL,
  REG_DEVICE_ID,
  REG_INTERRUPT_ACK,
  REG_INTERRUPT_STATUS,
  REG_MAGIC,
  REG_QUEUE_DESC_LOW,
  REG_QUEUE_DEVICE_LOW,
  REG_QUEUE_DRIVER_LOW,
  REG_QUEUE_NUM,
  REG_QUEUE_NUM_MAX,
  REG_QUEUE_READY,
  REG_QUEUE_SEL,
  REG_SHM_LEN_LOW,
  REG_STATUS,
  REG_VENDOR_ID,
  REG_VERSION,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VirtioMmio,
} from "./mmio.js";
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "./queue.js";

/** A device for the transport's tests: each chain's readable bytes come back reversed in its writable part. */
class EchoDevice implements VirtioDevice {
  readonly deviceId = 0x7f;
  readonly name = "echo";
  readonly features = featureBits(3);
  readonly queueSizes = [16, 0];
  t: VirtioTransport | undefined;
  resets = 0;
  polls = 0;

  readConfig(offset: number): number {
    return offset === 0 ? 0xabcd_1234 : 0;
  }
  writeConfig(): void {}
  activate(t: VirtioTransport): void {
    this.t = t;
  }
  reset(): void {
    this.t = undefined;
    this.resets++;
  }
  poll(): void {
    this.polls++;
  }
  notify(queue: number): void {
    const q = this.t?.queue(queue);
    if (q === undefined) return;
    for (let c = q.pop(); c !== undefined; c = q.pop()) {
      const data = c.read(0, c.readableLength) ?? new Uint8Array();
      const n = Math.min(data.length, c.writableLength);
      c.write(0, data.reverse().subarray(0, n));
      q.push(c.head, n);
    }
    this.t?.usedBuffers(q);
  }
}

function setup() {
  const env = makeVirtioEnv();
  const dev = new EchoDevice();
  let line = false;
  const t = new VirtioMmio("virtio0 (echo)", env.mem, dev, (l) => {
    line = l;
  });
  const drv = new TestDriver(t, env.mem);
  return { env, dev, t, drv, line: () => line };
}

/** A ready echo device with queue 0 of 8 entries. */
function ready() {
  const s = setup();
  assert.ok(s.drv.init(featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC)));
  const q = s.drv.setupQueue(0, 8);
  s.drv.driverOk();
  return { ...s, q };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("the virtio-mmio transport", () => {
  it("identifies itself as a version 2 device with its ID, queues, features and configuration space", () => {
    const { drv } = setup();
    assert.equal(drv.reg(REG_MAGIC), 0x7472_6976);
    assert.equal(drv.reg(REG_VERSION), 2);
    assert.equal(drv.reg(REG_DEVICE_ID), 0x7f);
    assert.equal(drv.reg(REG_VENDOR_ID), 0x7273_7672);
    drv.set(REG_DEVICE_FEATURES_SEL, 0);
    assert.equal(drv.reg(REG_DEVICE_FEATURES), (1 << 3) | (1 << VIRTIO_F_INDIRECT_DESC));
    drv.set(REG_DEVICE_FEATURES_SEL, 1);
    assert.equal(drv.reg(REG_DEVICE_FEATURES), 1, "VERSION_1 is bit 32");
    drv.set(REG_DEVICE_FEATURES_SEL, 2);
    assert.equal(drv.reg(REG_DEVICE_FEATURES), 0);
    drv.set(REG_QUEUE_SEL, 0);
    assert.equal(drv.reg(REG_QUEUE_NUM_MAX), 16);
    drv.set(REG_QUEUE_SEL, 2);
    assert.equal(drv.reg(REG_QUEUE_NUM_MAX), 0, "a queue that does not exist");
    assert.equal(drv.reg(REG_SHM_LEN_LOW), 0xffff_ffff, "no shared memory region");
    assert.equal(drv.reg(REG_CONFIG), 0xabcd_1234);
    assert.equal(drv.t.read(REG_MAGIC, 1), 0, "registers are 32-bit accesses only");
  });

  it("keeps FEATURES_OK only for a subset of the offered features that includes VERSION_1", () => {
    const { drv, t } = setup();
    assert.equal(drv.init(featureBits(3)), false, "no VERSION_1: a legacy driver");
    assert.equal(drv.init(featureBits(VIRTIO_F_VERSION_1, 5)), false, "bit 5 was not offered");
    assert.equal(drv.init(featureBits(VIRTIO_F_VERSION_1, 3)), true);
    assert.equal(t.features, featureBits(VIRTIO_F_VERSION_1, 3));
  });

  it("moves a chain through a queue, interrupts, and lowers the line when the driver acknowledges", () => {
    const { drv, q, line, t } = ready();
    const { head, inAddrs } = drv.submit(q, [bytes("hello, "), bytes("device")], [13]);
    assert.equal(line(), false);
    drv.notify(q);
    assert.deepEqual(drv.used(q), [{ id: head, len: 13 }]);
    assert.equal(text(drv.read(inAddrs[0], 13)), "ecived ,olleh");
    assert.equal(line(), true);
    assert.equal(drv.reg(REG_INTERRUPT_STATUS), INT_USED_BUFFER);
    drv.set(REG_INTERRUPT_ACK, INT_USED_BUFFER);
    assert.equal(line(), false);
    assert.equal(drv.reg(REG_INTERRUPT_STATUS), 0);
    assert.equal(t.stats.notifies, 1);
  });

  it("does not interrupt a driver that set VIRTQ_AVAIL_F_NO_INTERRUPT", () => {
    const { drv, q, line } = ready();
    drv.availFlags(q, VIRTQ_AVAIL_F_NO_INTERRUPT);
    drv.submit(q, [bytes("x")], [1]);
    drv.notify(q);
    assert.equal(drv.used(q).length, 1);
    assert.equal(line(), false);
  });

  it("follows an indirect descriptor table", () => {
    const { drv, q } = ready();
    const table = drv.alloc(48, 16);
    const a = drv.alloc(3);
    drv.mem.write(a, bytes("abc"));
    const b = drv.alloc(3);
    drv.mem.write(b, bytes("def"));
    const out = drv.alloc(6);
    drv.writeDesc(table, 0, a, 3, VIRTQ_DESC_F_NEXT, 2);
    drv.writeDesc(table, 2, b, 3, VIRTQ_DESC_F_NEXT, 1);
    drv.writeDesc(table, 1, out, 6, VIRTQ_DESC_F_WRITE);
    drv.writeDesc(q.desc, 5, table, 48, VIRTQ_DESC_F_INDIRECT);
    drv.publish(q, 5);
    drv.notify(q);
    assert.deepEqual(drv.used(q), [{ id: 5, len: 6 }]);
    assert.equal(text(drv.read(out, 6)), "fedcba");
  });

  it("ignores queue registers while the queue is ready and a notification before DRIVER_OK", () => {
    const s = setup();
    s.drv.init();
    const q = s.drv.setupQueue(0, 8);
    s.drv.set(REG_QUEUE_NUM, 4);
    s.drv.set(REG_QUEUE_DESC_LOW, DRAM_BASE);
    assert.equal(s.drv.reg(REG_QUEUE_NUM), 8);
    assert.equal(s.drv.reg(REG_QUEUE_DESC_LOW), q.desc);
    s.drv.submit(q, [bytes("early")], [5]);
    s.drv.notify(q);
    assert.deepEqual(s.drv.used(q), []);
    assert.equal(s.t.stats.ignoredNotifies, 1);
    assert.equal(s.drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0, "ignored, not an error");
    s.drv.driverOk();
    s.drv.notify(q);
    assert.equal(
      s.drv.used(q).length,
      1,
      "the chain made available early is served once the driver is ready",
    );
  });

  it("counts a configuration change in ConfigGeneration and interrupts with bit 1", () => {
    const { drv, t, line } = ready();
    const g = drv.reg(REG_CONFIG_GENERATION);
    t.configChanged();
    assert.equal(drv.reg(REG_CONFIG_GENERATION), g + 1);
    assert.equal(drv.reg(REG_INTERRUPT_STATUS), INT_CONFIG_CHANGE);
    assert.equal(line(), true);
  });

  it("resets everything when the driver writes status 0, and the device works again afterwards", () => {
    const s = ready();
    s.drv.submit(s.q, [bytes("a")], [1]);
    s.drv.notify(s.q);
    s.drv.set(REG_STATUS, 0);
    assert.equal(s.drv.reg(REG_STATUS), 0);
    assert.equal(s.drv.reg(REG_QUEUE_READY), 0);
    assert.equal(s.drv.reg(REG_INTERRUPT_STATUS), 0);
    assert.equal(s.line(), false);
    assert.equal(s.dev.t, undefined, "the device forgot its transport");
    assert.ok(s.drv.init());
    const q = s.drv.setupQueue(0, 4);
    s.drv.driverOk();
    s.drv.submit(q, [bytes("ok")], [2]);
    s.drv.notify(q);
    assert.deepEqual(s.drv.used(q), [{ id: 0, len: 2 }]);
  });
});

/** Runs `break` against a ready device; expects DEVICE_NEEDS_RESET with `why`, and nothing outside touched. */
function expectNeedsReset(why: RegExp, breakIt: (drv: TestDriver, q: TestQueue) => void) {
  const s = ready();
  const before = s.env.outsideHash();
  breakIt(s.drv, s.q);
  assert.equal(s.drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, STATUS_DEVICE_NEEDS_RESET);
  assert.match(s.t.lastError ?? "", why);
  assert.equal(s.drv.reg(REG_INTERRUPT_STATUS) & INT_CONFIG_CHANGE, INT_CONFIG_CHANGE);
  assert.equal(s.env.outsideHash(), before, "a byte outside the domain changed");
  // Quiet until reset: a further notification is ignored.
  const ignored = s.t.stats.ignoredNotifies;
  s.drv.notify(s.q);
  assert.equal(s.t.stats.ignoredNotifies, ignored + 1);
  return s;
}

describe("a hostile virtio driver", () => {
  it("gets DEVICE_NEEDS_RESET for a descriptor loop", () => {
    expectNeedsReset(/longer than its table \(a loop\)/, (drv, q) => {
      const buf = drv.alloc(4);
      drv.writeDesc(q.desc, 0, buf, 4, VIRTQ_DESC_F_NEXT, 1);
      drv.writeDesc(q.desc, 1, buf, 4, VIRTQ_DESC_F_NEXT, 0);
      drv.publish(q, 0);
      drv.notify(q);
    });
  });

  it("gets DEVICE_NEEDS_RESET for a next index or head beyond the table", () => {
    expectNeedsReset(/next 9 is beyond the table of 8/, (drv, q) => {
      drv.writeDesc(q.desc, 0, drv.alloc(4), 4, VIRTQ_DESC_F_NEXT, 9);
      drv.publish(q, 0);
      drv.notify(q);
    });
    expectNeedsReset(/head 200 is beyond the table/, (drv, q) => {
      drv.publish(q, 200);
      drv.notify(q);
    });
  });

  it("gets DEVICE_NEEDS_RESET when the available index jumps by more than the queue size", () => {
    expectNeedsReset(/available idx 9 is 9 entries ahead of 0/, (drv, q) => {
      drv.publish(q, 0, 9);
      drv.notify(q);
    });
  });

  it("gets DEVICE_NEEDS_RESET for a readable descriptor after a writable one", () => {
    expectNeedsReset(/device-readable after device-writable/, (drv, q) => {
      drv.writeDesc(q.desc, 0, drv.alloc(4), 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
      drv.writeDesc(q.desc, 1, drv.alloc(4), 4, 0);
      drv.publish(q, 0);
      drv.notify(q);
    });
  });

  it("gets DEVICE_NEEDS_RESET for nested, chained, misplaced or out-of-RAM indirect tables", () => {
    expectNeedsReset(/INDIRECT inside a chain or an indirect table/, (drv, q) => {
      const table = drv.alloc(32, 16);
      drv.writeDesc(table, 0, table, 32, VIRTQ_DESC_F_INDIRECT);
      drv.writeDesc(q.desc, 0, table, 32, VIRTQ_DESC_F_INDIRECT);
      drv.publish(q, 0);
      drv.notify(q);
    });
    expectNeedsReset(/INDIRECT with NEXT/, (drv, q) => {
      drv.writeDesc(q.desc, 0, drv.alloc(32, 16), 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
      drv.publish(q, 0);
      drv.notify(q);
    });
    expectNeedsReset(/indirect table at 0x10000000 is not aligned RAM/, (drv, q) => {
      drv.writeDesc(q.desc, 0, 0x1000_0000, 32, VIRTQ_DESC_F_INDIRECT);
      drv.publish(q, 0);
      drv.notify(q);
    });
    expectNeedsReset(/indirect table of 24 bytes/, (drv, q) => {
      drv.writeDesc(q.desc, 0, drv.alloc(32, 16), 24, VIRTQ_DESC_F_INDIRECT);
      drv.publish(q, 0);
      drv.notify(q);
    });
  });

  it("gets DEVICE_NEEDS_RESET for an indirect table it did not negotiate", () => {
    const s = setup();
    assert.ok(s.drv.init(featureBits(VIRTIO_F_VERSION_1)));
    const q = s.drv.setupQueue(0, 8);
    s.drv.driverOk();
    s.drv.writeDesc(q.desc, 0, s.drv.alloc(16, 16), 16, VIRTQ_DESC_F_INDIRECT);
    s.drv.publish(q, 0);
    s.drv.notify(q);
    assert.match(s.t.lastError ?? "", /INDIRECT was not negotiated/);
  });

  it("gets DEVICE_NEEDS_RESET for a queue that is not a power of 2, too large, misaligned or not in RAM", () => {
    const cases: [RegExp, (d: TestDriver) => void][] = [
      [/queue size 6 is not a power of 2 in 1..16/, (d) => d.set(REG_QUEUE_NUM, 6)],
      [/queue size 32 is not a power of 2 in 1..16/, (d) => d.set(REG_QUEUE_NUM, 32)],
      [/misaligned/, (d) => d.set(REG_QUEUE_DESC_LOW, DRAM_BASE + 8)],
      [/descriptor table at 0x10001000 is not in RAM/, (d) => d.set(REG_QUEUE_DESC_LOW, 0x1000_1000)],
      [
        /descriptor table at 0x803ffff0 is not in RAM/,
        (d) => d.set(REG_QUEUE_DESC_LOW, DRAM_BASE + 0x3f_fff0),
      ],
    ];
    for (const [why, breakIt] of cases) {
      const s = setup();
      s.drv.init();
      s.drv.set(REG_QUEUE_SEL, 0);
      s.drv.set(REG_QUEUE_NUM, 8);
      s.drv.set(REG_QUEUE_DESC_LOW, DRAM_BASE + 0x1000);
      s.drv.set(REG_QUEUE_DRIVER_LOW, DRAM_BASE + 0x2000);
      s.drv.set(REG_QUEUE_DEVICE_LOW, DRAM_BASE + 0x3000);
      breakIt(s.drv);
      s.drv.set(REG_QUEUE_READY, 1);
      assert.equal(s.drv.reg(REG_QUEUE_READY), 0);
      assert.match(s.t.lastError ?? "", why);
      assert.equal(s.drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, STATUS_DEVICE_NEEDS_RESET);
    }
  });

  it("gets DEVICE_NEEDS_RESET for DRIVER_OK without FEATURES_OK", () => {
    const s = setup();
    s.drv.init(featureBits(3)); // refused: FEATURES_OK does not stick
    s.drv.set(REG_STATUS, s.drv.reg(REG_STATUS) | STATUS_DRIVER_OK);
    assert.match(s.t.lastError ?? "", /DRIVER_OK without FEATURES_OK/);
    assert.equal(s.t.live, false);
    assert.equal(s.drv.reg(REG_STATUS) & STATUS_FEATURES_OK, 0);
  });

  it("never makes the host throw or write outside the domain, whatever the rings hold (random descriptors)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()), { minLength: 8, maxLength: 8 }),
        fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 6 }),
        fc.nat({ max: 12 }),
        (descs, heads, step) => {
          const s = ready();
          const before = s.env.outsideHash();
          for (const [i, [lo, len, flags, next]] of descs.entries()) {
            // Mostly-plausible values, so chains get past the first check often enough.
            const addr = lo % 3 === 0 ? lo : DRAM_BASE + (lo % 0x40_0000);
            s.drv.writeDesc(s.q.desc, i, addr, len % 0x2000, flags % 8, next % 10);
          }
          for (const h of heads) s.drv.publish(s.q, h, step % 3 === 0 ? step : 1);
          s.drv.notify(s.q);
          s.drv.notify(s.q);
          assert.equal(s.env.outsideHash(), before);
          const status = s.drv.reg(REG_STATUS);
          assert.ok((status & STATUS_DEVICE_NEEDS_RESET) !== 0 || s.t.lastError === undefined);
        },
      ),
      { numRuns: 150 },
    );
  });
});
