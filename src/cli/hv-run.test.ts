/**
 * --domain specs: xl-like key=value pairs, parsed without starting anything. Every refusal is a
 * UsageError whose message quotes the spec or names the key, so the user sees what to fix.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDomainSpec } from "./hv-run.js";
import { MiB, UsageError } from "./options.js";

const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

describe("--domain specs", () => {
  it("needs only mode and kernel; the rest take their defaults", () => {
    assert.deepEqual(parseDomainSpec("mode=trap,kernel=guest/kernel.elf"), {
      mode: "trap",
      kernel: "guest/kernel.elf",
      memoryBytes: 32 * MiB,
      vcpus: 1,
      name: undefined,
      bootargs: undefined,
      weight: undefined,
      cap: undefined,
      disks: [],
    });
  });

  it("accepts every documented key, in any order", () => {
    assert.deepEqual(
      parseDomainSpec(
        "name=web,vcpus=4,kernel=/k/pv.elf,memory=64M,weight=512,cap=150,mode=pv,bootargs=quiet",
      ),
      {
        mode: "pv",
        kernel: "/k/pv.elf",
        memoryBytes: 64 * MiB,
        vcpus: 4,
        name: "web",
        bootargs: "quiet",
        weight: 512,
        cap: 150,
        disks: [],
      },
    );
  });

  it("takes disks, read-write and read-only, repeated, in order", () => {
    assert.deepEqual(parseDomainSpec("mode=trap,kernel=k,disk=/a.img,disk-ro=b.img,disk=c.img").disks, [
      { path: "/a.img", format: "raw", readOnly: false },
      { path: "b.img", format: "raw", readOnly: true },
      { path: "c.img", format: "raw", readOnly: false },
    ]);
    assert.deepEqual(parseDomainSpec("mode=trap,kernel=k,disk=qcow2:/o.qcow2,disk-ro=raw:r.img").disks, [
      { path: "/o.qcow2", format: "qcow2", readOnly: false },
      { path: "r.img", format: "raw", readOnly: true },
    ]);
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,disk="), usage(/disk= needs an image path/));
  });

  it("takes a network interface: vif=BRIDGE (empty: xenbr0) and mac=, which alone implies the default bridge", () => {
    assert.deepEqual(parseDomainSpec("mode=trap,kernel=k,vif=").vif, { bridge: "xenbr0" });
    assert.deepEqual(parseDomainSpec("mode=trap,kernel=k,vif=br1,mac=00:16:3E:00:00:2A").vif, {
      bridge: "br1",
      mac: "00:16:3e:00:00:2a",
    });
    assert.deepEqual(parseDomainSpec("mode=trap,kernel=k,mac=00:16:3e:00:00:2a").vif, {
      bridge: "xenbr0",
      mac: "00:16:3e:00:00:2a",
    });
    assert.equal(parseDomainSpec("mode=trap,kernel=k").vif, undefined);
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,vif=br/0"), usage(/vif: bridge "br\/0"/));
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,mac=01:00:5e:00:00:01"), usage(/multicast/));
  });

  it("keeps the commas (and '=' signs) of bootargs given last", () => {
    const d = parseDomainSpec("mode=trap,kernel=k.elf,bootargs=console=hvc0,root=/dev/vda,quiet");
    assert.equal(d.bootargs, "console=hvc0,root=/dev/vda,quiet");
    assert.equal(parseDomainSpec("mode=trap,kernel=k,bootargs=a,,b").bootargs, "a,,b");
    assert.equal(parseDomainSpec("mode=trap,kernel=k,bootargs=").bootargs, "");
  });

  it("takes memory sizes with units, and the edges of the vcpus, weight and cap ranges", () => {
    assert.equal(parseDomainSpec("mode=trap,kernel=k,memory=1G").memoryBytes, 1024 * MiB);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,memory=4096K").memoryBytes, 4 * MiB);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,memory=16").memoryBytes, 16 * MiB);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,vcpus=32").vcpus, 32);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,weight=1").weight, 1);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,weight=65535").weight, 65535);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,cap=0").cap, 0);
    assert.equal(parseDomainSpec("mode=trap,kernel=k,cap=3200").cap, 3200);
  });

  it("rejects an unknown key, quoting the spec and the piece", () => {
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,colour=red"),
      usage(
        /^--domain 'mode=trap,kernel=k,colour=red': 'colour=red' is not key=value with a key among mode, kernel/,
      ),
    );
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,quiet"), usage(/'quiet' is not key=value/));
    assert.throws(() => parseDomainSpec(""), usage(/^--domain '': '' is not key=value/));
    assert.throws(() => parseDomainSpec("Mode=trap,kernel=k"), usage(/'Mode=trap' is not key=value/));
  });

  it("rejects a key given twice, naming it", () => {
    assert.throws(() => parseDomainSpec("mode=trap,kernel=a,kernel=b"), usage(/: kernel given twice$/));
    assert.throws(() => parseDomainSpec("mode=trap,mode=pv,kernel=k"), usage(/: mode given twice$/));
    // After bootargs, a known key starts a new field, so it can collide too.
    assert.throws(() => parseDomainSpec("bootargs=x,mode=trap,kernel=k,mode=pv"), usage(/mode given twice/));
  });

  it("rejects a spec without mode or without kernel", () => {
    assert.throws(
      () => parseDomainSpec("mode=trap"),
      usage(/^--domain 'mode=trap': mode= and kernel= are required$/),
    );
    assert.throws(() => parseDomainSpec("kernel=k,memory=8M"), usage(/mode= and kernel= are required/));
  });

  it("rejects bad values with a message naming the key and the value", () => {
    assert.throws(
      () => parseDomainSpec("mode=kvm,kernel=k"),
      usage(/^--domain mode must be one of trap, bt, pv, hvm, got 'kvm'$/),
    );
    assert.throws(() => parseDomainSpec("mode=native,kernel=k"), usage(/--domain mode .* got 'native'/));
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,memory=lots"),
      usage(/^--domain memory must be a size .*'lots'/),
    );
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,memory=2M"),
      usage(/^--domain memory must be between .*'2M'/),
    );
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,memory=4098K"),
      usage(/^--domain memory .*4 KiB pages/),
    );
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,vcpus=0"),
      usage(/^--domain vcpus must be an integer 1\.\.32, got '0'$/),
    );
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,vcpus=33"), usage(/--domain vcpus .*'33'/));
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,vcpus=two"), usage(/--domain vcpus .*'two'/));
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,weight=0"),
      usage(/--domain weight must be an integer 1\.\.65535/),
    );
    assert.throws(
      () => parseDomainSpec("mode=trap,kernel=k,cap=3201"),
      usage(/--domain cap must be an integer 0\.\.3200/),
    );
    assert.throws(() => parseDomainSpec("mode=trap,kernel=k,cap=-1"), usage(/--domain cap .*'-1'/));
  });
});
