/* SBI calls from S-mode: one ecall wrapper and thin functions named as in the spec. */
#include <sbi.h>

struct sbiret sbi_ecall(long eid, long fid, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r_a0 __asm__("a0") = a0;
  register long r_a1 __asm__("a1") = a1;
  register long r_a2 __asm__("a2") = a2;
  register long r_a3 __asm__("a3") = a3;
  register long r_a4 __asm__("a4") = a4;
  register long r_a5 __asm__("a5") = a5;
  register long r_a6 __asm__("a6") = fid;
  register long r_a7 __asm__("a7") = eid;
  __asm__ volatile("ecall"
                   : "+r"(r_a0), "+r"(r_a1)
                   : "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a5), "r"(r_a6), "r"(r_a7)
                   : "memory");
  return (struct sbiret){r_a0, r_a1};
}

static long base_value(long fid, long arg) {
  struct sbiret r = sbi_ecall(SBI_EXT_BASE, fid, arg, 0, 0, 0, 0, 0);
  return r.error == SBI_SUCCESS ? r.value : r.error;
}

long sbi_get_spec_version(void) { return base_value(SBI_BASE_GET_SPEC_VERSION, 0); }
long sbi_get_impl_id(void) { return base_value(SBI_BASE_GET_IMPL_ID, 0); }
long sbi_get_impl_version(void) { return base_value(SBI_BASE_GET_IMPL_VERSION, 0); }
long sbi_probe_extension(long eid) { return base_value(SBI_BASE_PROBE_EXTENSION, eid); }
long sbi_get_mvendorid(void) { return base_value(SBI_BASE_GET_MVENDORID, 0); }
long sbi_get_marchid(void) { return base_value(SBI_BASE_GET_MARCHID, 0); }
long sbi_get_mimpid(void) { return base_value(SBI_BASE_GET_MIMPID, 0); }

/* On RV32 the 64-bit stime_value travels in a0 (low word) and a1 (high word). */
struct sbiret sbi_set_timer(uint64_t stime_value) {
  return sbi_ecall(SBI_EXT_TIME, SBI_TIME_SET_TIMER, (long)(uint32_t)stime_value, (long)(stime_value >> 32), 0, 0,
                   0, 0);
}

struct sbiret sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base) {
  return sbi_ecall(SBI_EXT_IPI, SBI_IPI_SEND_IPI, hart_mask, hart_mask_base, 0, 0, 0, 0);
}

struct sbiret sbi_remote_fence_i(unsigned long hart_mask, unsigned long hart_mask_base) {
  return sbi_ecall(SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_FENCE_I, hart_mask, hart_mask_base, 0, 0, 0, 0);
}

struct sbiret sbi_remote_sfence_vma(unsigned long hart_mask, unsigned long hart_mask_base,
                                    unsigned long start_addr, unsigned long size) {
  return sbi_ecall(SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA, hart_mask, hart_mask_base, start_addr, size, 0,
                   0);
}

struct sbiret sbi_remote_sfence_vma_asid(unsigned long hart_mask, unsigned long hart_mask_base,
                                         unsigned long start_addr, unsigned long size, unsigned long asid) {
  return sbi_ecall(SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA_ASID, hart_mask, hart_mask_base, start_addr, size,
                   asid, 0);
}

struct sbiret sbi_hart_start(unsigned long hartid, unsigned long start_addr, unsigned long opaque) {
  return sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_START, hartid, start_addr, opaque, 0, 0, 0);
}

struct sbiret sbi_hart_stop(void) { return sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_STOP, 0, 0, 0, 0, 0, 0); }

struct sbiret sbi_hart_get_status(unsigned long hartid) {
  return sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, hartid, 0, 0, 0, 0, 0);
}

struct sbiret sbi_hart_suspend(uint32_t suspend_type, unsigned long resume_addr, unsigned long opaque) {
  return sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, suspend_type, resume_addr, opaque, 0, 0, 0);
}

struct sbiret sbi_system_reset(uint32_t reset_type, uint32_t reset_reason) {
  return sbi_ecall(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, reset_type, reset_reason, 0, 0, 0, 0);
}

struct sbiret sbi_debug_console_write(unsigned long num_bytes, unsigned long base_addr_lo,
                                      unsigned long base_addr_hi) {
  return sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, num_bytes, base_addr_lo, base_addr_hi, 0, 0, 0);
}

struct sbiret sbi_debug_console_read(unsigned long num_bytes, unsigned long base_addr_lo,
                                     unsigned long base_addr_hi) {
  return sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, num_bytes, base_addr_lo, base_addr_hi, 0, 0, 0);
}

struct sbiret sbi_debug_console_write_byte(uint8_t byte) {
  return sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE_BYTE, byte, 0, 0, 0, 0, 0);
}

void sbi_console_putchar(int ch) { sbi_ecall(SBI_EXT_LEGACY_CONSOLE_PUTCHAR, 0, ch, 0, 0, 0, 0, 0); }

int sbi_console_getchar(void) {
  return (int)sbi_ecall(SBI_EXT_LEGACY_CONSOLE_GETCHAR, 0, 0, 0, 0, 0, 0, 0).error;
}

void sbi_shutdown(void) {
  sbi_ecall(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0, 0, 0, 0, 0);
  for (;;) __asm__ volatile("wfi");
}
