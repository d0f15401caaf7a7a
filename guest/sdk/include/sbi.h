/*
 * The RISC-V Supervisor Binary Interface, version 2.0, from the S-mode side: extension and function ids
 * as the spec numbers them, and one C function per call. Every call is an `ecall` with the EID in a7,
 * the FID in a6 and arguments in a0..a5; the firmware answers with a0 = error and a1 = value.
 * The legacy extensions (EIDs 0x00-0x0f) return only a0.
 */
#ifndef SDK_SBI_H
#define SDK_SBI_H

#include <stdint.h>

struct sbiret {
  long error;
  long value;
};

/* Standard error codes (SBI chapter 3, "Binary Encoding"). */
#define SBI_SUCCESS 0
#define SBI_ERR_FAILED -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_DENIED -4
#define SBI_ERR_INVALID_ADDRESS -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED -7
#define SBI_ERR_ALREADY_STOPPED -8
#define SBI_ERR_NO_SHMEM -9

/* Legacy extensions (v0.1): the EID is the function. */
#define SBI_EXT_LEGACY_SET_TIMER 0x00
#define SBI_EXT_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_EXT_LEGACY_CONSOLE_GETCHAR 0x02
#define SBI_EXT_LEGACY_SHUTDOWN 0x08

/* Base */
#define SBI_EXT_BASE 0x10
#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID 1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_BASE_PROBE_EXTENSION 3
#define SBI_BASE_GET_MVENDORID 4
#define SBI_BASE_GET_MARCHID 5
#define SBI_BASE_GET_MIMPID 6

/* Timer "TIME" */
#define SBI_EXT_TIME 0x54494D45
#define SBI_TIME_SET_TIMER 0

/* IPI "sPI" */
#define SBI_EXT_IPI 0x735049
#define SBI_IPI_SEND_IPI 0

/* RFENCE "RFNC" */
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_RFENCE_REMOTE_FENCE_I 0
#define SBI_RFENCE_REMOTE_SFENCE_VMA 1
#define SBI_RFENCE_REMOTE_SFENCE_VMA_ASID 2

/* Hart state management "HSM" */
#define SBI_EXT_HSM 0x48534D
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_STOP 1
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_HSM_HART_SUSPEND 3
#define SBI_HSM_STATE_STARTED 0
#define SBI_HSM_STATE_STOPPED 1
#define SBI_HSM_STATE_START_PENDING 2
#define SBI_HSM_STATE_STOP_PENDING 3
#define SBI_HSM_STATE_SUSPENDED 4
#define SBI_HSM_STATE_SUSPEND_PENDING 5
#define SBI_HSM_STATE_RESUME_PENDING 6
#define SBI_HSM_SUSPEND_RET_DEFAULT 0x00000000u

/* System reset "SRST" */
#define SBI_EXT_SRST 0x53525354
#define SBI_SRST_SYSTEM_RESET 0
#define SBI_SRST_TYPE_SHUTDOWN 0
#define SBI_SRST_TYPE_COLD_REBOOT 1
#define SBI_SRST_TYPE_WARM_REBOOT 2
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_SYSTEM_FAILURE 1

/* Debug console "DBCN" */
#define SBI_EXT_DBCN 0x4442434E
#define SBI_DBCN_CONSOLE_WRITE 0
#define SBI_DBCN_CONSOLE_READ 1
#define SBI_DBCN_CONSOLE_WRITE_BYTE 2

/* spec_version: minor in bits 23:0, major in bits 30:24. */
#define SBI_SPEC_VERSION(major, minor) (((unsigned long)(major) << 24) | (unsigned long)(minor))
#define SBI_SPEC_MAJOR(v) (((unsigned long)(v) >> 24) & 0x7f)
#define SBI_SPEC_MINOR(v) ((unsigned long)(v) & 0xffffff)

/* rvisor's SBI implementation id (the spec's list holds 0..11 for other firmwares): "rvis". */
#define SBI_IMPL_ID_RVISOR 0x72766973

struct sbiret sbi_ecall(long eid, long fid, long a0, long a1, long a2, long a3, long a4, long a5);

long sbi_get_spec_version(void);
long sbi_get_impl_id(void);
long sbi_get_impl_version(void);
long sbi_probe_extension(long eid);
long sbi_get_mvendorid(void);
long sbi_get_marchid(void);
long sbi_get_mimpid(void);

struct sbiret sbi_set_timer(uint64_t stime_value);
struct sbiret sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base);
struct sbiret sbi_remote_fence_i(unsigned long hart_mask, unsigned long hart_mask_base);
struct sbiret sbi_remote_sfence_vma(unsigned long hart_mask, unsigned long hart_mask_base,
                                    unsigned long start_addr, unsigned long size);
struct sbiret sbi_remote_sfence_vma_asid(unsigned long hart_mask, unsigned long hart_mask_base,
                                         unsigned long start_addr, unsigned long size, unsigned long asid);
struct sbiret sbi_hart_start(unsigned long hartid, unsigned long start_addr, unsigned long opaque);
struct sbiret sbi_hart_stop(void);
struct sbiret sbi_hart_get_status(unsigned long hartid);
struct sbiret sbi_hart_suspend(uint32_t suspend_type, unsigned long resume_addr, unsigned long opaque);
struct sbiret sbi_system_reset(uint32_t reset_type, uint32_t reset_reason);
struct sbiret sbi_debug_console_write(unsigned long num_bytes, unsigned long base_addr_lo,
                                      unsigned long base_addr_hi);
struct sbiret sbi_debug_console_read(unsigned long num_bytes, unsigned long base_addr_lo,
                                     unsigned long base_addr_hi);
struct sbiret sbi_debug_console_write_byte(uint8_t byte);

void sbi_console_putchar(int ch);
int sbi_console_getchar(void);
__attribute__((noreturn)) void sbi_shutdown(void);

#endif
