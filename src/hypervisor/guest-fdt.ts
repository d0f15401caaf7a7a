/**
 * The device tree a domain boots with: its own RAM at 0x8000_0000 (whatever host frames back it), its
 * vCPUs, the timebase, the boot arguments, and its device models where QEMU `virt` has them: the virtual
 * 16550 UART and the virtual PLIC (devices.ts), and a `virtio,mmio` node for each occupied virtio-mmio
 * slot (empty slots are left out). SBI (console, timer, power) is there as well.
 *
 * A domain built with a store ring also has, as Linux's ramoops does, a reserved-memory region that
 * names its user (docs/store-ring.md):
 *
 *   reserved-memory {                          #address-cells = 2, #size-cells = 2, ranges
 *     xenstore@<gpa> {
 *       compatible = "rvisor,xenstore";
 *       reg = <0 gpa 0 0x1000>;                 the ring page (struct xenstore_domain_interface)
 *       interrupts = <irq>;                     backend → guest: a source of the PLIC (phandle 1)
 *       interrupt-parent = <1>;
 *       rvisor,event-channel = <port>;          guest → backend: the port EVTCHN_SEND names
 *     };
 *   };
 */
import { type FdtNode, serializeFdt } from "../machine/fdt.js";
import { IRQ_M_EXT, IRQ_S_EXT } from "../machine/isa/csr-defs.js";
import {
  DRAM_BASE,
  PLIC_BASE,
  PLIC_SIZE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_STRIDE,
  virtioIrq,
} from "../machine/memory-map.js";
import { PAGE_SIZE, PLIC_SOURCES, TIMEBASE_HZ } from "../machine/params.js";

const node = (name: string, props: FdtNode["props"], children: FdtNode[] = []): FdtNode => ({
  name,
  props,
  children,
});

export interface GuestFdtOptions {
  vcpus: number;
  ramBytes: number;
  bootargs?: string;
  /** The domain's name, shown as the board model. */
  name: string;
  /** Occupied virtio-mmio slots (DomainDevices.virtioSlots). */
  virtioSlots?: readonly number[];
  /** The store ring's page, event-channel port and PLIC source, if the domain has one. */
  storeRing?: { gpa: number; port: number; irq: number };
}

/** The 16550's input clock on QEMU virt, as the board's tree gives it. */
const UART_CLOCK_HZ = 3_686_400;

export function guestFdt(opts: GuestFdtOptions): Uint8Array {
  const intc = (i: number): number => 2 + i; // phandles: 1 is the PLIC
  const cpus = Array.from({ length: opts.vcpus }, (_, i) =>
    node(
      `cpu@${i.toString(16)}`,
      [
        ["device_type", "cpu"],
        ["reg", [i]],
        ["status", "okay"],
        ["compatible", "riscv"],
        ["riscv,isa", "rv32imac_zicsr_zifencei"],
        ["mmu-type", "riscv,sv32"],
      ],
      [
        node("interrupt-controller", [
          ["#address-cells", [0]],
          ["#interrupt-cells", [1]],
          ["interrupt-controller", null],
          ["compatible", "riscv,cpu-intc"],
          ["phandle", [intc(i)]],
        ]),
      ],
    ),
  );
  const root = node(
    "",
    [
      ["#address-cells", [2]],
      ["#size-cells", [2]],
      ["compatible", "rvisor,domain"],
      ["model", `rvisor domain ${opts.name}`],
    ],
    [
      node("chosen", [["bootargs", opts.bootargs ?? ""]]),
      node(`memory@${DRAM_BASE.toString(16)}`, [
        ["device_type", "memory"],
        ["reg", [0, DRAM_BASE, 0, opts.ramBytes]],
      ]),
      ...(opts.storeRing === undefined ? [] : [storeRingNode(opts.storeRing)]),
      node(
        "cpus",
        [
          ["#address-cells", [1]],
          ["#size-cells", [0]],
          ["timebase-frequency", [TIMEBASE_HZ]],
        ],
        cpus,
      ),
      node(
        "soc",
        [
          ["#address-cells", [2]],
          ["#size-cells", [2]],
          ["compatible", "simple-bus"],
          ["ranges", null],
        ],
        [
          node(`serial@${UART0_BASE.toString(16)}`, [
            ["interrupts", [UART0_IRQ]],
            ["interrupt-parent", [1]],
            ["clock-frequency", [UART_CLOCK_HZ]],
            ["reg", [0, UART0_BASE, 0, UART0_SIZE]],
            ["compatible", "ns16550a"],
          ]),
          node(`plic@${PLIC_BASE.toString(16)}`, [
            ["phandle", [1]],
            ["riscv,ndev", [PLIC_SOURCES - 1]],
            ["reg", [0, PLIC_BASE, 0, PLIC_SIZE]],
            // Context 2i is vCPU i's M-mode (it reaches nothing), 2i+1 its S-mode external interrupt.
            ["interrupts-extended", cpus.flatMap((_, i) => [intc(i), IRQ_M_EXT, intc(i), IRQ_S_EXT])],
            ["interrupt-controller", null],
            ["compatible", ["sifive,plic-1.0.0", "riscv,plic0"]],
            ["#address-cells", [0]],
            ["#interrupt-cells", [1]],
          ]),
          ...(opts.virtioSlots ?? []).map((slot) => {
            const base = VIRTIO_BASE + VIRTIO_STRIDE * slot;
            return node(`virtio_mmio@${base.toString(16)}`, [
              ["interrupts", [virtioIrq(slot)]],
              ["interrupt-parent", [1]],
              ["reg", [0, base, 0, VIRTIO_STRIDE]],
              ["compatible", "virtio,mmio"],
            ]);
          }),
        ],
      ),
    ],
  );
  return serializeFdt(root, 0);
}

function storeRingNode(r: { gpa: number; port: number; irq: number }): FdtNode {
  return node(
    "reserved-memory",
    [
      ["#address-cells", [2]],
      ["#size-cells", [2]],
      ["ranges", null],
    ],
    [
      node(`xenstore@${r.gpa.toString(16)}`, [
        ["compatible", "rvisor,xenstore"],
        ["reg", [0, r.gpa, 0, PAGE_SIZE]],
        ["interrupts", [r.irq]],
        ["interrupt-parent", [1]],
        ["rvisor,event-channel", [r.port]],
      ]),
    ],
  );
}
