/**
 * The board's flattened device tree (FDT, devicetree specification v0.4 ch. 5), built the way QEMU's
 * `virt` machine builds it, so Linux and OpenSBI find the same nodes they find there.
 *
 * Blob layout (all integers big-endian):
 *
 *   ┌──────────────────────┐ 0
 *   │ header (40 bytes)    │ magic 0xd00dfeed, totalsize, off_dt_struct, off_dt_strings,
 *   │                      │ off_mem_rsvmap, version 17, last_comp_version 16, boot_cpuid_phys,
 *   │                      │ size_dt_strings, size_dt_struct
 *   ├──────────────────────┤ off_mem_rsvmap (8-aligned)
 *   │ reservations         │ {u64 address, u64 size}*, ended by {0, 0}
 *   ├──────────────────────┤ off_dt_struct
 *   │ structure block      │ BEGIN_NODE name\0 pad · PROP len nameoff value pad · END_NODE · END
 *   ├──────────────────────┤ off_dt_strings
 *   │ strings block        │ property names, NUL-terminated, each stored once
 *   └──────────────────────┘ totalsize
 */
import { IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT } from "./isa/csr-defs.js";
import { TEST_PASS, TEST_RESET } from "./memory-map.js";

const FDT_MAGIC = 0xd00d_feed;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;
const HEADER_SIZE = 40;

/** A property value: u32 cells, a string, a string list, raw bytes, or empty (a boolean property). */
export type FdtValue = number[] | string | string[] | Uint8Array | null;

export interface FdtNode {
  name: string;
  props: [string, FdtValue][];
  children: FdtNode[];
}

/** Serialises a node tree (the root has name "") into a version-17 blob. */
export function serializeFdt(root: FdtNode, bootCpuId = 0): Uint8Array {
  const struct: number[] = [];
  const strings: number[] = [];
  const stringOffsets = new Map<string, number>();
  const enc = new TextEncoder();

  const u32 = (out: number[], v: number) =>
    out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const pad4 = (out: number[]) => {
    while (out.length % 4 !== 0) out.push(0);
  };
  const nameOffset = (name: string): number => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.length;
      stringOffsets.set(name, off);
      strings.push(...enc.encode(name), 0);
    }
    return off;
  };
  const encodeValue = (name: string, v: FdtValue): number[] => {
    if (v === null) return [];
    if (typeof v === "string") return [...enc.encode(v), 0];
    if (v instanceof Uint8Array) return [...v];
    if (v.length > 0 && typeof v[0] === "string")
      return (v as string[]).flatMap((s) => [...enc.encode(s), 0]);
    const out: number[] = [];
    for (const cell of v as number[]) {
      if (!(Number.isInteger(cell) && cell >= 0 && cell < 2 ** 32)) {
        throw new Error(`fdt: property ${name}: cell ${cell} is not a 32-bit unsigned integer`);
      }
      u32(out, cell);
    }
    return out;
  };
  const emit = (node: FdtNode) => {
    u32(struct, FDT_BEGIN_NODE);
    struct.push(...enc.encode(node.name), 0);
    pad4(struct);
    for (const [name, value] of node.props) {
      const bytes = encodeValue(name, value);
      u32(struct, FDT_PROP);
      u32(struct, bytes.length);
      u32(struct, nameOffset(name));
      struct.push(...bytes);
      pad4(struct);
    }
    for (const child of node.children) emit(child);
    u32(struct, FDT_END_NODE);
  };
  emit(root);
  u32(struct, FDT_END);

  const rsvmap = new Array<number>(16).fill(0); // no reservations: just the terminating entry
  const offRsvmap = HEADER_SIZE; // 40 is 8-aligned
  const offStruct = offRsvmap + rsvmap.length;
  const offStrings = offStruct + struct.length;
  const total = offStrings + strings.length;

  const header: number[] = [];
  for (const v of [
    FDT_MAGIC,
    total,
    offStruct,
    offStrings,
    offRsvmap,
    FDT_VERSION,
    FDT_LAST_COMP_VERSION,
    bootCpuId,
    strings.length,
    struct.length,
  ]) {
    u32(header, v);
  }
  const blob = new Uint8Array(total);
  blob.set(header, 0);
  blob.set(rsvmap, offRsvmap);
  blob.set(struct, offStruct);
  blob.set(strings, offStrings);
  return blob;
}

export interface FdtOptions {
  harts: number;
  ramBase: number;
  ramSize: number;
  bootargs?: string;
  timebaseHz: number;
  /** e.g. "rv32imac" or "rv32imac_zicsr_zifencei", as the `riscv,isa` property. */
  isa: string;
  mmuType: "riscv,sv32";
  uart: { base: number; size: number; irq: number };
  clint: { base: number; size: number };
  plic: { base: number; size: number; ndev: number };
  test: { base: number; size: number };
  virtio: { base: number; size: number; irq: number }[];
}

/** The 16550's input clock on QEMU virt (3.6864 MHz), which Linux uses to program the divisor. */
const UART_CLOCK_HZ = 3_686_400;

const hex = (n: number) => n.toString(16);
/** A 64-bit address or size as two cells (the root and /soc use #address-cells = #size-cells = 2). */
const cells64 = (n: number) => [Math.floor(n / 2 ** 32), n % 2 ** 32];
const reg64 = (base: number, size: number) => [...cells64(base), ...cells64(size)];
const node = (name: string, props: [string, FdtValue][], children: FdtNode[] = []): FdtNode => ({
  name,
  props,
  children,
});

