/**
 * `rvisor info`: when rvisord answers on the socket, first what `xl info` says (the host as the daemon
 * sees it: toolstack.ts's formatHostInfo, the same as `rvisor host-info`), then the board it runs on;
 * with no daemon, only the board a `run` with the same --harts and --memory would build (and one line on
 * stderr saying there is no daemon). The board is read from the same sources the machine is built from
 * (memory-map.ts, params.ts, the engine and firmware registries), so the description cannot drift from
 * the machine. With a daemon the board's harts and RAM default to the daemon's pCPUs and host memory.
 * --json: the board's object, with the daemon's HostInfo as `host` when there is one.
 */

import type { HostInfo } from "../control/daemon/api.js";
import { RvisordClient } from "../control/daemon/client.js";
import { apiToken, socketPath } from "../control/daemon/paths.js";
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
import { formatHostInfo } from "./toolstack.js";

export interface RawInfoOptions {
  harts?: string;
  memory?: string;
  json?: boolean;
  socket?: string;
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

/** The daemon's view of the host, or why there is none. */
async function askDaemon(socket: string | undefined): Promise<{ host: HostInfo } | { why: string }> {
  const endpoint = socketPath(socket);
  try {
    return { host: await new RvisordClient(endpoint, apiToken(endpoint)).info() };
  } catch (e) {
    return { why: (e as Error).message };
  }
}

export async function infoCommand(raw: RawInfoOptions): Promise<number> {
  const harts = raw.harts === undefined ? undefined : parseHarts(raw.harts);
  const ram = raw.memory === undefined ? undefined : parseMemorySize(raw.memory);
  const daemon = await askDaemon(raw.socket);
  const host = "host" in daemon ? daemon.host : undefined;
  if ("why" in daemon) process.stderr.write(`rvisor: ${daemon.why}; the board only:\n`);
  const board = boardInfo(
    harts ?? host?.pcpus ?? 1,
    ram ?? (host === undefined ? parseMemorySize("128M") : host.totalMemoryMiB * 2 ** 20),
  );
  if (raw.json) {
    process.stdout.write(`${JSON.stringify(host === undefined ? board : { ...board, host }, null, 2)}\n`);
    return 0;
  }
  const lines = formatBoardInfo(board);
  process.stdout.write(
    host === undefined ? `${lines.join("\n")}\n` : `${formatHostInfo(host)}\n${lines.join("\n")}\n`,
  );
  return 0;
}
