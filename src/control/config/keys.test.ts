import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRvisorKey, RVISOR_KEYS, unsupportedKeyMessage, XEN_ONLY_KEYS } from "./keys.js";
import { parseDomainConfig } from "./load.js";
import { printConfig } from "./print.js";

describe("config keys", () => {
  it("never lists a key both as rvisor's and as Xen's-only", () => {
    for (const key of Object.keys(XEN_ONLY_KEYS)) assert.equal(isRvisorKey(key), false, key);
  });

  it("writes every rvisor key when a config uses them all", () => {
    const text =
      "name = 'a'\nkernel = '/k'\nuuid = '00000000-0000-4000-8000-000000000000'\ncpus = 'all'\ncmdline = 'x'";
    const printed = printConfig(parseDomainConfig(text).config);
    const written = [...printed.matchAll(/^([a-z_]+) =/gm)].map((m) => m[1]);
    assert.deepEqual(
      written,
      Object.keys(RVISOR_KEYS).filter((k) => k !== "extra"),
    );
  });

  it("joins cmdline and extra into the kernel's command line, printed back as one cmdline", () => {
    const c = parseDomainConfig(
      "name = 'a'\nkernel = '/k'\nextra = '-- run cpu 10'\ncmdline = 'quiet'",
    ).config;
    assert.equal(c.cmdline, "quiet -- run cpu 10");
    assert.equal(parseDomainConfig(printConfig(c)).config.cmdline, "quiet -- run cpu 10");
    assert.equal(parseDomainConfig("name = 'a'\nkernel = '/k'").config.cmdline, undefined);
  });

  it("explains a Xen-only key and suggests for an unknown one", () => {
    assert.match(
      unsupportedKeyMessage("pci", () => ""),
      /^Xen's xl.cfg has this key but rvisor does not support it: /,
    );
    assert.equal(
      unsupportedKeyMessage("vcpu", () => " (did you mean x?)"),
      "unknown key (did you mean x?)",
    );
  });

  it("refuses each Xen-only key in a config with its reason", () => {
    for (const [key, why] of Object.entries(XEN_ONLY_KEYS)) {
      assert.throws(
        () => parseDomainConfig(`name = 'a'\nkernel = '/k'\n${key} = 1`, { file: "x.cfg" }),
        (e: Error) =>
          e.message === `x.cfg:3: ${key}: Xen's xl.cfg has this key but rvisor does not support it: ${why}`,
        key,
      );
    }
  });
});
