// rvisor: s-mode
/*
 * The multi-hart SBI calls, on two harts (-smp 2): HSM hart_start / get_status / stop, IPIs both ways,
 * remote fences, and the errors the spec asks for (starting a started hart, naming a hart that does
 * not exist). Only hart 0 prints, so the output does not depend on how the harts interleave.
 */
#include <csr.h>
#include <platform.h>
#include <sbi.h>
#include <stdio.h>

#define OPAQUE 0x600dcafeul
#define SPIN_LIMIT 50000000u

void sdk_secondary_entry(void);

static volatile unsigned long seen_opaque;
static volatile int secondary_ready, ipis[2], fence_done, fence_error;
static int failures;

__attribute__((interrupt("supervisor"), aligned(4))) static void on_trap(void) {
  if (csr_read(scause) == (CAUSE_INTERRUPT | IRQ_S_SOFT)) {
    csr_clear(sip, SIP_SSIP);
    ipis[csr_read(sscratch)]++;
  } else {
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_SYSTEM_FAILURE);
  }
}

static void take_ipis(unsigned long hartid) {
  csr_write(sscratch, hartid); /* the handler's hart index */
  csr_write(stvec, (unsigned long)on_trap);
  csr_set(sie, SIP_SSIP);
  csr_set(sstatus, SSTATUS_SIE);
}

static int wait_for(volatile int *flag, int value) {
  for (unsigned i = 0; i < SPIN_LIMIT; i++)
    if (*flag >= value) return 1;
  return 0;
}

static void expect(const char *what, long got, long want) {
  printf("%s: %ld%s\n", what, got, got == want ? "" : " (WRONG)");
  if (got != want) failures++;
}

/* Hart 1, started by hart 0 through HSM with a1 = OPAQUE. Returning stops the hart (crt0-s). */
void secondary_main(unsigned long hartid, unsigned long opaque) {
  seen_opaque = opaque;
  take_ipis(hartid);
  secondary_ready = 1;
  while (ipis[1] == 0) wfi();
  sbi_send_ipi(1ul << 0, 0);
  fence_error = (int)sbi_remote_fence_i(1ul << 0, 0).error;
  fence_done = 1;
}

int main(unsigned long hartid, void *dtb) {
  (void)dtb;
  if (hartid != 0) return 2;
  take_ipis(0);
  expect("status of hart 1 before start", sbi_hart_get_status(1).value, SBI_HSM_STATE_STOPPED);
  expect("start hart 1", sbi_hart_start(1, (unsigned long)sdk_secondary_entry, OPAQUE).error, SBI_SUCCESS);
  expect("hart 1 ready", wait_for(&secondary_ready, 1), 1);
  expect("hart 1 got its opaque argument", seen_opaque == OPAQUE, 1);
  expect("status of hart 1 after start", sbi_hart_get_status(1).value, SBI_HSM_STATE_STARTED);
  expect("start hart 1 again", sbi_hart_start(1, (unsigned long)sdk_secondary_entry, 0).error,
         SBI_ERR_ALREADY_AVAILABLE);
  expect("start hart 7 (absent)", sbi_hart_start(7, (unsigned long)sdk_secondary_entry, 0).error,
         SBI_ERR_INVALID_PARAM);
  expect("status of hart 7 (absent)", sbi_hart_get_status(7).error, SBI_ERR_INVALID_PARAM);
  expect("IPI to hart 7 (absent)", sbi_send_ipi(1ul << 7, 0).error, SBI_ERR_INVALID_PARAM);

  expect("IPI to hart 1", sbi_send_ipi(1ul << 1, 0).error, SBI_SUCCESS);
  expect("IPI back from hart 1", wait_for(&ipis[0], 1), 1);
  expect("remote fence.i from hart 1", wait_for(&fence_done, 1) && fence_error == SBI_SUCCESS, 1);
  expect("remote sfence.vma on all harts", sbi_remote_sfence_vma(0, -1ul, 0, -1ul).error, SBI_SUCCESS);
  expect("IPI to all harts (base -1)", sbi_send_ipi(0, -1ul).error, SBI_SUCCESS);
  expect("own IPI taken", wait_for(&ipis[0], 2), 1);

  unsigned spins = 0;
  while (sbi_hart_get_status(1).value != SBI_HSM_STATE_STOPPED && spins < SPIN_LIMIT) spins++;
  expect("status of hart 1 after it stopped", sbi_hart_get_status(1).value, SBI_HSM_STATE_STOPPED);
  printf("sbi-harts: %s\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}
