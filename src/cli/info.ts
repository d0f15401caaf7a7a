/**
 * `rvisor info`: the board a `run` with the same --harts and --memory would build, read from the same
 * sources the machine is built from (memory-map.ts, params.ts, the engine and firmware registries), so
 * the description cannot drift from the machine.
 */
import {
  CLINT_BASE,
  CLINT_SIZE,
  DRAM_BASE,
  KERNEL_BASE,
  PLIC_BASE,
  PLIC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_STRIDE,
  virtioIrq,
} from "../machine/memory-map.js";
import { ICOUNT_NS_PER_INSN, MAX_HARTS, SLICE_INSNS, TIMEBASE_HZ } from "../machine/params.js";
import { formatBytes, parseHarts, parseMemorySize } from "./options.js";
import { ENGINES, FIRMWARES } from "./registry.js";

export interface RawInfoOptions {
  harts?: string;
  memory?: string;
  json?: boolean;
}

export interface Region {
  name: string;
  base: number;
  size: number;
  irq?: number;
  what: string;
}

export interface BoardInfo {
  board: string;
  isa: string;
  privilegeModes: string[];
  paging: string;
  harts: number;
  maxHarts: number;
  ramBytes: number;
  timebaseHz: number;
  icountNsPerInsn: number;
  sliceInsns: number;
  memoryMap: Region[];
  engines: Record<string, string>;
  firmware: Record<string, string>;
}

/** The ISA string the device tree gives the harts (boot.ts), and what misa reports. */
const ISA = "rv32imac_zicsr_zifencei";

export function boardInfo(harts: number, ramBytes: number): BoardInfo {
  const virtio: Region[] = Array.from({ length: VIRTIO_COUNT }, (_, i) => ({
    name: `virtio-mmio@${i}`,
    base: VIRTIO_BASE + i * VIRTIO_STRIDE,
    size: VIRTIO_STRIDE,
    irq: virtioIrq(i),
    what: "virtio-mmio slot (empty)",
  }));
  const describe = <T extends { description: string }>(t: Record<string, T>): Record<string, string> =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.description]));
  return {
    board: "QEMU riscv virt-compatible",
    isa: ISA,
    privilegeModes: ["M", "S", "U"],
    paging: "Sv32",
    harts,
    maxHarts: MAX_HARTS,
    ramBytes,
    timebaseHz: TIMEBASE_HZ,
    icountNsPerInsn: ICOUNT_NS_PER_INSN,
    sliceInsns: SLICE_INSNS,
    memoryMap: [
      { name: "sifive_test", base: TEST_BASE, size: TEST_SIZE, what: "poweroff / reboot" },
      { name: "clint", base: CLINT_BASE, size: CLINT_SIZE, what: "msip, mtimecmp, mtime" },
      { name: "plic", base: PLIC_BASE, size: PLIC_SIZE, what: "external interrupt controller" },
      { name: "uart0", base: UART0_BASE, size: UART0_SIZE, irq: UART0_IRQ, what: "16550 serial console" },
      ...virtio,
      {
        name: "ram",
        base: DRAM_BASE,
        size: ramBytes,
        what: `M-mode programs at 0x${hex8(DRAM_BASE)}, S-mode kernels at 0x${hex8(KERNEL_BASE)}`,
      },
    ],
    engines: describe(ENGINES),
    firmware: describe(FIRMWARES),
  };
}

const hex8 = (n: number): string => n.toString(16).padStart(8, "0");

export function formatBoardInfo(b: BoardInfo): string[] {
  const lines = [
    `board      ${b.board}`,
    `isa        ${b.isa}, privilege modes ${b.privilegeModes.join("/")}, ${b.paging} paging`,
    `harts      ${b.harts} (up to ${b.maxHarts}), run round-robin in slices of ${b.sliceInsns} instructions`,
    `ram        ${formatBytes(b.ramBytes)} at 0x${hex8(DRAM_BASE)}`,
    `time       mtime at ${b.timebaseHz / 1e6} MHz; icount clock: ${b.icountNsPerInsn} ns per instruction`,
    "",
    "memory map",
  ];
  for (const r of b.memoryMap) {
    const irq = r.irq === undefined ? "      " : `irq ${String(r.irq).padStart(2)}`;
    lines.push(`  0x${hex8(r.base)}..0x${hex8(r.base + r.size - 1)}  ${r.name.padEnd(14)} ${irq}  ${r.what}`);
  }
  lines.push("", "engines");
  for (const [name, what] of Object.entries(b.engines)) lines.push(`  ${name.padEnd(10)} ${what}`);
  lines.push("", "firmware");
  for (const [name, what] of Object.entries(b.firmware)) lines.push(`  ${name.padEnd(10)} ${what}`);
  return lines;
}

export function infoCommand(raw: RawInfoOptions): number {
  const info = boardInfo(parseHarts(raw.harts ?? "1"), parseMemorySize(raw.memory ?? "128M"));
  const text = raw.json ? JSON.stringify(info, null, 2) : formatBoardInfo(info).join("\n");
  process.stdout.write(`${text}\n`);
  return 0;
}
