/** CSR numbers, bit fields and trap causes, spelled as the RISC-V privileged spec spells them. */

export const PRIV_U = 0;
export const PRIV_S = 1;
export const PRIV_M = 3;
export type Priv = 0 | 1 | 3;

// ── CSR numbers ────────────────────────────────────────────────────────────────────────────────
export const CSR = {
  // Unprivileged counters
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  cycleh: 0xc80,
  timeh: 0xc81,
  instreth: 0xc82,
  // Supervisor
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  satp: 0x180,
  // Machine
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  mstatush: 0x310,
  menvcfgh: 0x31a,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  pmpcfg0: 0x3a0, // ..0x3a3
  pmpaddr0: 0x3b0, // ..0x3bf
  mcycle: 0xb00,
  minstret: 0xb02,
  mcycleh: 0xb80,
  minstreth: 0xb82,
} as const;

// ── mstatus / sstatus fields ──────────────────────────────────────────────────────────────────
export const MSTATUS_SIE = 1 << 1;
export const MSTATUS_MIE = 1 << 3;
export const MSTATUS_SPIE = 1 << 5;
export const MSTATUS_UBE = 1 << 6;
export const MSTATUS_MPIE = 1 << 7;
export const MSTATUS_SPP = 1 << 8;
export const MSTATUS_MPP_SHIFT = 11;
export const MSTATUS_MPP = 3 << MSTATUS_MPP_SHIFT;
export const MSTATUS_FS = 3 << 13;
export const MSTATUS_MPRV = 1 << 17;
export const MSTATUS_SUM = 1 << 18;
export const MSTATUS_MXR = 1 << 19;
export const MSTATUS_TVM = 1 << 20;
export const MSTATUS_TW = 1 << 21;
export const MSTATUS_TSR = 1 << 22;
export const MSTATUS_SD = 1 << 31;

// ── interrupt bits of mip / mie (and their S views) ───────────────────────────────────────────
export const IRQ_S_SOFT = 1;
export const IRQ_M_SOFT = 3;
export const IRQ_S_TIMER = 5;
export const IRQ_M_TIMER = 7;
export const IRQ_S_EXT = 9;
export const IRQ_M_EXT = 11;
export const MIP_SSIP = 1 << IRQ_S_SOFT;
export const MIP_MSIP = 1 << IRQ_M_SOFT;
export const MIP_STIP = 1 << IRQ_S_TIMER;
export const MIP_MTIP = 1 << IRQ_M_TIMER;
export const MIP_SEIP = 1 << IRQ_S_EXT;
export const MIP_MEIP = 1 << IRQ_M_EXT;

// ── exception causes (mcause with the interrupt bit clear) ────────────────────────────────────
export const CAUSE_INSN_MISALIGNED = 0;
export const CAUSE_INSN_ACCESS = 1;
export const CAUSE_ILLEGAL_INSN = 2;
export const CAUSE_BREAKPOINT = 3;
export const CAUSE_LOAD_MISALIGNED = 4;
export const CAUSE_LOAD_ACCESS = 5;
export const CAUSE_STORE_MISALIGNED = 6;
export const CAUSE_STORE_ACCESS = 7;
export const CAUSE_ECALL_U = 8;
export const CAUSE_ECALL_S = 9;
export const CAUSE_ECALL_M = 11;
export const CAUSE_INSN_PAGE_FAULT = 12;
export const CAUSE_LOAD_PAGE_FAULT = 13;
export const CAUSE_STORE_PAGE_FAULT = 15;

/** The interrupt bit of mcause/scause on RV32. */
export const CAUSE_INTERRUPT = 0x8000_0000;

// ── satp (Sv32) ───────────────────────────────────────────────────────────────────────────────
export const SATP_MODE_SV32 = 1 << 31;
export const SATP_ASID_SHIFT = 22;
export const SATP_ASID_MASK = 0x1ff;
export const SATP_PPN_MASK = 0x3f_ffff;

// ── H extension (hypervisor) ──────────────────────────────────────────────────────────────────
/** CSR numbers of the H extension (present only on harts built with it; see hext.ts). */
export const HCSR = {
  hstatus: 0x600,
  hedeleg: 0x602,
  hideleg: 0x603,
  hie: 0x604,
  htimedelta: 0x605,
  hcounteren: 0x606,
  hgeie: 0x607,
  henvcfg: 0x60a,
  htimedeltah: 0x615,
  henvcfgh: 0x61a,
  htval: 0x643,
  hip: 0x644,
  hvip: 0x645,
  htinst: 0x64a,
  hgatp: 0x680,
  hgeip: 0xe12,
  vsstatus: 0x200,
  vsie: 0x204,
  vstvec: 0x205,
  vsscratch: 0x240,
  vsepc: 0x241,
  vscause: 0x242,
  vstval: 0x243,
  vsip: 0x244,
  vsatp: 0x280,
  mtinst: 0x34a,
  mtval2: 0x34b,
} as const;

export const HSTATUS_VSBE = 1 << 5;
export const HSTATUS_GVA = 1 << 6;
export const HSTATUS_SPV = 1 << 7;
export const HSTATUS_SPVP = 1 << 8;
export const HSTATUS_HU = 1 << 9;
export const HSTATUS_VTVM = 1 << 20;
export const HSTATUS_VTW = 1 << 21;
export const HSTATUS_VTSR = 1 << 22;
/** mstatush (RV32) fields of the H extension. */
export const MSTATUSH_GVA = 1 << 6;
export const MSTATUSH_MPV = 1 << 7;

export const IRQ_VS_SOFT = 2;
export const IRQ_VS_TIMER = 6;
export const IRQ_VS_EXT = 10;
export const IRQ_S_GEXT = 12;
export const MIP_VSSIP = 1 << IRQ_VS_SOFT;
export const MIP_VSTIP = 1 << IRQ_VS_TIMER;
export const MIP_VSEIP = 1 << IRQ_VS_EXT;
export const MIP_SGEIP = 1 << IRQ_S_GEXT;

export const CAUSE_ECALL_VS = 10;
export const CAUSE_INSN_GUEST_PAGE_FAULT = 20;
export const CAUSE_LOAD_GUEST_PAGE_FAULT = 21;
export const CAUSE_VIRTUAL_INSN = 22;
export const CAUSE_STORE_GUEST_PAGE_FAULT = 23;

/** hgatp (Sv32x4): MODE, VMID, root PPN (16 KiB aligned: PPN[1:0] read as zero). */
export const HGATP_MODE_SV32X4 = 1 << 31;
export const HGATP_VMID_SHIFT = 22;
export const HGATP_VMID_MASK = 0x7f;
export const HGATP_PPN_MASK = 0x3f_fffc;
