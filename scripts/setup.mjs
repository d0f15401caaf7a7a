#!/usr/bin/env node
// One-step set-up, run before `npm start`, `npm test` and `npm run bench` (see package.json "pre*").
// On a fresh Debian machine as root it installs what is missing — npm packages, Debian's clang, lld
// and (for tests and benchmarks) qemu-system-misc, qemu-utils (qemu-img, the reference for disk images)
// and the container engine's prerequisites — then
// compiles the TypeScript and the guest programs.
// Every step is skipped when its result is already there, so a second run costs about a second.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const purpose = process.argv.includes("--for") ? process.argv[process.argv.indexOf("--for") + 1] : "start";

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`setup: '${cmd} ${args.join(" ")}' failed with status ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

// 1. Debian packages. clang+lld build the guest programs; QEMU is the reference for differential tests.
const wanted = [
  ["clang", "clang"],
  ["ld.lld", "lld"],
  ["llvm-objcopy", "llvm"],
];
if (purpose !== "start") wanted.push(["qemu-system-riscv32", "qemu-system-misc"], ["qemu-img", "qemu-utils"]);
const missing = wanted.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`setup: missing Debian packages ${missing.join(", ")}; run as root or install them.`);
    process.exit(1);
  }
  console.log(`setup: installing ${missing.join(" ")} with apt-get`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

// 2. npm packages.
if (!existsSync(join(root, "node_modules", "typescript"))) {
  console.log("setup: installing npm packages");
  run("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"]);
}

// 3. TypeScript → dist/.
run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);

// 4. Guest programs → build/guest/.
run(process.execPath, [join(root, "scripts", "build-guest.mjs")]);

// 5. The container engine's prerequisites (busybox, networking tools, its C helper, CRIU 4) for its tests
//    and benchmark.
if (purpose !== "start") run(process.execPath, [join(root, "scripts", "setup-containers.mjs")]);
