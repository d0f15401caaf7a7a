/**
 * Numbers of the RISC-V Supervisor Binary Interface, v2.0, spelled as the specification spells them:
 * extension IDs (EIDs, in a7), function IDs (FIDs, in a6), error codes (returned in a0) and the
 * states and types some functions take or return.
 *
 * The calling convention (binary encoding chapter):
 *
 *   S-mode:  a7 = EID   a6 = FID   a0..a5 = arguments   ecall
 *   answer:  a0 = error (SBI_SUCCESS or a negative code)   a1 = value   every other register preserved
 *   legacy EIDs 0x00..0x0F: a6 ignored, the answer in a0 only, a1 preserved too
 */

/** sbi_get_spec_version: minor in bits 23:0, major in bits 30:24 → 2.0. */
export const SBI_SPEC_VERSION = (2 << 24) | 0;
/**
 * sbi_get_impl_id: the specification's table assigns 0..11 (BBL, OpenSBI, Xvisor, KVM, RustSBI, Diosix,
 * Coffer, Xen, PolarFire HSS, coreboot, oreboot, bhyve). rvisor's id is ASCII "rvis", far from that list
 * and the same id the guest SDK's M-mode shim answers with (guest/sdk/include/sbi.h).
 */
export const SBI_IMPL_ID_RVISOR = 0x7276_6973;
/** sbi_get_impl_version: this firmware's version, 1 for the first one. */
export const SBI_IMPL_VERSION = 1;

// ── extension IDs ─────────────────────────────────────────────────────────────────────────────
export const EID_LEGACY_SET_TIMER = 0x00;
export const EID_LEGACY_CONSOLE_PUTCHAR = 0x01;
export const EID_LEGACY_CONSOLE_GETCHAR = 0x02;
export const EID_LEGACY_CLEAR_IPI = 0x03;
export const EID_LEGACY_SEND_IPI = 0x04;
export const EID_LEGACY_REMOTE_FENCE_I = 0x05;
export const EID_LEGACY_REMOTE_SFENCE_VMA = 0x06;
export const EID_LEGACY_REMOTE_SFENCE_VMA_ASID = 0x07;
export const EID_LEGACY_SHUTDOWN = 0x08;
export const EID_BASE = 0x10;
export const EID_TIME = 0x5449_4d45; // "TIME"
export const EID_IPI = 0x73_5049; // "sPI"
export const EID_RFENCE = 0x5246_4e43; // "RFNC"
export const EID_HSM = 0x48_534d; // "HSM"
export const EID_SRST = 0x5352_5354; // "SRST"
export const EID_DBCN = 0x4442_434e; // "DBCN"

// ── function IDs ──────────────────────────────────────────────────────────────────────────────
export const BASE_GET_SPEC_VERSION = 0;
export const BASE_GET_IMPL_ID = 1;
export const BASE_GET_IMPL_VERSION = 2;
export const BASE_PROBE_EXTENSION = 3;
export const BASE_GET_MVENDORID = 4;
export const BASE_GET_MARCHID = 5;
export const BASE_GET_MIMPID = 6;

export const TIME_SET_TIMER = 0;

export const IPI_SEND_IPI = 0;

export const RFENCE_REMOTE_FENCE_I = 0;
export const RFENCE_REMOTE_SFENCE_VMA = 1;
export const RFENCE_REMOTE_SFENCE_VMA_ASID = 2;
// FIDs 3..6 are the HFENCE functions, for harts with the H extension.

export const HSM_HART_START = 0;
export const HSM_HART_STOP = 1;
export const HSM_HART_GET_STATUS = 2;
export const HSM_HART_SUSPEND = 3;

export const SRST_SYSTEM_RESET = 0;

export const DBCN_CONSOLE_WRITE = 0;
export const DBCN_CONSOLE_READ = 1;
export const DBCN_CONSOLE_WRITE_BYTE = 2;

// ── error codes ───────────────────────────────────────────────────────────────────────────────
export const SBI_SUCCESS = 0;
export const SBI_ERR_FAILED = -1;
export const SBI_ERR_NOT_SUPPORTED = -2;
export const SBI_ERR_INVALID_PARAM = -3;
export const SBI_ERR_DENIED = -4;
export const SBI_ERR_INVALID_ADDRESS = -5;
export const SBI_ERR_ALREADY_AVAILABLE = -6;
export const SBI_ERR_ALREADY_STARTED = -7;
export const SBI_ERR_ALREADY_STOPPED = -8;

// ── HSM ───────────────────────────────────────────────────────────────────────────────────────
export const HSM_STATE_STARTED = 0;
export const HSM_STATE_STOPPED = 1;
export const HSM_STATE_START_PENDING = 2;
export const HSM_STATE_STOP_PENDING = 3;
export const HSM_STATE_SUSPENDED = 4;
export const HSM_STATE_SUSPEND_PENDING = 5;
export const HSM_STATE_RESUME_PENDING = 6;

/** hart_suspend types; the rest are reserved or platform-specific, and this platform has none. */
export const HSM_SUSPEND_RETENTIVE_DEFAULT = 0x0000_0000;
export const HSM_SUSPEND_NON_RETENTIVE_DEFAULT = 0x8000_0000;

// ── SRST ──────────────────────────────────────────────────────────────────────────────────────
export const SRST_TYPE_SHUTDOWN = 0;
export const SRST_TYPE_COLD_REBOOT = 1;
export const SRST_TYPE_WARM_REBOOT = 2;
export const SRST_REASON_NONE = 0;
export const SRST_REASON_SYSTEM_FAILURE = 1;

/** hart_mask_base meaning "every hart, ignore hart_mask" (−1 as an unsigned long). */
export const HART_MASK_BASE_ALL = 0xffff_ffff;

// ── what a call answers ───────────────────────────────────────────────────────────────────────

/** The answer of a v0.2+ function: a0 = error, a1 = value. */
export interface SbiRet {
  error: number;
  value: number;
}

/** The answer of a legacy (v0.1) function: a0 only; a1 stays as the caller left it. */
export interface LegacyRet {
  a0: number;
}

/**
 * The call does not return to the instruction after its ECALL: the handler already put the hart where
 * it goes on (stopped, resumed elsewhere, or the machine is shutting down).
 */
export const NO_RETURN = Symbol("no return");

export type Outcome = SbiRet | LegacyRet | typeof NO_RETURN;

export const ok = (value = 0): SbiRet => ({ error: SBI_SUCCESS, value });
export const fail = (error: number): SbiRet => ({ error, value: 0 });

/**
 * The Base extension's answers (SBI chapter 4), for any implementation: the board's firmware and the
 * hypervisor's SBI for guests differ only in which extensions they have and what the machine ids are.
 */
export function baseCall(
  fid: number,
  arg: number,
  has: (eid: number) => boolean,
  ids: { mvendorid: number; marchid: number; mimpid: number },
): SbiRet {
  switch (fid) {
    case BASE_GET_SPEC_VERSION:
      return ok(SBI_SPEC_VERSION);
    case BASE_GET_IMPL_ID:
      return ok(SBI_IMPL_ID_RVISOR);
    case BASE_GET_IMPL_VERSION:
      return ok(SBI_IMPL_VERSION);
    case BASE_PROBE_EXTENSION:
      return ok(has(arg >>> 0) ? 1 : 0);
    case BASE_GET_MVENDORID:
      return ok(ids.mvendorid);
    case BASE_GET_MARCHID:
      return ok(ids.marchid);
    case BASE_GET_MIMPID:
      return ok(ids.mimpid);
    default:
      return fail(SBI_ERR_NOT_SUPPORTED);
  }
}
