#!/usr/bin/env node
// The whole suite: every compiled *.test.js under dist/ (unit, property, guest-program and differential
// tests), run by node's test runner. Set-up (build, toolchain, QEMU) already ran as `pretest`.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = ["--test", "--test-reporter=spec", ...process.argv.slice(2)];
if (process.argv.length <= 2) args.push(join(root, "dist"));
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
