#!/usr/bin/env node
// Builds the guest side with Debian's clang and ld.lld, incrementally:
//
//   guest/sdk/lib/*.c + crt0*.S  → build/guest/sdk/{m,s}/*.o   (one object set per privilege mode)
//   guest/sdk/shim/*             → build/guest/sdk/shim.elf    (the M-mode boot shim for S-mode programs)
//   guest/programs/<name>.c      → build/guest/programs/<name>.elf
//                                  (M-mode at 0x8000_0000, or S-mode at 0x8020_0000 when the file's first
//                                  line is `// rvisor: s-mode`)
//   guest/isa/<name>.S           → build/guest/isa/<name>.elf  (assembled with -I guest/isa, linked with
//                                  guest/isa/link.ld; skipped while that directory does not exist)
//   guest/kernel/user/<name>.c   → build/guest/kernel/user/<name>.elf (user programs, with crt.S, ulib.c
//                                  and the SDK's libc, linked by user.ld at 0x0001_0000)
//   guest/kernel/**              → build/guest/kernel/kernel.elf, and kernel-autotest.elf (built with
//                                  -DKERNEL_AUTOTEST: runs its test suite at boot and powers off); the
//                                  user programs are embedded by programs.S; kernel-pv.elf and
//                                  kernel-pv-autotest.elf are the PARAVIRT builds (arch/pv* instead of
//                                  arch/native.c + arch/entry.S, for the hypervisor's pv mode)
//
// A file is rebuilt when any of its inputs — its source, the headers it may include, the linker scripts,
// the objects it links, this script — is newer than it. Prints one line per built file or
// `guest: up to date`.
//
// Options, for building one program with other compile-time settings (benchmarks, tests):
//   --only <name>        build only guest/programs/<name>.c (and the SDK it needs)
//   -D NAME=VALUE        extra preprocessor definition (repeatable)
//   --out <path>         where to write that program's ELF (default with -D:
//                        build/guest/variants/<name>-<NAME=VALUE...>.elf)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const self = fileURLToPath(import.meta.url);
const sdk = join(root, "guest", "sdk");
const out = join(root, "build", "guest");

const CFLAGS = [
  "--target=riscv32-unknown-elf",
  "-march=rv32imac",
  "-mabi=ilp32",
  "-O2",
  "-ffreestanding",
  "-nostdlib",
  "-mcmodel=medany",
  "-fno-pic",
  // ld.lld 14 implements no RISC-V linker relaxation and rejects the R_RISCV_ALIGN it would need.
  "-mno-relax",
  "-ffunction-sections",
  "-fdata-sections",
  "-std=gnu11",
  "-Wall",
  "-Werror=implicit-function-declaration",
];

// ---- command line ----------------------------------------------------------------------------------
const args = process.argv.slice(2);
const defines = [];
let only = null;
let outPath = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "-D") defines.push(args[++i]);
  else if (a.startsWith("-D")) defines.push(a.slice(2));
  else if (a === "--only") only = args[++i];
  else if (a === "--out") outPath = args[++i];
  else fail(`unknown argument '${a}' (expected --only NAME, -D NAME=VALUE, --out PATH)`);
}
if ((defines.length > 0 || outPath) && !only) fail("-D and --out need --only NAME");

// ---- tools -----------------------------------------------------------------------------------------
const TOOLS = { clang: "clang", "ld.lld": "lld" };
for (const [cmd, pkg] of Object.entries(TOOLS)) {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore" });
  if (r.error) fail(`'${cmd}' not found: install the Debian package ${pkg} (apt-get install ${pkg})`);
}

function fail(message) {
  console.error(`build-guest: ${message}`);
  process.exit(1);
}

/** A build step that failed: reported with the tool's own messages, the build goes on with the rest. */
class StepFailed extends Error {}

function run(cmd, argv, what) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? "");
    throw new StepFailed(`${what} failed (${cmd} exited with ${r.status ?? r.signal})`);
  }
}

// ---- incremental rule ------------------------------------------------------------------------------
const mtime = (p) => statSync(p).mtimeMs;
const listDir = (dir, ext) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(ext))
        .sort()
        .map((f) => join(dir, f))
    : [];

let built = 0;
const failed = [];
/**
 * Runs `make` when `target` is missing or older than any of `inputs`; returns the target. A failed
 * step is reported and remembered; whatever needs its output is skipped (its input is missing).
 */
