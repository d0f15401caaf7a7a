import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "./errors.js";
import { loadDomainConfigFile, parseDomainConfig } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "rvisor-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("loading config files", () => {
  it("resolves relative kernel and disk paths beside the file", () => {
    const file = join(dir, "web.cfg");
    writeFileSync(file, "name = 'web'\nkernel = 'kernels/k.elf'\ndisk = ['disks/web.img,,xvda']\n");
    const { config } = loadDomainConfigFile(file);
    assert.equal(config.kernel, join(dir, "kernels/k.elf"));
    assert.equal(config.disks[0]!.target, join(dir, "disks/web.img"));
  });

  it("names the file as it was given in every error", () => {
    const file = join(dir, "bad.cfg");
    writeFileSync(file, "name = 'x'\nkernel = '/k'\nmemory = 'lots'\n");
    assert.throws(
      () => loadDomainConfigFile(file),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === `${file}:3: memory: expected an integer number of MiB, got "lots"`,
    );
  });

  it("says which file it cannot read", () => {
    const missing = join(dir, "missing.cfg");
    assert.throws(
      () => loadDomainConfigFile(missing),
      new RegExp(`^Error: ${missing}: cannot read the config file: ENOENT`),
    );
  });

  it("parses text with a default name and the current directory as base", () => {
    assert.throws(() => parseDomainConfig("memory = 1"), /^ConfigError: <config>:1: name: missing/);
    const { config } = parseDomainConfig("name = 'a'\nkernel = 'k.elf'");
    assert.equal(config.kernel, join(process.cwd(), "k.elf"));
  });

  it("uses the random source it is given for MACs", () => {
    const { config } = parseDomainConfig("name = 'a'\nkernel = '/k'\nvif = ['']", {
      random: () => Uint8Array.from([0xaa, 0xbb, 0xcc]),
    });
    assert.equal(config.vifs[0]!.mac, "00:16:3e:2a:bb:cc");
  });
});
