#!/usr/bin/env node
// Set-up for rvisor's container engine (src/containers), run by scripts/setup.mjs before tests and
// benchmarks, or alone: `node scripts/setup-containers.mjs`. As root on Debian 12 it
//   1. installs busybox-static (the test root filesystem), iproute2 and nftables (networking, and
//      CRIU's network lock) with apt-get;
//   2. builds better-sqlite3's native binding when `npm ci --ignore-scripts` left it out;
//   3. compiles the engine's C helper (native/ctr-helper.c) into build/native/ with cc;
//   4. when no working CRIU 4 is present, builds CRIU from Debian trixie's *source* package into
//      /var/cache/rvisor/criu (kept across clones, so repeat runs are instant): Debian 12's criu 3.17 fails on this kernel ("Unexpected rt vDSO area
//      bounds", fixed in 4.1). The trixie source suite is added in a private apt configuration under
//      /var/cache/rvisor/criu/apt that reuses the archive URI of the machine's own apt sources, so no mirror is named.
// Every step is skipped when its result is already there; a second run takes well under a second.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Outside the work tree, so a fresh clone (CI's) on the same machine finds it already built.
const CRIU_DIR = "/var/cache/rvisor/criu";
const CRIU_BIN = join(CRIU_DIR, "bin", "criu");
const HELPER_SRC = join(root, "native", "ctr-helper.c");
const HELPER_BIN = join(root, "build", "native", "rvisor-ctr-helper");
const CRIU_BUILD_DEPS = [
  "build-essential",
  "libprotobuf-c-dev",
  "protobuf-c-compiler",
  "libprotobuf-dev",
  "protobuf-compiler",
  "libnl-3-dev",
  "libnl-route-3-dev",
  "libnet1-dev",
  "libcap-dev",
  "libgnutls28-dev",
  "libbsd-dev",
  "libnftables-dev",
  "libaio-dev",
  "uuid-dev",
  "pkgconf",
  "python3-protobuf",
  "asciidoc-base",
];

function fail(message) {
  console.error(`setup-containers: ${message}`);
  process.exit(1);
}

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) fail(`'${cmd} ${args.join(" ")}' failed with status ${r.status}`);
}

const aptEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
let aptUpdated = false;
function aptInstall(packages) {
  if (packages.length === 0) return;
  if (process.getuid?.() !== 0)
    fail(`missing Debian packages ${packages.join(", ")}; run as root or install them`);
  if (!aptUpdated) run("apt-get", ["update", "-qq"]);
  aptUpdated = true;
  console.log(`setup-containers: installing ${packages.join(" ")}`);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { env: aptEnv });
}

function dpkgInstalled(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

// Without root nothing here can be installed, and the container tests skip themselves; the helper is still
// compiled so the engine's own errors (not a missing file) say what is wrong.
const isRoot = process.getuid?.() === 0;

// 1. Debian packages the engine and its tests use.
const wanted = [
  ["busybox", "busybox-static", "/bin/busybox"],
  ["ip", "iproute2"],
  ["nft", "nftables"],
];
const missing = wanted
  .filter(([cmd, , path]) => !(path ? existsSync(path) : have(cmd)))
  .map(([, pkg]) => pkg);
if (isRoot) aptInstall(missing);
else if (missing.length > 0)
  console.warn(`setup-containers: not root, so not installing ${missing.join(", ")}`);

// 2. better-sqlite3's native binding (the engine's durable state): `npm ci --ignore-scripts` skips its
//    build, so build it here from the Node headers installed with Node itself.
if (!existsSync(join(root, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))) {
  run("npm", ["rebuild", "better-sqlite3", "--no-audit", "--no-fund"]);
}

// 3. The C helper (namespaces, pivot_root, the container monitor).
if (!existsSync(HELPER_BIN) || statSync(HELPER_BIN).mtimeMs < statSync(HELPER_SRC).mtimeMs) {
  mkdirSync(dirname(HELPER_BIN), { recursive: true });
  run("cc", ["-O2", "-Wall", "-Wextra", "-o", HELPER_BIN, HELPER_SRC]);
}

// 4. CRIU 4.
function criuWorks(bin) {
  const v = spawnSync(bin, ["--version"], { encoding: "utf8" });
  const m = /Version:\s*(\d+)\.(\d+)/.exec(v.stdout ?? "");
  if (v.status !== 0 || !m || Number(m[1]) < 4) return false;
  return spawnSync(bin, ["check"], { stdio: "ignore" }).status === 0;
}

/** The archive URI of the machine's Debian main suite, from deb822 or one-line apt sources. */
function debianArchiveUri() {
  const files = ["/etc/apt/sources.list"];
  const partsDir = "/etc/apt/sources.list.d";
  if (existsSync(partsDir)) {
    for (const f of readdirSync(partsDir)) if (/\.(list|sources)$/.test(f)) files.push(join(partsDir, f));
  }
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/^URIs:\s*(\S+)/gm)) if (!/security/.test(m[1])) return m[1];
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) {
      if (!/security/.test(m[2]) && /debian/.test(m[1])) return m[1];
    }
  }
  fail("no Debian archive URI found in the apt sources under /etc/apt");
}

