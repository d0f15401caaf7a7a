/**
 * The dispatcher (the seed's first module): every exit — every trap a hart takes while it runs guest
 * code — arrives here, and is routed by its cause:
 *
 *   cause                                   goes to
 *   ─────────────────────────────────────   ───────────────────────────────────────────────────────────
 *   illegal instruction, virtual S-mode      the interpreter (trap and bt modes), which emulates it on the
 *                                            vCPU's virtual CSRs; a PV kernel gets it reflected
 *   illegal instruction: a read of time      a restored domain's clock (guest-time.ts), either privilege
 *   ecall, virtual S-mode                    the hypercall table (SBI, and the PV extension)
 *   page fault                               the memory manager: a shadow fill, or the guest's own fault
 *   MMIO (a fill that ends in a device)      a device model (devices.ts: the virtual PLIC and UART)
 *   timer / software interrupt (host)        the scheduler (slice end, tick, vCPU timer, kick)
 *   anything else, or from virtual U-mode    reflected into the guest kernel, as hardware would deliver it
 *
 * An `hvm` vCPU runs in VS/VU-mode and handles its own traps (delegated to VS); only these exit:
 *
 *   guest-page fault (20, 21, 23)            G-stage leaves from the P2M for the faulting page and its
 *                                            aligned group ("gpf"), or a device ("mmio")
 *   ecall from VS (10)                       the hypercall table, as above ("sbi:TIME", ...)
 *   virtual instruction (22)                 WFI (hstatus.VTW) blocks the vCPU ("wfi"); anything else is
 *                                            reflected as an illegal instruction ("virtual-insn")
 *   anything else                            reflected into VS ("guest-fault")
 *
 * Each exit is counted per domain by a label ("csr", "sret", "sbi:TIME", "pv:MMU_UPDATE",
 * "shadow-fill", "guest-fault", "syscall", "timer", ...). The dispatcher itself keeps no state.
 */
import type { Hart } from "../machine/hart.js";
import {
  CAUSE_ECALL_U,
  CAUSE_ECALL_VS,
  CAUSE_ILLEGAL_INSN,
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_GUEST_PAGE_FAULT,
  CAUSE_STORE_PAGE_FAULT,
  CAUSE_VIRTUAL_INSN,
  MIP_VSEIP,
  MIP_VSSIP,
  MIP_VSTIP,
  MSTATUS_MXR,
  MSTATUS_SUM,
  PRIV_S,
} from "../machine/isa/csr-defs.js";
import { ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE } from "../machine/mmu.js";
import { emulateTimeRead } from "./guest-time.js";
import { type HypercallHost, hypercall, hypercallName } from "./hypercalls.js";
import { emulate, type InterpreterHost } from "./interpreter.js";
import { guestFrame } from "./memory/addresses.js";
import { P2M_R, P2M_W, P2M_X } from "./memory/p2m.js";
import { KIND_S, KIND_S_SUM, KIND_U, type ShadowKind } from "./memory/shadow.js";
import type { Vcpu } from "./vcpu.js";

/** What the dispatcher needs from the hypervisor. */
export interface DispatcherHost extends InterpreterHost, HypercallHost {
  /** Delivers a trap to the guest kernel (the trap bounce), or crashes the domain if it cannot. */
  reflect(v: Vcpu, h: Hart, cause: number, tval: number): void;
}

/** The shadow a vCPU uses now: its virtual privilege, and SUM (sstatus.SUM, or PV_USER_ACCESS). */
export function shadowKind(v: Vcpu): ShadowKind {
  if (v.vpriv !== PRIV_S) return KIND_U;
  const sum = v.domain.mode === "pv" ? v.userAccess : (v.sstatus & MSTATUS_SUM) !== 0;
  return sum ? KIND_S_SUM : KIND_S;
}

