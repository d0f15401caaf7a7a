/**
 * The guest kernel (guest/kernel) as tests see it: where the build puts its two ELFs, and how to read
 * the results its test suite prints (`PASS <name>`, `FAIL <name>: <why>`, then a summary line).
 *
 *   build/guest/kernel/kernel.elf            the shell; `autotest` in /chosen/bootargs runs the suite
 *   build/guest/kernel/kernel-autotest.elf   built with -DKERNEL_AUTOTEST: always runs the suite
 *   build/guest/kernel/kernel-pv.elf, kernel-pv-autotest.elf   the same two, built with -DPARAVIRT
 *
 * Either way the kernel powers off through SBI SRST when the suite ends: exit status 0 when every test
 * passed, 1 otherwise.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { guestBuildDir } from "./guest-build.js";

export function kernelElf(): string {
  return requireBuilt(join(guestBuildDir, "kernel", "kernel.elf"));
}

export function kernelAutotestElf(): string {
  return requireBuilt(join(guestBuildDir, "kernel", "kernel-autotest.elf"));
}

export function kernelPvElf(): string {
  return requireBuilt(join(guestBuildDir, "kernel", "kernel-pv.elf"));
}

export function kernelPvAutotestElf(): string {
  return requireBuilt(join(guestBuildDir, "kernel", "kernel-pv-autotest.elf"));
}

/** The result lines of a test run, in order: one per test, and the summary. */
export function testResultLines(stdout: string): string[] {
  return stdout.split(/\r?\n/).filter((l) => /^(PASS |FAIL |tests: )/.test(l));
}

export interface TestSummary {
  passed: number;
  failed: number;
  /** Names of the tests that printed FAIL. */
  failures: string[];
}

/** The summary of a `test all` run, or undefined when the output has none. */
export function testSummary(stdout: string): TestSummary | undefined {
  const m = /^tests: (\d+) passed, (\d+) failed$/m.exec(stdout);
  if (!m) return undefined;
  const failures = testResultLines(stdout)
    .filter((l) => l.startsWith("FAIL "))
    .map((l) => l.slice("FAIL ".length).split(":")[0] ?? "");
  return { passed: Number(m[1]), failed: Number(m[2]), failures };
}

function requireBuilt(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} has not been built: run 'npm run build:guest' (needs Debian's clang and lld)`);
  }
  return path;
}
