/*
 * The platform layer of S-mode programs: the firmware owns the devices, so the console and power-off
 * are SBI calls. DBCN is used when the firmware has it, the legacy console otherwise.
 */
#include <platform.h>
#include <sbi.h>

static int dbcn_state; /* 0 not probed yet, 1 present, -1 absent */

static int have_dbcn(void) {
  if (dbcn_state == 0) dbcn_state = sbi_probe_extension(SBI_EXT_DBCN) ? 1 : -1;
  return dbcn_state > 0;
}

void console_putc(char c) {
  if (have_dbcn())
    sbi_debug_console_write_byte((uint8_t)c);
  else
    sbi_console_putchar((unsigned char)c);
}

int console_getc(void) {
  if (have_dbcn()) {
    /* S-mode runs with satp = 0 here, so a virtual address is the physical one DBCN wants. */
    unsigned char byte;
    struct sbiret r = sbi_debug_console_read(1, (unsigned long)&byte, 0);
    return r.error == SBI_SUCCESS && r.value == 1 ? byte : -1;
  }
  return sbi_console_getchar();
}

void poweroff(int code) {
  sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, code == 0 ? SBI_SRST_REASON_NONE : SBI_SRST_REASON_SYSTEM_FAILURE);
  sbi_shutdown(); /* a firmware without SRST */
}
