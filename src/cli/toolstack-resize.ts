/**
 * The toolstack's resizing verbs, as in xl (docs/resizing.md; each talks to rvisord through client.ts):
 *
 *   rvisor vcpu-set <dom> <n>          n of the domain's maxvcpus online (1..maxvcpus)
 *   rvisor mem-set <dom> <size>        the balloon's target (128M, 65536K, 1G; a bare number is MiB, as xl)
 *   rvisor mem-max <dom> <size>        the most the domain may have (≥ its target)
 *   rvisor balloon-stats <dom> [--json]  memory now / target / max, vCPUs, the balloon and the guest's
 *                                        own figures (free, available, swap-in/out)
 *
 * Each answers at once: the guest follows the store afterwards (`list` and `balloon-stats` show it
 * getting there).
 */
import type { Command } from "commander";
import type { ResizeInfo } from "../control/daemon/resize.js";
import { parseMemorySize, UsageError } from "./options.js";
import type { CommandContext } from "./toolstack-context.js";

const KiB = 1024;

function kibOf(text: string, what: string): number {
  const bare = /^\s*\d+\s*$/.test(text);
  return (bare ? Number(text) * KiB * KiB : parseMemorySize(text, what)) / KiB;
}

export function formatResizeInfo(r: ResizeInfo): string {
  const m = r.memory;
  const mib = (kib: number) => `${(kib / KiB).toFixed(kib % KiB === 0 ? 0 : 1)} MiB`;
  const lines = [
    `${r.name} (id ${r.id})`,
    `  memory      ${mib(m.currentKiB)} now, target ${mib(m.targetKiB)}, max ${mib(m.maxKiB)} (booted with ${mib(m.ramKiB)})`,
    `  vcpus       ${r.vcpusOnline} online, ${r.vcpusWanted} asked for, ${r.maxVcpus} in all`,
  ];
  const b = m.balloon;
  if (b === undefined) lines.push("  balloon     none");
  else {
    lines.push(
      `  balloon     ${b.live ? "live" : "not set up by the guest"}: holds ${b.heldPages} pages (${mib(b.heldPages * 4)}), ` +
        `asked for ${b.targetPages}, guest says ${b.actualPages}`,
      `              ${b.inflated} pages inflated, ${b.deflated} deflated, ${b.refused} refused` +
        (b.lastRefusal === undefined ? "" : ` (last: ${b.lastRefusal})`),
    );
    const g = b.guest;
    if (b.guestUpdates === 0) lines.push("  guest       no statistics yet");
    else
      lines.push(
        `  guest       ${Object.entries(g)
          .map(([k, v]) =>
            k.startsWith("swap") || k.endsWith("faults") ? `${k} ${v}` : `${k} ${mib(v / KiB)}`,
          )
          .join(", ")}`,
      );
  }
  return `${lines.join("\n")}\n`;
}

export function registerResizeCommands(program: Command, ctx: CommandContext): void {
  const { verb, socketHelp, client } = ctx;
  const out = ctx.out ?? ((t: string) => process.stdout.write(t));

  program
    .command("vcpu-set")
    .description("set how many of a domain's vCPUs are online (xl vcpu-set): 1..maxvcpus")
    .argument("<dom>", "the domain's name or id")
    .argument("<n>", "vCPUs online")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, n: string, o: { socket?: string }) => {
        if (!/^\d+$/.test(n))
          throw new UsageError(`vcpu-set: the vCPU count must be a whole number, got '${n}'`);
        await client(o).vcpuSet(dom, Number(n));
        return 0;
      }),
    );

  program
    .command("mem-set")
    .description(
      "set a domain's memory target; its balloon driver gives memory back or takes it (xl mem-set)",
    )
    .argument("<dom>", "the domain's name or id")
    .argument("<size>", "e.g. 16M, 8192K, 1G; a bare number is MiB")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, size: string, o: { socket?: string }) => {
        await client(o).memSet(dom, kibOf(size, "mem-set"));
        return 0;
      }),
    );

  program
    .command("mem-max")
    .description("set the most memory a domain may have (xl mem-max); not below its target")
    .argument("<dom>", "the domain's name or id")
    .argument("<size>", "e.g. 64M; a bare number is MiB")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, size: string, o: { socket?: string }) => {
        await client(o).memMax(dom, kibOf(size, "mem-max"));
        return 0;
      }),
    );

  program
    .command("balloon-stats")
    .description("a domain's memory (now, target, max), vCPUs, and its balloon's statistics")
    .argument("<dom>", "the domain's name or id")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, o: { socket?: string; json?: boolean }) => {
        const info = await client(o).resizeInfo(dom);
        out(o.json ? `${JSON.stringify(info, null, 2)}\n` : formatResizeInfo(info));
        return 0;
      }),
    );
}