/** Handles exception `cause` (tval) that `v`, live on `h`, took. */
export function dispatchException(host: DispatcherHost, v: Vcpu, h: Hart, cause: number, tval: number): void {
  const d = v.domain;
  if (d.mode === "hvm") {
    dispatchHvm(host, v, h, cause, tval);
    return;
  }
  switch (cause) {
    case CAUSE_ILLEGAL_INSN: {
      if (d.timeOffset !== 0 && emulateTimeRead(d, h, tval)) {
        h.retired++;
        d.countExit("time");
        return;
      }
      if (d.mode !== "pv") {
        const what = emulate(host, v, h, tval);
        if (what !== null) {
          h.retired++;
          d.countExit(what);
          return;
        }
      }
      break;
    }
    case CAUSE_ECALL_U:
      if (v.vpriv === PRIV_S) {
        d.countExit(hypercallName(h.x[17] >>> 0, h.x[16] >>> 0));
        h.retired++;
        hypercall(host, v, h);
        return;
      }
      d.countExit("syscall");
      host.reflect(v, h, cause, tval);
      return;
    case CAUSE_INSN_PAGE_FAULT:
    case CAUSE_LOAD_PAGE_FAULT:
    case CAUSE_STORE_PAGE_FAULT: {
      const access =
        cause === CAUSE_INSN_PAGE_FAULT
          ? ACCESS_FETCH
          : cause === CAUSE_LOAD_PAGE_FAULT
            ? ACCESS_LOAD
            : ACCESS_STORE;
      const mxr = d.mode !== "pv" && (v.sstatus & MSTATUS_MXR) !== 0;
      const r = v.shadow.fill(tval, access, shadowKind(v), mxr, v.satp);
      if (r.kind === "mapped") {
        d.countExit("shadow-fill");
        return;
      }
      if (r.kind === "mmio") {
        d.countExit("mmio");
        if (access !== ACCESS_FETCH && d.devices?.emulate(h, r.gpa, access)) return;
        host.reflect(v, h, access === ACCESS_FETCH ? 1 : access === ACCESS_LOAD ? 5 : 7, tval);
        return;
      }
      d.countExit("guest-fault");
      host.reflect(v, h, r.cause, tval);
      return;
    }
  }
  d.countExit("guest-fault");
  host.reflect(v, h, cause, tval);
}

const INSN_WFI = 0x1050_0073;
/** Guest pages a G-stage fill maps at once (an aligned group: 64 KiB). */
export const GPF_AROUND = 16;

/** hvm: handles exception `cause` that `v`, live on `h` in VS/VU-mode (V = 1), took to M-mode. */
function dispatchHvm(host: DispatcherHost, v: Vcpu, h: Hart, cause: number, tval: number): void {
  const d = v.domain;
  switch (cause) {
    case CAUSE_ECALL_VS:
      d.countExit(hypercallName(h.x[17] >>> 0, h.x[16] >>> 0));
      h.retired++;
      hypercall(host, v, h);
      return;
    case CAUSE_INSN_GUEST_PAGE_FAULT:
    case CAUSE_LOAD_GUEST_PAGE_FAULT:
    case CAUSE_STORE_GUEST_PAGE_FAULT: {
      const access =
        cause === CAUSE_INSN_GUEST_PAGE_FAULT
          ? ACCESS_FETCH
          : cause === CAUSE_LOAD_GUEST_PAGE_FAULT
            ? ACCESS_LOAD
            : ACCESS_STORE;
      const gpa = h.hx?.trapGpa ?? -1;
      const need = access === ACCESS_FETCH ? P2M_X : access === ACCESS_LOAD ? P2M_R : P2M_W;
      if (gpa >= 0 && gpa < 2 ** 32 && d.gstage !== undefined) {
        const e = d.p2m.entry(guestFrame(Math.floor(gpa / 4096)));
        if (e.type === "ram" && (e.perms & need) !== 0) {
          // Fault-around: the rest of the aligned group of GPF_AROUND pages comes with it (a guest that
          // touches a page mostly touches its neighbours), so a fill costs one exit per group, not per page.
          const first = Math.floor(gpa / 4096 / GPF_AROUND) * GPF_AROUND;
          for (let gfn = first; gfn < first + GPF_AROUND; gfn++) {
            const n = gfn === Math.floor(gpa / 4096) ? e : d.p2m.entry(guestFrame(gfn));
            if (n.type === "ram") d.gstage.map(gfn * 4096, n.frame, n.perms);
          }
          d.countExit("gpf");
          return;
        }
        if (e.type !== "ram") {
          d.countExit("mmio");
          if (access !== ACCESS_FETCH && d.devices?.emulate(h, gpa, access)) return;
        }
      }
      d.countExit("guest-fault");
      const fault =
        access === ACCESS_FETCH
          ? CAUSE_INSN_ACCESS
          : access === ACCESS_LOAD
            ? CAUSE_LOAD_ACCESS
            : CAUSE_STORE_ACCESS;
      host.reflect(v, h, fault, tval);
      return;
    }
    case CAUSE_VIRTUAL_INSN:
      if (tval === INSN_WFI) {
        d.countExit("wfi");
        h.retired++;
        h.pc = (h.pc + 4) >>> 0;
        if ((h.mipSw & h.mie & (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)) === 0) host.block(v);
        return;
      }
      d.countExit("virtual-insn");
      host.reflect(v, h, CAUSE_ILLEGAL_INSN, tval);
      return;
  }
  d.countExit("guest-fault");
  host.reflect(v, h, cause, tval);
}
