/**
 * virtio-net against a driver written in TypeScript: the MAC in the configuration space, frames both
 * ways with the version-1 header, backpressure when no receive buffer is posted — and hostile receive
 * and transmit chains, which end in a counted drop or DEVICE_NEEDS_RESET, never a host exception and
 * never a byte outside the domain.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeVirtioEnv, TestDriver } from "../testing/virtio-driver.js";
import { featureBits, VIRTIO_F_VERSION_1 } from "./device.js";
import {
  REG_CONFIG,
  REG_DEVICE_FEATURES,
  REG_DEVICE_FEATURES_SEL,
  REG_DEVICE_ID,
  REG_INTERRUPT_STATUS,
  REG_STATUS,
  STATUS_DEVICE_NEEDS_RESET,
  VirtioMmio,
} from "./mmio.js";
import {
  macBytes,
  NET_RX_QUEUE,
  NET_TX_QUEUE,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_HDR_SIZE,
  VirtioNet,
  vifMac,
} from "./net.js";
import type { NetBackend, NetFrontend } from "./net-backend.js";
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from "./queue.js";

const MAC = "00:16:3e:00:00:07";

/** A backend that records what the guest sends and lets the test offer frames. */
class FakeBackend implements NetBackend {
  sent: Uint8Array[] = [];
  frontend: NetFrontend | undefined;
  ready = 0;
  disconnected = false;
  send(frame: Uint8Array): void {
    this.sent.push(frame);
  }
  connect(f: NetFrontend): void {
    this.frontend = f;
  }
  rxReady(): void {
    this.ready++;
  }
  disconnect(): void {
    this.disconnected = true;
  }
}

function frame(len: number, fill = 0xab): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f.set(macBytes(MAC), 0);
  f.set(macBytes("00:16:3e:00:00:09"), 6);
  return f;
}

function rig(backend: NetBackend = new FakeBackend()) {
  const env = makeVirtioEnv();
  const dev = new VirtioNet(MAC, backend);
  let line = false;
  const t = new VirtioMmio("net", env.mem, dev, (l) => {
    line = l;
  });
  const drv = new TestDriver(t, env.mem);
  const before = env.outsideHash();
  return { env, dev, t, drv, irq: () => line, untouched: () => env.outsideHash() === before };
}

/** A driver that negotiated MAC + VERSION_1 and set both queues up with 8 entries, DRIVER_OK. */
function live(backend: NetBackend = new FakeBackend()) {
  const r = rig(backend);
  assert.ok(r.drv.init(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC)));
  const rx = r.drv.setupQueue(NET_RX_QUEUE, 8);
  const tx = r.drv.setupQueue(NET_TX_QUEUE, 8);
  r.drv.driverOk();
  return { ...r, rx, tx };
}

const header = () => new Uint8Array(VIRTIO_NET_HDR_SIZE);
const needsReset = (drv: TestDriver) => (drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET) !== 0;

