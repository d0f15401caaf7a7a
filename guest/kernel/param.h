/* Every limit of the guest kernel, in one place. */
#ifndef KERNEL_PARAM_H
#define KERNEL_PARAM_H

#define NPROC 16            /* process table slots, kernel threads included */
#define KSTACK_SIZE 8192    /* per-process kernel stack (the trap frame sits at its top) */
#define TICK_HZ 100         /* scheduler ticks per second: a 10 ms time slice */
#define PROC_NAME_LEN 16
#define MAX_ARGS 8          /* argv entries a spawned program receives */
#define ARGS_LEN 128        /* bytes of argument text a spawned program receives */
#define LINE_LEN 128        /* a shell command line */
#define BOOTARGS_LEN 128
#define FDT_MAX_DEVICES 24  /* device nodes the kernel remembers from the device tree */
#define FDT_NAME_LEN 32
#define FDT_COMPATIBLE_LEN 48
#define NIRQ 32             /* external interrupt sources (PLIC) a driver may register for */
#define NBLK 4              /* virtio-blk disks the kernel drives */
#define BLK_MAX_SECTORS 16  /* the most sectors one blk_read/blk_write moves (8 KiB) */

#endif
