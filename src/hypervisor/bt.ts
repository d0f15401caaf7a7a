/**
 * Mode `bt` (full virtualization by binary translation): the same unmodified guest kernel as `trap`, in
 * the host's U-mode, over the same shadow page tables — but its privileged instructions do not trap.
 * The translator's code for CSR operations, SRET and SFENCE.VMA (and the interpreter's, which runs the
 * same instruction table) calls the monitor directly through the hart's `vmm` hook, the way VMware's
 * translator replaced sensitive instructions with calls into the VMM:
 *
 *   trap:  csrw sstatus ─illegal insn─▶ takeTrap ▶ mTrapHook ▶ dispatcher ▶ interpreter ▶ service ▶ resume
 *   bt:    csrw sstatus ─h.vmm.csr()─▶ interpreter's csrOp                              (no exit at all)
 *
 * Because the call happens whether or not the instruction would trap, bt also stays correct where
 * trap-and-emulate cannot: with the `sensitive-unprivileged` quirk a U-mode read of sstatus no longer
 * traps, and only bt (or pv, which never reads it) still gives the guest its virtual sstatus.
 *
 * WFI still takes the trap path: blocking needs the scheduler. When an emulated instruction makes a
 * virtual interrupt deliverable (SIE set with one pending, an SRET to U-mode), the monitor posts an IPI
 * to its own pCPU, so the hypervisor delivers it at the next instruction boundary.
 */
import type { Hart, VmmCalls } from "../machine/hart.js";
import { PRIV_S } from "../machine/isa/csr-defs.js";
import { csrOp, type InterpreterHost, sfenceOp, sretOp, VIRTUAL_CSRS } from "./interpreter.js";
import type { Vcpu } from "./vcpu.js";

export interface MonitorHost extends InterpreterHost {
  /** Whether `v` could take a pending virtual interrupt now. */
  interruptDeliverable(v: Vcpu): boolean;
  /** Interrupts pCPU `p` (an IPI to itself). */
  ipi(p: number): void;
}

/** One per pCPU: the VMM calls of whichever bt vCPU it runs. */
export class Monitor implements VmmCalls {
  vcpu: Vcpu | undefined;

  constructor(
    private readonly host: MonitorHost,
    private readonly hart: Hart,
  ) {}

  csr(insn: number, src: number): number {
    const v = this.current(insn);
    const csr = insn >>> 20;
    if (!VIRTUAL_CSRS.has(csr)) {
      // Not the guest kernel's virtual state: what U-mode may do anyway (the time counters), or a trap.
      const h = this.hart;
      const op = (insn >>> 12) & 3;
      const old = h.csrRead(csr, insn);
      if (op === 1 || ((insn >>> 15) & 31) !== 0)
        h.csrWrite(csr, op === 1 ? src : op === 2 ? old | src : old & ~src, insn);
      return old;
    }
    const old = csrOp(this.host, v, this.hart, insn, src);
    if (old === null) this.hart.illegal(insn);
    v.domain.countCall("bt:csr");
    this.check(v);
    return old;
  }

  sret(insn: number): number {
    const v = this.current(insn);
    if (v.vpriv !== PRIV_S) this.hart.illegal(insn);
    v.domain.countCall("bt:sret");
    const pc = sretOp(this.host, v, this.hart);
    this.check(v);
    return pc;
  }

  sfence(insn: number, vaddr: number): void {
    const v = this.current(insn);
    if (v.vpriv !== PRIV_S) this.hart.illegal(insn);
    v.domain.countCall("bt:sfence.vma");
    sfenceOp(v, this.hart, vaddr);
  }

  private current(insn: number): Vcpu {
    const v = this.vcpu;
    if (v === undefined) return this.hart.illegal(insn);
    return v;
  }

  private check(v: Vcpu): void {
    if (this.host.interruptDeliverable(v)) this.host.ipi(this.hart.hartId);
  }
}
