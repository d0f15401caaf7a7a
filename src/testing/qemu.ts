/**
 * Runs a guest ELF on QEMU, the reference machine rvisor is compared against. The board is QEMU's
 * `virt` (or `spike`, whose console is HTIF), with the CPU reduced to the ISA rvisor emulates so that
 * programs that print misa print the same on both. The serial console is the process's stdio: stdin
 * feeds the UART, stdout is what the guest printed. The guest ends the run through sifive_test (or
 * HTIF tohost), whose code becomes QEMU's exit status.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface QemuOptions {
  machine?: "virt" | "spike";
  /** `none` (default): the ELF starts in M-mode at 0x8000_0000; or a firmware ELF such as the boot shim. */
  bios?: string;
  harts?: number;
  memoryMiB?: number;
  /** Bytes for the guest's console input; without it the console input is empty. */
  stdin?: string;
  /** Wall-clock limit, after which QEMU is killed and `timedOut` is true. Default 10 s. */
  timeoutMs?: number;
  /**
   * Deterministic virtual time: QEMU counts instructions (2^3 ns each) instead of reading the host
   * clock, and skips idle time. rvisor's icount clock is 10 ns per instruction, so the two agree on
   * order of events, not on exact mtime values.
   */
  icount?: boolean;
  /** QEMU -cpu value; the default is RV32IMAC with S and U modes and no F, D or H. */
  cpu?: string;
  /** More arguments, appended (devices: `-drive …`, `-device virtio-blk-device,…`). */
  extraArgs?: readonly string[];
}

export interface QemuResult {
  /** What the guest printed, one character per byte (latin1), so comparisons are byte-exact. */
  stdout: string;
  stderr: string;
  /** QEMU's exit status: the guest's exit code, or -1 when QEMU was killed. */
  exitCode: number;
  timedOut: boolean;
}

export const QEMU_BINARY = "qemu-system-riscv32";
export const DEFAULT_QEMU_CPU = "rv32,f=false,d=false,h=false";
const DEFAULT_TIMEOUT_MS = 10_000;

/** The QEMU command line for an ELF and options (without the binary name). */
export function qemuArgs(elf: string, opts: QemuOptions = {}): string[] {
  const args = ["-machine", opts.machine ?? "virt", "-cpu", opts.cpu ?? DEFAULT_QEMU_CPU];
  args.push("-bios", opts.bios ?? "none", "-kernel", elf);
  if (opts.harts !== undefined) {
    if (!Number.isInteger(opts.harts) || opts.harts < 1)
      throw new Error(`runQemu: harts must be >= 1, got ${opts.harts}`);
    args.push("-smp", String(opts.harts));
  }
  if (opts.memoryMiB !== undefined) args.push("-m", `${opts.memoryMiB}M`);
  if (opts.icount) args.push("-icount", "shift=3,sleep=off");
  args.push("-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot");
  if (opts.extraArgs !== undefined) args.push(...opts.extraArgs);
  return args;
}

export function runQemu(elf: string, opts: QemuOptions = {}): Promise<QemuResult> {
  const args = qemuArgs(elf, opts);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // The console goes to a file, not a pipe: when QEMU's write to a pipe would block (a busy reader),
  // its 16550 model retries four times and then drops the byte, so piped output can come back short.
  const dir = mkdtempSync(join(tmpdir(), "rvisor-qemu-"));
  const outPath = join(dir, "console");
  const outFd = openSync(outPath, "w");
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, args, { stdio: ["pipe", outFd, "pipe"] });
    closeSync(outFd);
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    // QEMU may exit before it has read all input; that is the guest's business, not an error here.
    child.stdin!.on("error", () => {});
    child.on("error", (e) => {
      clearTimeout(timer);
      cleanup();
      reject(
        new Error(`runQemu: cannot start ${QEMU_BINARY} (Debian package qemu-system-misc): ${e.message}`),
      );
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = readFileSync(outPath).toString("latin1");
      cleanup();
      resolve({ stdout, stderr: Buffer.concat(err).toString("utf8"), exitCode: code ?? -1, timedOut });
    });
    child.stdin!.end(opts.stdin ?? "");
  });
}
