/**
 * The device tree a domain boots with: its own RAM at 0x8000_0000 (whatever host frames back it), its
 * vCPUs, the timebase and the boot arguments. No devices: a `trap` or `pv` guest reaches the outside
 * world through SBI calls (console, timer, power) only.
 */
import { type FdtNode, serializeFdt } from "../machine/fdt.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { TIMEBASE_HZ } from "../machine/params.js";

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
}

export function guestFdt(opts: GuestFdtOptions): Uint8Array {
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
          ["#interrupt-cells", [1]],
          ["interrupt-controller", null],
          ["compatible", "riscv,cpu-intc"],
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
      node(
        "cpus",
        [
          ["#address-cells", [1]],
          ["#size-cells", [0]],
          ["timebase-frequency", [TIMEBASE_HZ]],
        ],
        cpus,
      ),
    ],
  );
  return serializeFdt(root, 0);
}