function buildCriu() {
  aptInstall(CRIU_BUILD_DEPS.filter((p) => !dpkgInstalled(p)));
  const aptDir = join(CRIU_DIR, "apt");
  mkdirSync(join(aptDir, "lists", "partial"), { recursive: true });
  const uri = debianArchiveUri();
  writeFileSync(
    join(aptDir, "trixie-src.sources"),
    `Types: deb-src\nURIs: ${uri}\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
  const aptOpts = [
    "-o",
    `Dir::Etc::SourceList=/dev/null`,
    "-o",
    `Dir::Etc::SourceParts=${aptDir}`,
    "-o",
    `Dir::State::Lists=${join(aptDir, "lists")}`,
  ];
  run("apt-get", [...aptOpts, "update", "-qq"]);
  const srcDir = join(CRIU_DIR, "src");
  mkdirSync(srcDir, { recursive: true });
  let tree = readdirSync(srcDir).find((d) => /^criu-4\./.test(d) && statSync(join(srcDir, d)).isDirectory());
  if (!tree) {
    // The upstream tarball is what we build; Debian's packaging (.dsc, .debian.tar) is optional, and some
    // archive mirrors no longer serve it for a version whose orig tarball they still have.
    spawnSync("apt-get", [...aptOpts, "source", "--download-only", "criu"], {
      cwd: srcDir,
      stdio: "inherit",
    });
    const dsc = readdirSync(srcDir).find((f) => f.endsWith(".dsc"));
    const orig = readdirSync(srcDir).find((f) => /^criu_4\.[\d.]+\.orig\.tar\.\w+$/.test(f));
    if (dsc) run("dpkg-source", ["-x", dsc], { cwd: srcDir });
    else if (orig) run("tar", ["-xf", orig], { cwd: srcDir });
    else fail(`apt-get source criu (trixie) fetched neither a .dsc nor a criu 4 orig tarball into ${srcDir}`);
    tree = readdirSync(srcDir).find((d) => /^criu-4\./.test(d) && statSync(join(srcDir, d)).isDirectory());
    if (!tree) fail(`the trixie criu source in ${srcDir} is not version 4.x`);
  }
  run("make", ["-j", "2", "criu"], { cwd: join(srcDir, tree) });
  mkdirSync(dirname(CRIU_BIN), { recursive: true });
  run("install", ["-m", "0755", join(srcDir, tree, "criu", "criu"), CRIU_BIN]);
}

if (!isRoot) {
  if (!existsSync(CRIU_BIN))
    console.warn("setup-containers: not root, so not building CRIU (checkpoint tests need root)");
} else if (!existsSync(CRIU_BIN) && !(have("criu") && criuWorks("criu"))) {
  console.log("setup-containers: no working CRIU 4 here; building it from Debian trixie's source package");
  buildCriu();
  if (!criuWorks(CRIU_BIN)) fail(`${CRIU_BIN} was built but 'criu check' fails on this kernel`);
}
