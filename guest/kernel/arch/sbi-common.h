/* Inside arch/: what the native and the PARAVIRT builds share (sbi-common.c). */
#ifndef KERNEL_ARCH_SBI_COMMON_H
#define KERNEL_ARCH_SBI_COMMON_H

/* Probes the firmware's debug console (DBCN); arch_init calls it before the console is used. */
void sbi_common_init(void);

#endif
