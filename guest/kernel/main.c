/*
 * The guest kernel's boot, in order: the boot CPU (tp, the big kernel lock), the arch layer (trap
 * vector, timer interrupt), what the device tree says (RAM, timebase, CPUs, bootargs, devices), the page
 * allocator over the RAM after the image, the kernel page table, the interrupt controller, the periodic
 * tick, the devices' drivers (virtio, the store ring), the other CPUs, the shell as the first process,
 * the store's control thread, then the scheduler forever. Another CPU, started by cpu.c, begins at
 * kmain_secondary and joins the scheduler.
 */
#include <stdio.h>

#include "kernel.h"
#include "net.h"

struct boot_info boot_info;
uint32_t boot_hartid;
extern char _start[], _end[];

void panic(const char *what) {
  printf("kernel panic: %s\n", what);
  console_flush();
  arch_shutdown(1);
}

void kmain(unsigned long hartid, const void *dtb) {
  if (hartid >= NCPU) panic("booted on a hart whose id is NCPU or more");
  boot_hartid = (uint32_t)hartid;
  cpu_boot_init(hartid);
  bkl_acquire();
  arch_init((int)hartid);
  const char *why;
  if (fdt_read(dtb, &boot_info, &why) < 0) panic(why);
  uint64_t ram_end = boot_info.mem_base + boot_info.mem_size;
  if ((uintptr_t)_end >= ram_end) panic("the kernel image does not fit in RAM");
  /* The device tree was copied: its pages are free memory like the rest. */
  kalloc_init((uintptr_t)_end, (uintptr_t)(ram_end > 0xfffff000u ? 0xfffff000u : ram_end));
  vm_init(boot_info.mem_base, boot_info.mem_size);
  plic_init();
  timer_init(boot_info.timebase_hz);
  printf("rvisor guest kernel on hart %lu: %lu MiB RAM at %08lx, %u free pages\n", hartid,
         (unsigned long)(boot_info.mem_size >> 20), (unsigned long)boot_info.mem_base,
         (unsigned)kalloc_free_pages());
  blk_init();
  hvc_init();
  virtio_net_init();
  balloon_init();
  xenstore_init();
  cpu_boot_secondaries();
  if (kthread_create("shell", shell_main) < 0) panic("no process slot for the shell");
  xenstore_start(); /* after the shell, which must be the first process (it reaps orphans) */
  balloon_start();
  resize_start();
  scheduler();
}

void kmain_secondary(unsigned long hartid) {
  struct cpu *c = &cpus[hartid];
  __asm__ volatile("mv tp, %0" ::"r"(c));
  c->active = 0; /* satp is 0: paging is off */
  arch_init(c->id);
  vm_activate(kernel_pagetable);
  timer_start_cpu();
  bkl_acquire();
  c->starts++;
  c->state = CPU_ONLINE;
  scheduler();
}
