/**
 * The hypercall table: what a guest kernel's `ecall` from virtual S-mode reaches. Hypercalls are SBI
 * calls (v2.0: Base, TIME, IPI, RFENCE, HSM, SRST, DBCN, and the legacy console/timer/shutdown), plus,
 * for `pv` domains, rvisor's PV extension (pv.ts, docs/pv-abi.md), and in every mode rvisor's event
 * channel extension (event-channel.ts: EVTCHN_SEND, the guest's notification of a backend).
 *
 * Addresses a guest passes (DBCN buffers, PV requests) are guest-physical and reach memory only through
 * the domain's P2M; a bad one is an SBI error, never a host exception. Garbage arguments get
 * SBI_ERR_INVALID_PARAM / INVALID_ADDRESS / NOT_SUPPORTED, exactly as the firmware gives them natively.
 */
import {
  baseCall,
  DBCN_CONSOLE_READ,
  DBCN_CONSOLE_WRITE,
  DBCN_CONSOLE_WRITE_BYTE,
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_LEGACY_CLEAR_IPI,
  EID_LEGACY_CONSOLE_GETCHAR,
  EID_LEGACY_CONSOLE_PUTCHAR,
  EID_LEGACY_SET_TIMER,
  EID_LEGACY_SHUTDOWN,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  fail,
  HART_MASK_BASE_ALL,
  HSM_HART_GET_STATUS,
  HSM_HART_START,
  HSM_HART_STOP,
  HSM_STATE_STARTED,
  HSM_STATE_STOPPED,
  IPI_SEND_IPI,
  NO_RETURN,
  ok,
  RFENCE_REMOTE_FENCE_I,
  RFENCE_REMOTE_SFENCE_VMA,
  RFENCE_REMOTE_SFENCE_VMA_ASID,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  type SbiRet,
  SRST_REASON_SYSTEM_FAILURE,
  SRST_SYSTEM_RESET,
  SRST_TYPE_COLD_REBOOT,
  SRST_TYPE_SHUTDOWN,
  SRST_TYPE_WARM_REBOOT,
  TIME_SET_TIMER,
} from "../machine/firmware/sbi-defs.js";
import type { Hart } from "../machine/hart.js";
import { MIP_SSIP } from "../machine/isa/csr-defs.js";
import type { Domain } from "./domain.js";
import { EID_RVISOR_EVTCHN, EVTCHN_SEND } from "./event-channel.js";
import { EID_RVISOR_PV, PV_FUNCTION_NAMES, pvCall, touchesPinned } from "./pv.js";
import type { Vcpu } from "./vcpu.js";

/** Bytes one DBCN call moves at most (as the native firmware). */
export const DBCN_MAX = 64 * 1024;

/** What hypercalls need from the hypervisor. */
export interface HypercallHost {
  setTimer(v: Vcpu, when: number): void;
  /** Sets virtual interrupt bits pending on `v` (waking it if blocked). */
  raiseVirq(v: Vcpu, bits: number): void;
  clearVirq(v: Vcpu, bits: number): void;
  shutdown(d: Domain, code: number, reason: string): void;
  startVcpu(v: Vcpu, pc: number, opaque: number): void;
  stopVcpu(v: Vcpu): void;
  block(v: Vcpu): void;
  loadShadow(v: Vcpu, h: Hart): void;
  /** Flushes the hart TLBs of every pCPU running one of `d`'s vCPUs. */
  flushTlbs(d: Domain): void;
}

const EXTENSION_NAMES = new Map<number, string>([
  [EID_BASE, "BASE"],
  [EID_TIME, "TIME"],
  [EID_IPI, "IPI"],
  [EID_RFENCE, "RFENCE"],
  [EID_HSM, "HSM"],
  [EID_SRST, "SRST"],
  [EID_DBCN, "DBCN"],
  [EID_LEGACY_SET_TIMER, "legacy"],
  [EID_LEGACY_CONSOLE_PUTCHAR, "legacy"],
  [EID_LEGACY_CONSOLE_GETCHAR, "legacy"],
  [EID_LEGACY_CLEAR_IPI, "legacy"],
  [EID_LEGACY_SHUTDOWN, "legacy"],
  [EID_RVISOR_EVTCHN, "EVTCHN"],
]);