/** The device tree of the QEMU-virt-compatible board, as a blob. */
export function buildFdt(opts: FdtOptions): Uint8Array {
  if (!(opts.harts >= 1)) throw new Error(`fdt: a board needs at least one hart, not ${opts.harts}`);
  let nextPhandle = 1;
  const cpuPhandle: number[] = [];
  const intcPhandle: number[] = [];
  for (let h = 0; h < opts.harts; h++) {
    cpuPhandle.push(nextPhandle++);
    intcPhandle.push(nextPhandle++);
  }
  const plicPhandle = nextPhandle++;
  const testPhandle = nextPhandle++;
  const serialName = `serial@${hex(opts.uart.base)}`;

  const cpus = node(
    "cpus",
    [
      ["#address-cells", [1]],
      ["#size-cells", [0]],
      ["timebase-frequency", [opts.timebaseHz]],
    ],
    [
      ...cpuPhandle.map((phandle, h) =>
        node(
          `cpu@${hex(h)}`,
          [
            ["phandle", [phandle]],
            ["device_type", "cpu"],
            ["reg", [h]],
            ["status", "okay"],
            ["compatible", "riscv"],
            ["riscv,isa", opts.isa],
            ["mmu-type", opts.mmuType],
          ],
          [
            node("interrupt-controller", [
              // #address-cells = 0 lets an interrupt-map name this controller without an address.
              ["#address-cells", [0]],
              ["#interrupt-cells", [1]],
              ["interrupt-controller", null],
              ["compatible", "riscv,cpu-intc"],
              ["phandle", [intcPhandle[h]]],
            ]),
          ],
        ),
      ),
      node(
        "cpu-map",
        [],
        [
          node(
            "cluster0",
            [],
            cpuPhandle.map((phandle, h) => node(`core${h}`, [["cpu", [phandle]]])),
          ),
        ],
      ),
    ],
  );

  const virtioNodes = opts.virtio.map((v) =>
    node(`virtio_mmio@${hex(v.base)}`, [
      ["interrupts", [v.irq]],
      ["interrupt-parent", [plicPhandle]],
      ["reg", reg64(v.base, v.size)],
      ["compatible", "virtio,mmio"],
    ]),
  );

  const soc = node(
    "soc",
    [
      ["#address-cells", [2]],
      ["#size-cells", [2]],
      ["compatible", "simple-bus"],
      ["ranges", null],
    ],
    [
      node(`test@${hex(opts.test.base)}`, [
        ["phandle", [testPhandle]],
        ["reg", reg64(opts.test.base, opts.test.size)],
        ["compatible", ["sifive,test1", "sifive,test0", "syscon"]],
      ]),
      ...virtioNodes,
      node(serialName, [
        ["interrupts", [opts.uart.irq]],
        ["interrupt-parent", [plicPhandle]],
        ["clock-frequency", [UART_CLOCK_HZ]],
        ["reg", reg64(opts.uart.base, opts.uart.size)],
        ["compatible", "ns16550a"],
      ]),
      node(`plic@${hex(opts.plic.base)}`, [
        ["phandle", [plicPhandle]],
        ["riscv,ndev", [opts.plic.ndev]],
        ["reg", reg64(opts.plic.base, opts.plic.size)],
        // Context 2h is hart h's M-mode external interrupt, 2h+1 its S-mode one.
        ["interrupts-extended", intcPhandle.flatMap((p) => [p, IRQ_M_EXT, p, IRQ_S_EXT])],
        ["interrupt-controller", null],
        ["compatible", ["sifive,plic-1.0.0", "riscv,plic0"]],
        ["#address-cells", [0]],
        ["#interrupt-cells", [1]],
      ]),
      node(`clint@${hex(opts.clint.base)}`, [
        ["interrupts-extended", intcPhandle.flatMap((p) => [p, IRQ_M_SOFT, p, IRQ_M_TIMER])],
        ["reg", reg64(opts.clint.base, opts.clint.size)],
        ["compatible", ["sifive,clint0", "riscv,clint0"]],
      ]),
    ],
  );

  const chosen: [string, FdtValue][] = [["stdout-path", `/soc/${serialName}`]];
  if (opts.bootargs !== undefined) chosen.push(["bootargs", opts.bootargs]);

  const root = node(
    "",
    [
      ["#address-cells", [2]],
      ["#size-cells", [2]],
      ["compatible", "riscv-virtio"],
      ["model", "riscv-virtio,qemu"],
    ],
    [
      node("poweroff", [
        ["value", [TEST_PASS]],
        ["offset", [0]],
        ["regmap", [testPhandle]],
        ["compatible", "syscon-poweroff"],
      ]),
      node("reboot", [
        ["value", [TEST_RESET]],
        ["offset", [0]],
        ["regmap", [testPhandle]],
        ["compatible", "syscon-reboot"],
      ]),
      node("chosen", chosen),
      node(`memory@${hex(opts.ramBase)}`, [
        ["device_type", "memory"],
        ["reg", reg64(opts.ramBase, opts.ramSize)],
      ]),
      cpus,
      soc,
    ],
  );
  return serializeFdt(root);
}
