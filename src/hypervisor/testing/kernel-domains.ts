/**
 * The guest kernel's test suite as hypervisor domains, for tests: the kernel build each mode runs (the
 * PARAVIRT one for pv, the unmodified one otherwise), a domain per spec with a console to read back, and
 * the figures the tests share.
 */
import { BufferConsole } from "../../machine/devices/console.js";
import { run as interpret } from "../../machine/interpreter.js";
import type { Engine } from "../../machine/machine.js";
import { kernelAutotestElf, kernelPvAutotestElf } from "../../testing/kernel.js";
import type { Domain, DomainMode } from "../domain.js";
import type { Hypervisor } from "../hypervisor.js";

/** The last result line of a clean run of the kernel's suite. */
export const ALL_PASS = "tests: 15 passed, 0 failed";
/** The same with more than one CPU, where the suite adds its `smp` test. */
export const ALL_PASS_SMP = "tests: 16 passed, 0 failed";
/** The suite retires about 20 million instructions: room without letting a hang run long. */
export const MAX_INSNS = 400_000_000;

/** Both engines, by name (undefined: the Machine's default, the translator). */
export const ENGINES: [string, Engine | undefined][] = [
  ["dbt", undefined],
  ["interp", interpret],
];

export interface Guest {
  domain: Domain;
  console: BufferConsole;
}

/** The autotest build of the kernel that `mode` runs. */
export function kernelFor(mode: DomainMode): string {
  return mode === "pv" ? kernelPvAutotestElf() : kernelAutotestElf();
}

/** Creates one autotest domain per spec, each with its own buffered console. */
export function boot(
  hv: Hypervisor,
  specs: { mode: DomainMode; memoryMiB?: number; name?: string; vcpus?: number }[],
): Guest[] {
  return specs.map((s) => {
    const console = new BufferConsole();
    const domain = hv.createDomain({ ...s, kernel: kernelFor(s.mode), console });
    return { domain, console };
  });
}
