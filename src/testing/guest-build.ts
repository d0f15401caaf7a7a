/**
 * Where the guest build (scripts/build-guest.mjs) puts its ELFs, found from this module's own location
 * (src/testing or dist/testing, two levels below the repository root) so tests run from any directory.
 *
 *   build/guest/sdk/shim.elf              the M-mode boot shim that runs S-mode programs on QEMU
 *   build/guest/programs/<name>.elf       guest/programs/<name>.c
 *   build/guest/variants/<name>-<D>.elf   the same program built with extra -D definitions
 *   build/guest/isa/<name>.elf            guest/isa/<name>.S (ISA conformance tests)
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const guestBuildDir: string = join(repoRoot, "build", "guest");
export const shimElf: string = join(guestBuildDir, "sdk", "shim.elf");

/** The privilege mode a guest program is built for: S-mode when its source starts `// rvisor: s-mode`. */
export type GuestMode = "m" | "s";

export function guestProgramElf(name: string): string {
  return requireBuilt(join(guestBuildDir, "programs", `${name}.elf`));
}

export function isaTestElf(name: string): string {
  return requireBuilt(join(guestBuildDir, "isa", `${name}.elf`));
}

/** Names of the built guest programs (build/guest/programs/*.elf), sorted. */
export function listGuestPrograms(): string[] {
  return listElfs(join(guestBuildDir, "programs"));
}

/** Names of the built ISA tests (build/guest/isa/*.elf), sorted. */
export function listIsaTests(): string[] {
  return listElfs(join(guestBuildDir, "isa"));
}

export function guestProgramMode(name: string): GuestMode {
  const source = join(repoRoot, "guest", "programs", `${name}.c`);
  if (!existsSync(source)) throw new Error(`guest program source ${source} does not exist`);
  return readFileSync(source, "utf8").startsWith("// rvisor: s-mode") ? "s" : "m";
}

/**
 * Builds guest program `name` with extra preprocessor definitions (e.g. { ITERATIONS: 3 }) and returns
 * the variant's ELF. Incremental like the whole guest build: a second call costs a process start.
 */
export function buildGuestVariant(name: string, defines: Record<string, string | number>): string {
  const entries = Object.entries(defines).map(([k, v]) => `${k}=${v}`);
  if (entries.length === 0) throw new Error(`buildGuestVariant(${name}): no definitions given`);
  const args = [join(repoRoot, "scripts", "build-guest.mjs"), "--only", name];
  for (const d of entries) args.push("-D", d);
  const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`building guest variant ${name} ${entries.join(" ")} failed:\n${r.stderr}${r.stdout}`);
  }
  const suffix = entries.join("-").replace(/[^A-Za-z0-9_=.-]/g, "_");
  return requireBuilt(join(guestBuildDir, "variants", `${name}-${suffix}.elf`));
}

let qemuFound: boolean | undefined;
/** Whether qemu-system-riscv32 can be started (Debian package qemu-system-misc). */
export function qemuAvailable(): boolean {
  if (qemuFound === undefined) {
    const r = spawnSync("qemu-system-riscv32", ["--version"], { stdio: "ignore" });
    qemuFound = r.error === undefined && r.status === 0;
  }
  return qemuFound;
}

function requireBuilt(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} has not been built: run 'npm run build:guest' (needs Debian's clang and lld)`);
  }
  return path;
}

function listElfs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".elf"))
    .map((f) => f.slice(0, -".elf".length))
    .sort();
}
