#!/usr/bin/env node
/**
 * The `rvisor` command. Verbs so far:
 *
 *   rvisor run <elf>   boot a guest ELF with stdio as its console; exit with the guest's exit code
 *   rvisor demo        hello.elf, then coremark-lite.elf, explained
 *   rvisor info        xl info from rvisord when it runs, then the board: ISA, harts, RAM, memory map,
 *                      engines, firmware (with no daemon, the board only)
 *   rvisor ctr …       Linux containers on this host (src/containers/cli.ts)
 *   rvisor disk …      make and describe disk images: raw, qcow2 overlays (src/cli/disk.ts)
 *   rvisor daemon      rvisord, the host daemon; and the xl-style verbs that talk to it: create, list,
 *                      host-info (xl info alone), start, pause, unpause, destroy, console, uptime,
 *                      block-list … (src/cli/toolstack*.ts)
 *
 * Exit status: the guest's own for `run`; 2 for bad input (a missing or non-RV32 file, a bad number, an
 * unknown name), with a one-line message on stderr; 1 for a fault inside rvisor itself.
 */
import { createRequire } from "node:module";
import { Command, type CommanderError } from "commander";
import { registerContainerCommands } from "../containers/cli.js";
import { QUIRKS } from "../hypervisor/hypervisor.js";
import { DEFAULT_SCHEDULER, SCHEDULER_NAMES } from "../hypervisor/scheduler/registry.js";
import { ElfError } from "../machine/elf.js";
import { MAX_HARTS } from "../machine/params.js";
import { demoCommand } from "./demo.js";
import { registerDiskCommands } from "./disk.js";
import { registerExperimentCommands } from "./experiment.js";
import { infoCommand, type RawInfoOptions } from "./info.js";
import { CLOCK_NAMES, UsageError } from "./options.js";
import { DEFAULT_ENGINE, ENGINE_NAMES, FIRMWARE_NAMES } from "./registry.js";
import { type RawRunOptions, RUN_MODES, runAny } from "./run.js";
import { registerToolstackCommands } from "./toolstack.js";

/** Exit status for bad command-line input, as most Unix tools use it. */
const EXIT_USAGE = 2;
/** Exit status when rvisor itself fails. */
const EXIT_INTERNAL = 1;

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

function fail(message: string, status: number): never {
  process.stderr.write(`rvisor: ${message}\n`);
  process.exit(status);
}

/** Runs a command's action, turning its errors into a message and an exit status. */
function action<A extends unknown[]>(
  body: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await body(...args);
    } catch (e) {
      if (e instanceof UsageError || e instanceof ElfError) fail(e.message, EXIT_USAGE);
      const err = e as Error;
      fail(`internal error: ${err.stack ?? err.message}`, EXIT_INTERNAL);
    }
  };
}

const program = new Command("rvisor")
  .description("rvisor: an emulated RV32IMAC host (QEMU virt-compatible) and, later, a hypervisor on it")
  .version(version)
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "rvisor: ")) })
  .exitOverride((err: CommanderError) => {
    const ok = err.code === "commander.helpDisplayed" || err.code === "commander.version";
    process.exit(ok ? 0 : EXIT_USAGE);
  });

program
  .command("run")
  .description(
    "boot a guest ELF on the bare board (--mode native: a kernel on the SBI firmware), or guest kernels as " +
      "hypervisor domains (--mode trap|pv, or --domain specs); the console is stdin/stdout, the exit code the guest's",
  )
  .argument("[elf]", "a statically linked RV32 ELF executable (a guest kernel for --mode)")
  .option("--mode <mode>", `how to run the kernel: ${RUN_MODES.join(", ")} (default: the bare board)`)
  .option(
    "--domain <spec>",
    "a domain: mode=trap|bt|pv|hvm,kernel=PATH[,memory=32M,vcpus=N,name=X,weight=N,cap=N,disk=[qcow2:]IMG,disk-ro=IMG," +
      "vif=BRIDGE,mac=MAC,bootargs=TEXT] (repeatable; domains with a vif on one bridge can talk)",
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .option("--harts <n>", `number of harts (pCPUs under the hypervisor), 1..${MAX_HARTS}`, "1")
  .option(
    "--memory <size>",
    "RAM size (of the domain, with --mode trap|pv), K, M or G suffix (bare: MiB)",
    "128M",
  )
  .option("--firmware <name>", `M-mode firmware: ${FIRMWARE_NAMES.join(", ")} (--mode native: sbi)`)
  .option("--scheduler <name>", `hypervisor scheduler: ${SCHEDULER_NAMES.join(", ")}`, DEFAULT_SCHEDULER)
  .option("--max-insns <n>", "stop after this many instructions (exit code 124)")
  .option("--clock <kind>", `time source: ${CLOCK_NAMES.join(", ")}`, "icount")
  .option("--engine <name>", `execution engine: ${ENGINE_NAMES.join(", ")}`, DEFAULT_ENGINE)
  .option("--stats", "print instructions, host time, MIPS, virtual time and the exit reason on stderr")
  .option("--bootargs <text>", "kernel command line, put in the device tree's /chosen/bootargs")
  .option(
    "--h-extension",
    "give the harts the RISC-V H extension (hypervisor: V mode, two-stage translation)",
  )
  .option(
    "--quirk <name>",
    `a host CPU quirk for hypervisor runs: ${QUIRKS.join(", ")} (a U-mode sstatus read stops trapping)`,
  )
  .option(
    "--sched-trace <file>",
    "after a hypervisor run, write the scheduler's Gantt trace (which vCPU ran on which pCPU when) as JSON",
  )
  .action(action((elf: string | undefined, raw: RawRunOptions) => runAny(elf, raw)));

program
  .command("demo")
  .description("run guest programs (hello, coremark-lite on both engines, the guest kernel) and explain them")
  .action(action(() => demoCommand()));

program
  .command("info")
  .description(
    "the host as rvisord sees it (xl info) when it runs, then the board: ISA, harts, RAM, memory map, engines, firmware",
  )
  .option("--harts <n>", `number of harts, 1..${MAX_HARTS} (default: rvisord's pCPUs, else 1)`)
  .option(
    "--memory <size>",
    "RAM size, with a K, M or G suffix (a bare number is MiB; default: rvisord's, else 128M)",
  )
  .option("--json", "print the description as JSON (the daemon's view as `host`)")
  .option("--socket <path>", "rvisord's socket (default: $RVISOR_SOCKET, else /run/rvisor/rvisord.sock)")
  .action(action((raw: RawInfoOptions) => infoCommand(raw)));

registerContainerCommands(program);
registerToolstackCommands(program, action);
registerExperimentCommands(program, action);
registerDiskCommands(program, action);

await program.parseAsync(process.argv);
