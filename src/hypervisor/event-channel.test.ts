import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DRAM_BASE } from "../machine/memory-map.js";
import { kernelElf } from "../testing/kernel.js";
import { STORE_RING_IRQ, STORE_RING_PORT } from "./event-channel.js";
import { Hypervisor } from "./hypervisor.js";

const MiB = 1024 * 1024;
const PENDING = 0x1000;

function contains(hay: Uint8Array, needle: string): boolean {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

describe("a domain's store ring (the hypervisor's part)", () => {
  it("reserves RAM's last page, announces it in the device tree below which the tree now sits", () => {
    const hv = new Hypervisor({ hostMemoryMiB: 64 });
    const d = hv.createDomain({ mode: "trap", kernel: kernelElf(), memoryMiB: 16, storeRing: true });
    const ring = d.storeRing!;
    assert.equal(ring.page.gpa, DRAM_BASE + 16 * MiB - 4096);
    assert.equal(ring.channel.port, STORE_RING_PORT);
    assert.equal(ring.channel.irq, STORE_RING_IRQ);
    assert.deepEqual(ring.page.read(0, 4096), new Uint8Array(4096), "the ring page starts zeroed");
    const below = d.mem.read(ring.page.gpa - 4096, 4096)!;
    assert.ok(contains(below, "rvisor,xenstore") && contains(below, "rvisor,event-channel"));
    assert.equal(hv.createDomain({ mode: "trap", kernel: kernelElf(), memoryMiB: 16 }).storeRing, undefined);
  });

  it("delivers a send made before the backend attached, and raises an edge on the PLIC for notify", () => {
    const hv = new Hypervisor({ hostMemoryMiB: 64 });
    const d = hv.createDomain({ mode: "pv", kernel: kernelElf(), memoryMiB: 16, storeRing: true });
    const channel = d.channels.get(STORE_RING_PORT)!;
    channel.send();
    let heard = 0;
    channel.attach(() => heard++);
    assert.equal(heard, 1);
    channel.send();
    assert.equal(heard, 2);
    channel.detach();
    channel.send();
    assert.equal(heard, 2);
    const plic = d.devices!.plic;
    assert.equal(plic.read(PENDING, 4) & (1 << STORE_RING_IRQ), 0);
    channel.notify();
    assert.equal(plic.read(PENDING, 4) & (1 << STORE_RING_IRQ), 1 << STORE_RING_IRQ);
  });

  it("writes the page only while it is the guest's writable RAM (not a pinned PV page table)", () => {
    const hv = new Hypervisor({ hostMemoryMiB: 64 });
    const d = hv.createDomain({ mode: "pv", kernel: kernelElf(), memoryMiB: 16, storeRing: true });
    const page = d.storeRing!.page;
    assert.equal(page.write(2064, Uint8Array.of(3)), true);
    assert.equal(d.mem.read(page.gpa + 2064, 1)![0], 3);
    d.pv!.pinned.set(page.gpa / 4096, 0);
    assert.equal(page.write(2064, Uint8Array.of(4)), false);
    assert.equal(d.mem.read(page.gpa + 2064, 1)![0], 3);
    assert.throws(() => page.write(4095, Uint8Array.of(1, 2)), RangeError);
  });
});