/** The exit label of a hypercall: "sbi:TIME", "pv:MMU_UPDATE", "sbi:unknown". */
export function hypercallName(eid: number, fid: number): string {
  if (eid === EID_RVISOR_PV) return `pv:${PV_FUNCTION_NAMES[fid] ?? "unknown"}`;
  return `sbi:${EXTENSION_NAMES.get(eid) ?? "unknown"}`;
}

/**
 * Handles the ecall of `v` (live on `h`, pc at the ecall): sets a0/a1 and moves pc past it, unless the
 * call does not return (hart_stop, PV_IRET, a shutdown).
 */
export function hypercall(host: HypercallHost, v: Vcpu, h: Hart): void {
  const x = h.x;
  const eid = x[17] >>> 0;
  const fid = x[16] >>> 0;
  const pc = h.pc;
  if (eid <= EID_LEGACY_SHUTDOWN) {
    const r = legacy(host, v, eid, x[10], x[11]);
    if (r === NO_RETURN) return;
    x[10] = r;
    h.pc = (pc + 4) >>> 0;
    return;
  }
  const r = call(host, v, h, eid, fid);
  if (r === NO_RETURN) return;
  x[10] = r.error;
  x[11] = r.value;
  if (h.pc === pc) h.pc = (pc + 4) >>> 0;
}

function call(host: HypercallHost, v: Vcpu, h: Hart, eid: number, fid: number): SbiRet | typeof NO_RETURN {
  const a = (i: number) => h.x[10 + i] >>> 0;
  const d = v.domain;
  switch (eid) {
    case EID_BASE:
      return base(d, fid, a(0));
    case EID_TIME:
      if (fid !== TIME_SET_TIMER) return fail(SBI_ERR_NOT_SUPPORTED);
      host.setTimer(v, a(1) * 2 ** 32 + a(0));
      return ok();
    case EID_IPI:
      if (fid !== IPI_SEND_IPI) return fail(SBI_ERR_NOT_SUPPORTED);
      return forHarts(d, a(0), a(1), (t) => host.raiseVirq(t, MIP_SSIP));
    case EID_RFENCE:
      if (fid === RFENCE_REMOTE_FENCE_I) return forHarts(d, a(0), a(1), () => {});
      if (fid === RFENCE_REMOTE_SFENCE_VMA || fid === RFENCE_REMOTE_SFENCE_VMA_ASID) {
        const r = forHarts(d, a(0), a(1), (t) => t.shadow.flushAll());
        host.flushTlbs(d);
        return r;
      }
      return fail(SBI_ERR_NOT_SUPPORTED);
    case EID_HSM:
      return hsm(host, v, fid, a(0), a(1), a(2));
    case EID_SRST: {
      if (fid !== SRST_SYSTEM_RESET) return fail(SBI_ERR_NOT_SUPPORTED);
      const type = a(0);
      const reason = a(1);
      if (type !== SRST_TYPE_SHUTDOWN && type !== SRST_TYPE_COLD_REBOOT && type !== SRST_TYPE_WARM_REBOOT)
        return fail(SBI_ERR_INVALID_PARAM);
      if (reason > 1 && reason < 0xf000_0000) return fail(SBI_ERR_INVALID_PARAM);
      const failed = reason === SRST_REASON_SYSTEM_FAILURE;
      host.shutdown(d, failed ? 1 : 0, type === SRST_TYPE_SHUTDOWN ? "poweroff" : "reboot");
      return NO_RETURN;
    }
    case EID_DBCN:
      return dbcn(d, fid, a(0), a(1), a(2));
    case EID_RVISOR_EVTCHN: {
      if (fid !== EVTCHN_SEND) return fail(SBI_ERR_NOT_SUPPORTED);
      const channel = d.channels.get(a(0));
      if (channel === undefined) return fail(SBI_ERR_INVALID_PARAM);
      channel.send();
      return ok();
    }
    case EID_RVISOR_PV:
      if (d.mode !== "pv") return fail(SBI_ERR_NOT_SUPPORTED);
      return pvCall(host, v, h, fid);
    default:
      return fail(SBI_ERR_NOT_SUPPORTED);
  }
}

function base(d: Domain, fid: number, arg: number): SbiRet {
  const has = (eid: number) => (eid === EID_RVISOR_PV ? d.mode === "pv" : EXTENSION_NAMES.has(eid));
  return baseCall(fid, arg, has, { mvendorid: 0, marchid: 0, mimpid: 0 });
}

