/**
 * A vCPU's save/restore: its registers, pc, virtual privilege and virtual S CSRs (an hvm vCPU's VS CSRs
 * are the same fields once it is off its pCPU), its SBI timer in guest time, its power state, whether it
 * was runnable, and its PV registrations. The shadow tables it had are not state: a restored vCPU
 * selects the shadows of its satp, empty, and fills them as it faults.
 */
import { PRIV_S, PRIV_U } from "../../machine/isa/csr-defs.js";
import type { Vcpu } from "../vcpu.js";
import { checkInt, Fields, ImageError } from "./fields.js";
import { VCPU_CSR_NAMES, type VcpuCsrs, type VcpuSaveState } from "./state.js";

/** `v`'s state; it must be off every pCPU (Hypervisor.unloadDomain). */
export function saveVcpu(v: Vcpu): VcpuSaveState {
  if (v.pcpu !== null) throw new Error(`save vCPU ${v.index}: still loaded on pCPU ${v.pcpu}`);
  const csrs = {} as VcpuCsrs;
  for (const k of VCPU_CSR_NAMES) csrs[k] = v[k] >>> 0;
  return {
    index: v.index,
    pc: v.pc >>> 0,
    regs: [...v.regs],
    vpriv: v.vpriv === PRIV_S ? 1 : 0,
    csrs,
    timer: Number.isFinite(v.timerAt) ? v.timerAt + v.domain.timeOffset : null,
    power: v.power,
    runnable: v.power === "started" && (v.pausedRunnable || !v.blocked),
    pv: { sharedGpa: v.sharedGpa, trapHandler: v.trapHandler >>> 0, userAccess: v.userAccess },
  };
}

/**
 * Puts a saved state into a fresh vCPU of a paused domain whose timeOffset is already set: it stays
 * blocked, marked to wake when the domain is unpaused if it was runnable.
 */
export function restoreVcpu(v: Vcpu, s: VcpuSaveState): void {
  v.regs.set(s.regs);
  v.regs[0] = 0;
  v.pc = s.pc;
  v.vpriv = s.vpriv === 1 ? PRIV_S : PRIV_U;
  for (const k of VCPU_CSR_NAMES) v[k] = s.csrs[k];
  v.timerAt = s.timer === null ? Number.POSITIVE_INFINITY : s.timer - v.domain.timeOffset;
  v.power = s.power;
  v.blocked = true;
  v.pausedRunnable = s.runnable;
  v.sharedGpa = s.pv.sharedGpa;
  v.trapHandler = s.pv.trapHandler;
  v.userAccess = s.pv.userAccess;
  if (v.domain.mode !== "hvm") v.shadow.select(v.satp);
}

/** The JSON of one vCPU's state, checked field by field. */
export function parseVcpuState(json: unknown, where: string): VcpuSaveState {
  const f = Fields.of(json, where);
  const regs = f.array("regs");
  if (regs.length !== 32) throw new ImageError(`${f.at("regs")}: ${regs.length} registers, want 32`);
  const c = f.obj("csrs");
  const csrs = {} as VcpuCsrs;
  for (const k of VCPU_CSR_NAMES) csrs[k] = c.u32(k);
  const timer = f.raw("timer");
  const pv = f.obj("pv");
  return {
    index: f.int("index", 0, 31),
    pc: f.u32("pc"),
    regs: regs.map((r, i) => checkInt(r, `${f.at("regs")}[${i}]`, -(2 ** 31), 2 ** 31 - 1)),
    vpriv: f.oneOf("vpriv", [0, 1] as const),
    csrs,
    timer: timer === null ? null : checkInt(timer, f.at("timer"), 0, Number.MAX_SAFE_INTEGER),
    power: f.oneOf("power", ["started", "stopped"] as const),
    runnable: f.bool("runnable"),
    pv: {
      sharedGpa: pv.int("sharedGpa", -1, 0xffff_ffff),
      trapHandler: pv.u32("trapHandler"),
      userAccess: pv.bool("userAccess"),
    },
  };
}
