import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import {
  buildGuestVariant,
  guestBuildDir,
  guestProgramElf,
  guestProgramMode,
  listGuestPrograms,
  qemuAvailable,
  repoRoot,
  shimElf,
} from "./guest-build.js";

const buildScript = join(repoRoot, "scripts", "build-guest.mjs");

function runBuild(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [buildScript, ...args], { cwd: repoRoot, encoding: "utf8", env });
}

describe("locating the guest build", () => {
  it("finds the repository root from this module's location", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { name: string };
    assert.equal(pkg.name, "rvisor");
    assert.equal(guestBuildDir, join(repoRoot, "build", "guest"));
  });

  it("tells S-mode programs from M-mode ones by their first line", () => {
    assert.equal(guestProgramMode("sbi-hello"), "s");
    assert.equal(guestProgramMode("hello"), "m");
    assert.throws(() => guestProgramMode("no-such-program"), /no-such-program\.c does not exist/);
  });

  it("names the build command when an ELF has not been built", () => {
    assert.throws(() => guestProgramElf("no-such-program"), /npm run build:guest/);
  });

  it("lists the built programs, the shim among the SDK outputs", () => {
    assert.ok(listGuestPrograms().includes("hello"));
    assert.ok(existsSync(shimElf));
  });

  it("reports whether QEMU can be started as a boolean, the same each time", () => {
    assert.equal(typeof qemuAvailable(), "boolean");
    assert.equal(qemuAvailable(), qemuAvailable());
  });
});

describe("the guest build script", () => {
  it("rebuilds nothing on a second run", () => {
    runBuild([]);
    const r = runBuild([]);
    assert.equal(r.status, 0, r.stderr);
    // (Fails too while someone edits guest sources between the two runs: the output names the file.)
    assert.equal(r.stdout.trim(), "guest: up to date", `the second run rebuilt:\n${r.stdout}`);
  });

  it("builds a -D variant apart from the standard programs", () => {
    const elf = buildGuestVariant("hello", { GREETING_TEST: 1 });
    assert.equal(dirname(elf), join(guestBuildDir, "variants"));
    assert.ok(!listGuestPrograms().some((p) => p.includes("GREETING_TEST")));
  });

  it("names the Debian package when clang is missing", () => {
    const r = runBuild([], {
      ...process.env,
      PATH: "/nonexistent", // node itself is started by absolute path; clang cannot be found
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /'clang' not found: install the Debian package clang/);
  });

  it("rejects an unknown argument and a -D without --only", () => {
    assert.match(runBuild(["--bogus"]).stderr, /unknown argument '--bogus'/);
    assert.match(runBuild(["-D", "X=1"]).stderr, /-D and --out need --only NAME/);
  });

  it("rejects a variant with no definitions", () => {
    assert.throws(() => buildGuestVariant("hello", {}), /no definitions given/);
  });
});
