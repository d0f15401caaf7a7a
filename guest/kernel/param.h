/* Every limit of the guest kernel, in one place. */
#ifndef KERNEL_PARAM_H
#define KERNEL_PARAM_H

#define NPROC 16            /* process table slots, kernel threads included */
#define NCPU 8              /* CPUs (harts 0..NCPU-1) the kernel can run on; harts beyond are ignored */
#define CPU_SWITCH_TIMEOUT_MS 2000 /* how long `online` waits for a CPU to start or stop */
#define CPU_STACK_SIZE 8192 /* each secondary CPU's scheduler stack (the boot CPU keeps head.S's) */
#define KSTACK_SIZE 8192    /* per-process kernel stack (the trap frame sits at its top) */
#define TICK_HZ 100         /* scheduler ticks per second: a 10 ms time slice */
#define PROC_NAME_LEN 16
#define MAX_ARGS 8          /* argv entries a spawned program receives */
#define ARGS_LEN 128        /* bytes of argument text a spawned program receives */
#define LINE_LEN 128        /* a shell command line */
#define BOOTARGS_LEN 128
#define FDT_MAX_DEVICES 24  /* device nodes the kernel remembers from the device tree */
#define FDT_MAX_RESERVED 4  /* /reserved-memory regions the kernel keeps out of the page allocator */
#define FDT_NAME_LEN 32
#define FDT_COMPATIBLE_LEN 48
#define XS_PAYLOAD_MAX 4096  /* a store message's payload at most (XENSTORE_PAYLOAD_MAX) */
#define XS_EVENTS 8          /* store watch events queued before the oldest is dropped */
#define XS_EVENT_PATH_LEN 128
#define XS_TOKEN_LEN 32
#define XS_VALUE_SHOWN 256   /* bytes of a store value the shell prints */
#define NIRQ 32             /* external interrupt sources (PLIC) a driver may register for */
#define NBLK 4              /* virtio-blk disks the kernel drives */
#define BLK_MAX_SECTORS 16  /* the most sectors one blk_read/blk_write moves (8 KiB) */

#endif
