/**
 * The dispatcher (the seed's first module): every exit — every trap a hart takes while it runs guest
 * code — arrives here, and is routed by its cause:
 *
 *   cause                                   goes to
 *   ─────────────────────────────────────   ───────────────────────────────────────────────────────────
 *   illegal instruction, virtual S-mode      the interpreter (trap and bt modes), which emulates it on the
 *                                            vCPU's virtual CSRs; a PV kernel gets it reflected
 *   ecall, virtual S-mode                    the hypercall table (SBI, and the PV extension)
 *   page fault                               the memory manager: a shadow fill, or the guest's own fault
 *   MMIO (a fill that ends in a device)      a device model (devices.ts: the virtual PLIC and UART)
 *   timer / software interrupt (host)        the scheduler (slice end, tick, vCPU timer, kick)
 *   anything else, or from virtual U-mode    reflected into the guest kernel, as hardware would deliver it
 *
 * Each exit is counted per domain by a label ("csr", "sret", "sbi:TIME", "pv:MMU_UPDATE",
 * "shadow-fill", "guest-fault", "syscall", "timer", ...). The dispatcher itself keeps no state.
 */
import type { Hart } from "../machine/hart.js";
import {
  CAUSE_ECALL_U,
  CAUSE_ILLEGAL_INSN,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_PAGE_FAULT,
  MSTATUS_MXR,
  MSTATUS_SUM,
  PRIV_S,
} from "../machine/isa/csr-defs.js";
import { ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE } from "../machine/mmu.js";
import { type HypercallHost, hypercall, hypercallName } from "./hypercalls.js";
import { emulate, type InterpreterHost } from "./interpreter.js";
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
  switch (cause) {
    case CAUSE_ILLEGAL_INSN: {
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