describe("virtio-net", () => {
  it("offers MAC and VERSION_1 and shows its MAC in the configuration space", () => {
    const { drv } = rig();
    assert.equal(drv.reg(REG_DEVICE_ID), 1);
    drv.set(REG_DEVICE_FEATURES_SEL, 0);
    assert.equal(drv.reg(REG_DEVICE_FEATURES) & (1 << VIRTIO_NET_F_MAC), 1 << VIRTIO_NET_F_MAC);
    drv.set(REG_DEVICE_FEATURES_SEL, 1);
    assert.equal(drv.reg(REG_DEVICE_FEATURES) & 1, 1);
    const bytes = Array.from({ length: 6 }, (_, i) => drv.t.read(REG_CONFIG + i, 1));
    assert.deepEqual(bytes, [0x00, 0x16, 0x3e, 0x00, 0x00, 0x07]);
    assert.equal(drv.t.read(REG_CONFIG, 4), 0x003e1600);
    assert.equal(drv.t.read(REG_CONFIG + 4, 2), 0x0700);
  });

  it("sends a transmitted frame to the backend without its header and returns the chain", () => {
    const backend = new FakeBackend();
    const { dev, drv, tx, irq } = live(backend);
    const f = frame(60);
    const { head } = drv.submit(tx, [header(), f], []);
    drv.notify(tx);
    assert.deepEqual(backend.sent, [f]);
    assert.deepEqual(drv.used(tx), [{ id: head, len: 0 }]);
    assert.ok(irq());
    assert.equal(dev.counters.txFrames, 1);
    assert.equal(dev.counters.txBytes, 60);
  });

  it("fills a posted receive buffer with the header (num_buffers 1) and the frame, and interrupts", () => {
    const backend = new FakeBackend();
    const { dev, drv, rx, irq } = live(backend);
    const { head, inAddrs } = drv.submit(rx, [], [1526]);
    drv.notify(rx);
    assert.ok(backend.ready >= 2, "activation and the notify both said the guest can receive");
    const f = frame(98, 0x5a);
    assert.equal(backend.frontend?.receive(f), true);
    assert.deepEqual(drv.used(rx), [{ id: head, len: VIRTIO_NET_HDR_SIZE + 98 }]);
    const got = drv.read(inAddrs[0], VIRTIO_NET_HDR_SIZE + 98);
    assert.deepEqual([...got.subarray(0, VIRTIO_NET_HDR_SIZE)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert.deepEqual(got.subarray(VIRTIO_NET_HDR_SIZE), f);
    assert.ok(irq());
    assert.equal(drv.reg(REG_INTERRUPT_STATUS) & 1, 1);
    assert.equal(dev.counters.rxFrames, 1);
  });

  it("refuses a frame while no receive buffer is posted, and says so when the driver posts one", () => {
    const backend = new FakeBackend();
    const { dev, drv, rx } = live(backend);
    const ready = backend.ready;
    assert.equal(backend.frontend?.receive(frame(60)), false);
    assert.equal(dev.counters.rxNoBuffer, 1);
    drv.submit(rx, [], [1526]);
    drv.notify(rx);
    assert.equal(backend.ready, ready + 1);
    assert.equal(backend.frontend?.receive(frame(60)), true);
  });

  it("tells its backend when the domain's devices close", () => {
    const backend = new FakeBackend();
    const { t } = live(backend);
    t.close();
    assert.ok(backend.disconnected);
  });

  it("drops frames at once before DRIVER_OK and after a reset, so a guest without a driver holds none", () => {
    const backend = new FakeBackend();
    const { dev, drv } = rig(backend);
    assert.equal(backend.frontend?.receive(frame(60)), true);
    drv.init(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC));
    drv.setupQueue(NET_RX_QUEUE, 8);
    drv.driverOk();
    drv.set(REG_STATUS, 0);
    assert.equal(backend.frontend?.receive(frame(60)), true);
    assert.equal(dev.counters.rxDropped, 2);
  });

  it("returns a receive buffer too small for the frame, or outside RAM, empty — and writes nothing", () => {
    const backend = new FakeBackend();
    const { dev, drv, rx, untouched } = live(backend);
    const small = drv.submit(rx, [], [64]);
    backend.frontend?.receive(frame(98));
    drv.writeDesc(rx.desc, 5, 0x4000_0000, 1526, VIRTQ_DESC_F_WRITE);
    drv.publish(rx, 5);
    backend.frontend?.receive(frame(98));
    drv.writeDesc(rx.desc, 6, [0x8000_0000, 1], 1526, VIRTQ_DESC_F_WRITE); // above 4 GiB
    drv.publish(rx, 6);
    backend.frontend?.receive(frame(98));
    assert.deepEqual(drv.used(rx), [
      { id: small.head, len: 0 },
      { id: 5, len: 0 },
      { id: 6, len: 0 },
    ]);
    assert.equal(dev.counters.rxDropped, 3);
    assert.equal(dev.counters.rxFrames, 0);
    assert.ok(untouched());
  });

  it("counts malformed transmit chains as errors and sends none of them", () => {
    const backend = new FakeBackend();
    const { dev, drv, tx, untouched } = live(backend);
    drv.submit(tx, [new Uint8Array(8)], []); // shorter than the header
    drv.submit(tx, [header(), new Uint8Array(10)], []); // shorter than an Ethernet header
    drv.submit(tx, [header(), frame(1515)], []); // payload over the MTU
    drv.submit(tx, [header(), frame(60)], [16]); // a device-writable part
    drv.writeDesc(tx.desc, 7, 0x1000_0000, 72, 0); // the UART's address: not RAM
    drv.publish(tx, 7);
    drv.notify(tx);
    assert.equal(backend.sent.length, 0);
    assert.equal(dev.counters.txErrors, 5);
    assert.equal(drv.used(tx).length, 5);
    assert.ok(!needsReset(drv));
    assert.ok(untouched());
  });

  it("a broken ring on either queue ends in DEVICE_NEEDS_RESET, not a host exception", () => {
    const backend = new FakeBackend();
    const { drv, tx, rx } = live(backend);
    drv.publish(tx, 200); // a head beyond the table
    assert.doesNotThrow(() => drv.notify(tx));
    assert.ok(needsReset(drv));

    const b2 = new FakeBackend();
    const second = live(b2);
    second.drv.writeDesc(
      second.rx.desc,
      0,
      second.drv.alloc(64),
      64,
      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
      0,
    );
    second.drv.publish(second.rx, 0); // a chain that loops on itself
    assert.equal(b2.frontend?.receive(frame(60)), true, "the frame is dropped, the device needs a reset");
    assert.ok(needsReset(second.drv));
    assert.equal(rx.index, NET_RX_QUEUE);
  });

  it("makes a deterministic MAC in Xen's OUI from the domain id and the interface's index", () => {
    assert.equal(vifMac(1, 0), "00:16:3e:00:00:01");
    assert.equal(vifMac(0x1234, 2), "00:16:3e:02:12:34");
    assert.throws(() => macBytes("00:16:3e:00:00"), /six two-digit hex groups/);
  });
});
