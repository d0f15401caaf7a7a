/**
 * QEMU's own disk image tools (Debian's qemu-utils) as the reference for rvisor's qcow2: qemu-img to
 * create, check, compare and convert images, qemu-io to write clusters of every kind into them.
 */
import { spawnSync } from "node:child_process";

let found: boolean | undefined;

export function qemuImgAvailable(): boolean {
  if (found === undefined) {
    const r = spawnSync("qemu-img", ["--version"], { stdio: "ignore" });
    const io = spawnSync("qemu-io", ["--version"], { stdio: "ignore" });
    found = r.error === undefined && r.status === 0 && io.error === undefined && io.status === 0;
  }
  return found;
}

/** Why a test that needs qemu-img is skipped, or false. */
export const noQemuImg = (): string | false =>
  !qemuImgAvailable() && "qemu-img/qemu-io (qemu-utils) are not installed";

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function qemuImgRun(...args: string[]): ToolResult {
  const r = spawnSync("qemu-img", args, { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs qemu-img; throws with its output unless it exits 0. */
export function qemuImg(...args: string[]): string {
  const r = qemuImgRun(...args);
  if (r.status !== 0)
    throw new Error(`qemu-img ${args.join(" ")}: status ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** `qemu-img check`: its exit status is 0 only for an image without errors or leaks. */
export function qemuImgCheck(file: string): ToolResult {
  return qemuImgRun("check", "-f", "qcow2", file);
}

/** `qemu-img info --output=json` of one image (the backing chain with `chain`). */
export function qemuImgInfo(file: string): Record<string, unknown> {
  return JSON.parse(qemuImg("info", "--output=json", file)) as Record<string, unknown>;
}

/** Runs qemu-io commands (`write -P 0xaa 0 64k`, `write -z …`, `write -c …`) on an image. */
export function qemuIo(file: string, format: "raw" | "qcow2", commands: string[]): void {
  const args = ["-f", format, ...commands.flatMap((c) => ["-c", c]), file];
  const r = spawnSync("qemu-io", args, { encoding: "utf8" });
  if (r.status !== 0 || /error|failed/i.test(r.stderr + r.stdout))
    throw new Error(`qemu-io ${args.join(" ")}: status ${r.status}\n${r.stdout}${r.stderr}`);
}