/** Applies `fn` to the vCPUs an SBI hart mask names (hart ids are vCPU indexes). */
function forHarts(d: Domain, mask: number, maskBase: number, fn: (v: Vcpu) => void): SbiRet {
  const targets: Vcpu[] = [];
  if (maskBase === HART_MASK_BASE_ALL) targets.push(...d.vcpus.filter((t) => t.power === "started"));
  else {
    for (let bit = 0; bit < 32; bit++) {
      if (((mask >>> bit) & 1) === 0) continue;
      const t = d.vcpus[maskBase + bit];
      if (t === undefined || t.power !== "started") return fail(SBI_ERR_INVALID_PARAM);
      targets.push(t);
    }
  }
  for (const t of targets) fn(t);
  return ok();
}

function hsm(
  host: HypercallHost,
  v: Vcpu,
  fid: number,
  hartid: number,
  addr: number,
  opaque: number,
): SbiRet | typeof NO_RETURN {
  const d = v.domain;
  switch (fid) {
    case HSM_HART_START: {
      const t = d.vcpus[hartid];
      if (t === undefined) return fail(SBI_ERR_INVALID_PARAM);
      if (t.power === "started") return fail(SBI_ERR_ALREADY_AVAILABLE);
      if (!d.mem.contains(addr, 4) || (addr & 1) !== 0) return fail(SBI_ERR_INVALID_ADDRESS);
      host.startVcpu(t, addr, opaque);
      return ok();
    }
    case HSM_HART_STOP:
      host.stopVcpu(v);
      return NO_RETURN;
    case HSM_HART_GET_STATUS: {
      const t = d.vcpus[hartid];
      if (t === undefined) return fail(SBI_ERR_INVALID_PARAM);
      return ok(t.power === "started" ? HSM_STATE_STARTED : HSM_STATE_STOPPED);
    }
    default:
      return fail(SBI_ERR_NOT_SUPPORTED);
  }
}

function dbcn(d: Domain, fid: number, n: number, lo: number, hi: number): SbiRet {
  if (fid === DBCN_CONSOLE_WRITE_BYTE) {
    d.console.write(n & 0xff);
    return ok();
  }
  if (fid !== DBCN_CONSOLE_WRITE && fid !== DBCN_CONSOLE_READ) return fail(SBI_ERR_NOT_SUPPORTED);
  const len = Math.min(n, DBCN_MAX);
  if (hi !== 0 || !d.mem.contains(lo, len)) return fail(SBI_ERR_INVALID_PARAM);
  // A PV page table is read-only to the guest, and so to what the hypervisor writes for it.
  if (fid === DBCN_CONSOLE_READ && touchesPinned(d, lo, len)) return fail(SBI_ERR_INVALID_PARAM);
  if (fid === DBCN_CONSOLE_WRITE) {
    const bytes = d.mem.read(lo, len) ?? new Uint8Array();
    for (const b of bytes) d.console.write(b);
    return ok(bytes.length);
  }
  const got: number[] = [];
  while (got.length < len) {
    const c = d.console.read();
    if (c < 0) break;
    got.push(c);
  }
  d.mem.write(lo, Uint8Array.from(got));
  return ok(got.length);
}

function legacy(
  host: HypercallHost,
  v: Vcpu,
  eid: number,
  a0: number,
  a1: number,
): number | typeof NO_RETURN {
  switch (eid) {
    case EID_LEGACY_SET_TIMER:
      host.setTimer(v, (a1 >>> 0) * 2 ** 32 + (a0 >>> 0));
      return 0;
    case EID_LEGACY_CONSOLE_PUTCHAR:
      v.domain.console.write(a0 & 0xff);
      return 0;
    case EID_LEGACY_CONSOLE_GETCHAR:
      return v.domain.console.read();
    case EID_LEGACY_CLEAR_IPI:
      host.clearVirq(v, MIP_SSIP);
      return 0;
    case EID_LEGACY_SHUTDOWN:
      host.shutdown(v.domain, 0, "poweroff");
      return NO_RETURN;
    default:
      return SBI_ERR_NOT_SUPPORTED; // send_ipi and the remote fences take virtual pointers: not offered
  }
}