function update(target, inputs, make) {
  if (inputs.some((p) => !existsSync(p))) return target;
  const newest = Math.max(...inputs.map(mtime));
  if (existsSync(target) && mtime(target) >= newest) return target;
  mkdirSync(dirname(target), { recursive: true });
  try {
    make();
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
    console.error(`build-guest: ${e.message}`);
    failed.push(relative(root, target));
    rmSync(target, { force: true });
    return target;
  }
  console.log(`guest: built ${relative(root, target)}`);
  built++;
  return target;
}

const rel = (p) => relative(root, p);
const sdkHeaders = [...listDir(join(sdk, "include"), ".h")];

function compile(src, obj, extra, headers) {
  return update(obj, [src, ...headers, self], () =>
    run("clang", [...CFLAGS, ...extra, "-c", rel(src), "-o", rel(obj)], `compiling ${rel(src)}`),
  );
}

function link(elf, script, objects, libdir) {
  return update(elf, [script, ...listDir(sdk, ".ld"), ...objects, self], () =>
    run(
      "ld.lld",
      [
        "-m",
        "elf32lriscv",
        "--gc-sections",
        "-L",
        rel(libdir),
        "-T",
        rel(script),
        ...objects.map(rel),
        "-o",
        rel(elf),
      ],
      `linking ${rel(elf)}`,
    ),
  );
}

// ---- SDK: one object set per mode ------------------------------------------------------------------
const include = ["-I", rel(join(sdk, "include"))];
const common = ["printf.c", "stdio.c", "string.c", "malloc.c", "divdi3.c"];
const modeSources = {
  m: ["crt0.S", ...common, "uart.c", "platform-m.c", "trap-m.c"],
  s: ["crt0-s.S", ...common, "sbi.c", "platform-s.c", "trap-s.c"],
};
const sdkObjects = {};
for (const [mode, files] of Object.entries(modeSources)) {
  sdkObjects[mode] = files.map((f) => {
    const src = f.endsWith(".S") ? join(sdk, f) : join(sdk, "lib", f);
    return compile(src, join(out, "sdk", mode, basename(f).replace(/\.[cS]$/, ".o")), include, sdkHeaders);
  });
}

// ---- the boot shim ---------------------------------------------------------------------------------
if (!only) {
  const shimDir = join(sdk, "shim");
  const shimHeaders = [...sdkHeaders, ...listDir(shimDir, ".h")];
  const shimObjects = [...listDir(shimDir, ".S"), ...listDir(shimDir, ".c")].map((src) =>
    compile(src, join(out, "sdk", "shim", basename(src).replace(/\.[cS]$/, ".o")), include, shimHeaders),
  );
  // crt0 is not the shim's start-up: take the M-mode library objects without it.
  link(
    join(out, "sdk", "shim.elf"),
    join(shimDir, "shim.ld"),
    [...shimObjects, ...sdkObjects.m.slice(1)],
    sdk,
  );
}

// ---- programs --------------------------------------------------------------------------------------
const programsDir = join(root, "guest", "programs");
let programs = listDir(programsDir, ".c");
if (only) {
  programs = programs.filter((p) => basename(p, ".c") === only);
  if (programs.length === 0) fail(`no program guest/programs/${only}.c`);
}
const variant = defines.length > 0 ? `-${defines.join("-").replace(/[^A-Za-z0-9_=.-]/g, "_")}` : "";
for (const src of programs) {
  const name = basename(src, ".c");
  const mode = readFileSync(src, "utf8").startsWith("// rvisor: s-mode") ? "s" : "m";
  // Builds with extra definitions are variants: they go beside, not among, the programs' standard ELFs.
  const dir = variant ? join(out, "variants") : join(out, "programs");
  const obj = join(dir, "obj", `${name}${variant}.o`);
  const extra = [...include, ...defines.map((d) => `-D${d}`)];
  compile(src, obj, extra, sdkHeaders);
  const elf = outPath ? resolve(process.cwd(), outPath) : join(dir, `${name}${variant}.elf`);
  link(elf, join(sdk, `${mode}-mode.ld`), [sdkObjects[mode][0], obj, ...sdkObjects[mode].slice(1)], sdk);
}

