/**
 * The guest kernel's wake-up IPI in every hypervisor mode: work made runnable for an idle vCPU (a fork's
 * child, a parent woken by its child's exit) is taken up at once, because the kernel sends that vCPU an
 * SBI IPI — a virtual supervisor software interrupt (trap and bt: the virtual sip; pv: the shared page's
 * pending bit; hvm: hvip.VSSIP) that ends its wait — rather than at its next tick. Guest time under
 * the icount clock shows it (FORKJOIN_SESSION), and the domain's exits count the IPIs sent.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole } from "../machine/devices/console.js";
import {
  FORKJOIN_SESSION,
  FORKJOIN_SPLIT_MAX,
  forkjoinTimes,
  kernelElf,
  kernelPvElf,
} from "../testing/kernel.js";
import type { DomainMode } from "./domain.js";
import { Hypervisor } from "./hypervisor.js";
import { MAX_INSNS } from "./testing/kernel-domains.js";

describe("the guest kernel's wake-up IPI on 2 vCPUs", () => {
  for (const mode of ["trap", "bt", "pv", "hvm"] as const satisfies readonly DomainMode[]) {
    it(`takes up work for an idle vCPU at once, not at its next tick (${mode})`, () => {
      const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
      const console = new BufferConsole(FORKJOIN_SESSION);
      const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
      const d = hv.createDomain({ mode, kernel, memoryMiB: 32, vcpus: 2, console });
      const exit = hv.runSync({ maxInsns: MAX_INSNS });
      const out = console.text();
      assert.equal(exit.kind, "poweroff", `${exit.message}\n${out}`);
      const t = forkjoinTimes(out);
      assert.ok(t !== undefined && !t.wrong, out);
      assert.ok(t.splitMs < t.aloneMs * FORKJOIN_SPLIT_MAX, `split ${t.splitMs} ms, alone ${t.aloneMs} ms`);
      // Each split round's fork finds the other vCPU idle and sends it an IPI.
      const ipis = d.exits.get("sbi:IPI") ?? 0;
      assert.ok(ipis >= t.rounds, `${ipis} IPIs sent in ${t.rounds} rounds`);
    });
  }
});
