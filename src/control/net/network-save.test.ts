/**
 * Save and restore of a domain on the network: A serves `udpecho` and answers B's pings; A is saved at
 * the instant a frame it received is in its receive ring (used, its interrupt raised and not yet taken
 * by the guest), destroyed, and restored on the same host and switch under a new domain id with a new
 * port. Both guests then print exactly what an uninterrupted run prints (no ping lost): the used entry,
 * the transport's interrupt status, the virtual PLIC and the vCPU's pending interrupt all came back, and
 * the interface kept its MAC (derived from the old id, which the guest and its peer know).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DomainMode } from "../../hypervisor/domain.js";
import { Hypervisor } from "../../hypervisor/hypervisor.js";
import { restoreDomain, saveDomain } from "../../hypervisor/save/domain.js";
import { decodeDomainImage, encodeDomainImage } from "../../hypervisor/save/domain-image.js";
import { CountingConsole } from "../../hypervisor/save/test-support.js";
import { INT_USED_BUFFER, REG_INTERRUPT_STATUS } from "../../hypervisor/virtio/mmio.js";
import type { VirtioNet } from "../../hypervisor/virtio/net.js";
import { kernelElf, kernelPvElf } from "../../testing/kernel.js";
import { VirtualSwitch } from "./switch.js";

const STEP = 200; // instructions between looks at the guests
const LIMIT = 20_000_000;

/**
 * The session: once A echoes, B pings it 3 times and powers off; then A powers off. With `save`, A is
 * saved and restored once B has its first reply and A's interface has a used buffer not yet taken.
 */
function session(mode: DomainMode, save: boolean) {
  const hv = new Hypervisor({ pcpus: 2 });
  const sw = new VirtualSwitch("xenbr0", { now: () => hv.nowNs });
  const nics = [{ connect: (id: number, i: number) => sw.addPort(`vif${id}.${i}`) }];
  const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
  const a1 = new CountingConsole("udpecho 7\n");
  let aConsole = a1;
  const b = new CountingConsole("");
  let a = hv.createDomain({ mode, kernel, name: "a", console: a1, nics });
  const dB = hv.createDomain({ mode, kernel, name: "b", console: b, nics });
  let pinging = false;
  let stopping = false;
  let savedAt: { isr: number; ports: string[] } | undefined;
  for (;;) {
    const exit = hv.runSync({ maxInsns: hv.machine.retired + STEP });
    if (exit.kind !== "limit") {
      assert.equal(exit.kind, "poweroff", exit.message);
      break;
    }
    assert.ok(hv.machine.retired < LIMIT, `${mode}: still running after ${LIMIT} instructions`);
    if (!pinging && a1.buffer.text().includes("echoes UDP")) {
      b.buffer.feed("ping 10.0.0.1 3\nshutdown\n");
      pinging = true;
    }
    if (!stopping && !dB.alive) {
      aConsole.buffer.feed("shutdown\n");
      stopping = true;
    }
    const isr = a.devices?.virtio[0]?.read(REG_INTERRUPT_STATUS, 4) ?? 0;
    if (save && savedAt === undefined && b.buffer.text().includes("icmp_seq=1") && isr !== 0) {
      const state = saveDomain(hv, a.id);
      const image = decodeDomainImage(Buffer.concat(encodeDomainImage(state, "test")));
      hv.destroyDomain(a.id); // its port leaves the switch
      aConsole = new CountingConsole("udpecho 7\n".slice(a1.taken));
      a = restoreDomain(hv, image.state, { console: aConsole, devices: { nics } });
      savedAt = { isr, ports: sw.portList.map((p) => p.name) };
    }
  }
  const nic = a.devices?.virtio[0]?.device as VirtioNet;
  return {
    a: a1.buffer.text() + (aConsole === a1 ? "" : aConsole.buffer.text()),
    b: b.buffer.text(),
    savedAt,
    mac: nic.macText,
    newId: a.id,
  };
}

describe("save and restore of a domain on the network", () => {
  for (const mode of ["trap", "pv", "hvm"] as const) {
    it(`${mode}: saved with a received frame not yet taken, restored under a new id, no ping is lost`, () => {
      const whole = session(mode, false);
      assert.match(whole.b, /^3 packets transmitted, 3 received, 0% packet loss/m, whole.b);
      const moved = session(mode, true);
      assert.ok(moved.savedAt !== undefined, `${mode}: a save point was found`);
      assert.equal(moved.savedAt.isr & INT_USED_BUFFER, INT_USED_BUFFER);
      assert.equal(moved.newId, 3);
      assert.deepEqual(moved.savedAt.ports, ["vif2.0", "vif3.0"]);
      assert.equal(moved.mac, "00:16:3e:00:00:01", "the MAC derived from the saved domain's id");
      assert.equal(moved.b, whole.b);
      assert.equal(moved.a, whole.a);
    });
  }
});