// ---- ISA conformance tests (guest/isa, written separately) ----------------------------------------
const isaDir = join(root, "guest", "isa");
if (!only && existsSync(isaDir)) {
  const script = join(isaDir, "link.ld");
  const isaInputs = [...listDir(isaDir, ".h"), ...listDir(isaDir, ".inc")];
  for (const src of listDir(isaDir, ".S")) {
    const name = basename(src, ".S");
    const obj = join(out, "isa", "obj", `${name}.o`);
    compile(src, obj, ["-I", rel(isaDir)], isaInputs);
    if (!existsSync(script)) fail(`${rel(script)} is missing: the ISA tests cannot be linked`);
    update(join(out, "isa", `${name}.elf`), [script, obj, self], () =>
      run(
        "ld.lld",
        ["-m", "elf32lriscv", "-T", rel(script), rel(obj), "-o", rel(join(out, "isa", `${name}.elf`))],
        `linking ${name}`,
      ),
    );
  }
}

// ---- the guest kernel (guest/kernel) and its user programs -----------------------------------------
const kernelDir = join(root, "guest", "kernel");
if (!only && existsSync(kernelDir)) {
  const kernelOut = join(out, "kernel");
  const userDir = join(kernelDir, "user");
  const archDir = join(kernelDir, "arch");
  const kernelHeaders = [...sdkHeaders, ...listDir(kernelDir, ".h"), ...listDir(archDir, ".h")];
  const userHeaders = [...kernelHeaders, ...listDir(userDir, ".h")];
  // The SDK's libc without its start-up or platform layer: kernel and user library bring their own.
  const libc = ["printf", "stdio", "string", "divdi3"].map((n) => join(out, "sdk", "s", `${n}.o`));
  const objectOf = (src, dir, suffix = "") =>
    join(dir, "obj", basename(src).replace(/\.[cS]$/, `${suffix}.o`));

  const userLib = [join(userDir, "crt.S"), join(userDir, "ulib.c")].map((src) =>
    compile(src, objectOf(src, join(kernelOut, "user")), include, userHeaders),
  );
  const userElfs = listDir(userDir, ".c")
    .filter((src) => basename(src) !== "ulib.c")
    .map((src) => {
      const obj = compile(src, objectOf(src, join(kernelOut, "user")), include, userHeaders);
      const elf = join(kernelOut, "user", `${basename(src, ".c")}.elf`);
      return link(elf, join(userDir, "user.ld"), [userLib[0], obj, userLib[1], ...libc], userDir);
    });

  // Two builds from one source tree: native (arch/native.c + arch/entry.S) and PARAVIRT (arch/pv*.c,
  // arch/pv*.S, every file compiled with -DPARAVIRT, objects in obj-pv/); the rest of arch/ is shared.
  const inArch = (src) => dirname(src) === archDir;
  const pvOnly = (src) => inArch(src) && basename(src).startsWith("pv");
  const nativeOnly = (src) => inArch(src) && ["native.c", "entry.S"].includes(basename(src));
  const sources = [kernelDir, archDir].flatMap((d) => [...listDir(d, ".S"), ...listDir(d, ".c")]);
  const kernelLibs = [...libc, join(out, "sdk", "s", "sbi.o")];
  const script = join(kernelDir, "kernel.ld");
  const shell = join(kernelDir, "shell.c");
  function buildKernel(suffix, objDir, flags, excluded) {
    const objectIn = (src, extra = "") =>
      join(kernelOut, objDir, basename(src).replace(/\.[cS]$/, `${extra}.o`));
    const objects = sources
      .filter((src) => !excluded(src))
      .map((src) =>
        basename(src) === "programs.S"
          ? compile(src, objectIn(src), [...flags, "-I", rel(join(kernelOut, "user"))], userElfs)
          : compile(src, objectIn(src), [...include, ...flags], kernelHeaders),
      );
    link(join(kernelOut, `kernel${suffix}.elf`), script, [...objects, ...kernelLibs], kernelDir);
    // The autotest kernel differs in the shell only.
    const autotestShell = compile(
      shell,
      objectIn(shell, "-autotest"),
      [...include, ...flags, "-DKERNEL_AUTOTEST"],
      kernelHeaders,
    );
    const autotestObjects = objects.map((o) => (o === objectIn(shell) ? autotestShell : o));
    link(
      join(kernelOut, `kernel${suffix}-autotest.elf`),
      script,
      [...autotestObjects, ...kernelLibs],
      kernelDir,
    );
  }
  buildKernel("", "obj", [], pvOnly);
  buildKernel("-pv", "obj-pv", ["-DPARAVIRT"], nativeOnly);
}

if (failed.length > 0) fail(`${failed.length} file(s) not built: ${failed.join(", ")}`);
if (built === 0) console.log("guest: up to date");
