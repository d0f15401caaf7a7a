/**
 * hvm and the VMID-tagged TLB (machine/tlb.ts): what loading and saving hvm vCPUs keeps and what it
 * fences. A TLB entry is planted in the bank the loaded vCPU's context selects, as a walk would fill it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hart } from "../machine/hart.js";
import { guestProgramElf } from "../testing/guest-build.js";
import { loadHvmVcpu, saveHvmVcpu, vmidOf } from "./hvm.js";
import { Hypervisor } from "./hypervisor.js";
import type { Vcpu } from "./vcpu.js";

const SLOT = 256 + 7; // a load-TLB slot
const VPN = 7;

function host() {
  const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
  const spec = { mode: "hvm" as const, kernel: guestProgramElf("sbi-hello"), vcpus: 2, memoryMiB: 16 };
  const a = hv.createDomain(spec);
  const b = hv.createDomain(spec);
  const [h0, h1] = hv.machine.harts;
  return { hv, a, b, h0, h1 };
}

/** Loads `v` on `h`, runs "a while" (an entry is filled), saves it. */
function visit(v: Vcpu, h: Hart, fill = false): void {
  loadHvmVcpu(v, h);
  if (fill) {
    h.tlbTag[SLOT] = VPN;
    h.tlbOff[SLOT] = 0;
  }
  saveHvmVcpu(v, h);
}

/** Whether `v`, loaded on `h`, sees the planted entry (in the bank its context selects). */
function seen(v: Vcpu, h: Hart): boolean {
  loadHvmVcpu(v, h);
  const hit = h.tlbTag[SLOT] === VPN;
  saveHvmVcpu(v, h);
  return hit;
}

describe("hvm vCPU switches and the VMID-tagged TLB", () => {
  it("a vCPU coming back to its hart finds its entries, after another VM's vCPU ran there in between", () => {
    const { a, b, h0 } = host();
    assert.notEqual(vmidOf(a), vmidOf(b));
    visit(a.vcpus[0], h0, true);
    visit(b.vcpus[0], h0, true);
    visit(b.vcpus[1], h0);
    assert.ok(seen(a.vcpus[0], h0), "another VMID's vCPUs did not touch them");
  });

  it("another vCPU of the same VM on the hart fences the VMID's VS-stage entries (HFENCE.VVMA)", () => {
    const { a, b, h0 } = host();
    visit(a.vcpus[0], h0, true);
    visit(b.vcpus[0], h0, true);
    assert.ok(!seen(a.vcpus[1], h0), "vCPU 1 does not see what vCPU 0 left under their VMID");
    assert.ok(seen(b.vcpus[0], h0), "the other VM's entries stay");
  });

  it("a vCPU that ran on another hart meanwhile finds none of its old entries (it may have fenced there)", () => {
    const { a, h0, h1 } = host();
    visit(a.vcpus[0], h0, true);
    visit(a.vcpus[0], h1);
    assert.ok(!seen(a.vcpus[0], h0));
  });

  it("a P2M change (Hypervisor.flushTlbs) fences the VM on every hart; destroying it too", () => {
    const { hv, a, b, h0, h1 } = host();
    visit(a.vcpus[0], h0, true);
    visit(a.vcpus[1], h1, true);
    visit(b.vcpus[0], h1, true);
    hv.flushTlbs(a);
    assert.ok(!seen(a.vcpus[0], h0));
    assert.ok(!seen(a.vcpus[1], h1));
    assert.ok(seen(b.vcpus[0], h1));
    visit(b.vcpus[0], h0, true);
    hv.destroyDomain(b.id);
    assert.equal(
      h0.tlb.banks.filter((k) => k.guest && k.vmid === vmidOf(b) && k.tag.some((t) => t !== -1)).length,
      0,
    );
  });
});
