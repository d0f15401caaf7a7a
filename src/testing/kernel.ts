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

/**
 * A session timing the kernel's `forkjoin` on two CPUs: 6 rounds of counting the primes below 12000
 * (9.5 ms of guest time each) twice, alone, then split with a forked child. Split rounds cost a fork
 * (about 4.5 ms: the kernel copies byte by byte) and one count when an idle CPU takes new work at
 * once — about 0.73 of the alone time under the icount clock — but about 1.07 when it finds the work
 * only at its next tick (the child waits for the idle CPU's tick, the parent for its own): the wake-up
 * IPI is the difference (guest/kernel/README.md).
 */
export const FORKJOIN_SESSION = "run forkjoin 6 12000\nshutdown\n";
/** The most split/alone may be with the wake-up IPI (0.73 measured; 1.07 without it). */
export const FORKJOIN_SPLIT_MAX = 0.85;

export interface ForkjoinTimes {
  rounds: number;
  /** Guest milliseconds for the rounds done alone, and split with a child. */
  aloneMs: number;
  splitMs: number;
  /** A count came out wrong (or a fork failed). */
  wrong: boolean;
}

/** What `run forkjoin` printed, or undefined when it printed nothing. */
export function forkjoinTimes(stdout: string): ForkjoinTimes | undefined {
  const m = /^forkjoin: (\d+) rounds: alone (\d+) ms, split (\d+) ms(, WRONG)?$/m.exec(stdout);
  if (!m) return undefined;
  return { rounds: Number(m[1]), aloneMs: Number(m[2]), splitMs: Number(m[3]), wrong: m[4] !== undefined };
}
