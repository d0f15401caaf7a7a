import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { XsResult } from "./errors.js";
import { Store } from "./store.js";

function value<T>(r: XsResult<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.errno}: ${r.detail}`);
  return r.value;
}

function errno<T>(r: XsResult<T>): string {
  assert.equal(r.ok, false, "expected a failure");
  return r.ok ? "" : r.errno;
}

/** A store with /local/domain/1 owned by domain 1 (readable by domain 0), and domain 2 introduced. */
function setup() {
  const store = new Store();
  const dom0 = store.connect(0);
  value(dom0.mkdir("/local/domain/1"));
  value(dom0.setPerms("/local/domain/1", ["n1", "r0"]));
  const dom1 = value(dom0.introduce(1, 100, 3));
  const dom2 = value(dom0.introduce(2, 200, 4));
  return { store, dom0, dom1, dom2 };
}

describe("store basics", () => {
  it("write creates missing parents with empty values and read returns the bytes written", () => {
    const { dom0 } = setup();
    value(dom0.write("/a/b/c", "hello"));
    assert.equal(value(dom0.readString("/a/b/c")), "hello");
    assert.equal(value(dom0.readString("/a/b")), "");
    assert.deepEqual(value(dom0.directory("/a")), ["b"]);
  });

  it("values are octet strings: nul bytes survive a write and a read", () => {
    const { dom0 } = setup();
    const bytes = new Uint8Array([0, 1, 2, 0, 255]);
    value(dom0.write("/bin", bytes));
    assert.deepEqual(value(dom0.read("/bin")), bytes);
  });

  it("directory lists children in creation order and rm removes the whole subtree", () => {
    const { dom0 } = setup();
    value(dom0.write("/d/z", "1"));
    value(dom0.write("/d/a/deep", "2"));
    assert.deepEqual(value(dom0.directory("/d")), ["z", "a"]);
    value(dom0.rm("/d/a"));
    assert.deepEqual(value(dom0.directory("/d")), ["z"]);
    assert.equal(errno(dom0.read("/d/a/deep")), "ENOENT");
  });

  it("rm of an absent node succeeds when its parent exists and is ENOENT when the parent is absent too", () => {
    const { dom0 } = setup();
    value(dom0.mkdir("/p"));
    value(dom0.rm("/p/absent"));
    assert.equal(errno(dom0.rm("/nope/absent")), "ENOENT");
  });

  it("rm of the root is EINVAL", () => {
    const { dom0 } = setup();
    assert.equal(errno(dom0.rm("/")), "EINVAL");
  });

  it("mkdir leaves an existing node's value unchanged", () => {
    const { dom0 } = setup();
    value(dom0.write("/m", "keep"));
    value(dom0.mkdir("/m"));
    assert.equal(value(dom0.readString("/m")), "keep");
  });

  it("malformed paths are EINVAL: empty, doubled or trailing slash, bad characters, too long", () => {
    const { dom0 } = setup();
    for (const p of ["", "//a", "/a/", "/a//b", "/a b", "/a.b", `/${"x".repeat(3072)}`]) {
      assert.equal(errno(dom0.write(p, "v")), "EINVAL", `path ${JSON.stringify(p.slice(0, 20))}`);
    }
  });

  it("a relative path is taken from the caller's home /local/domain/<domid>", () => {
    const { dom0, dom1 } = setup();
    value(dom1.write("data/x", "1"));
    assert.equal(value(dom0.readString("/local/domain/1/data/x")), "1");
    assert.equal(value(dom1.getDomainPath(7)), "/local/domain/7");
  });

  it("an unknown transaction id is ENOENT", () => {
    const { dom0 } = setup();
    assert.equal(errno(dom0.read("/", 99)), "ENOENT");
    assert.equal(errno(dom0.transactionEnd(99, true)), "ENOENT");
  });
});

describe("permissions per operation", () => {
  it("the owner reads and writes its node; a domain with no entry gets the default access", () => {
    const { dom1, dom2 } = setup();
    value(dom1.write("x", "mine"));
    assert.equal(errno(dom2.read("/local/domain/1/x")), "EACCES");
    assert.equal(errno(dom2.write("/local/domain/1/x", "theirs")), "EACCES");
    value(dom1.setPerms("x", ["n1", "r2"]));
    assert.equal(value(dom2.readString("/local/domain/1/x")), "mine");
    assert.equal(errno(dom2.write("/local/domain/1/x", "theirs")), "EACCES");
    value(dom1.setPerms("x", ["r1"]));
    assert.equal(value(dom2.readString("/local/domain/1/x")), "mine", "default r lets everyone read");
  });

  it("w grants write without read and b grants both", () => {
    const { dom1, dom2 } = setup();
    value(dom1.write("w", "0"));
    value(dom1.setPerms("w", ["n1", "w2"]));
    value(dom2.write("/local/domain/1/w", "1"));
    assert.equal(errno(dom2.read("/local/domain/1/w")), "EACCES");
    value(dom1.setPerms("w", ["n1", "b2"]));
    assert.equal(value(dom2.readString("/local/domain/1/w")), "1");
  });

  it("the first ACL entry naming the domain decides, even over a more generous default", () => {
    const { dom1, dom2 } = setup();
    value(dom1.write("acl", "v"));
    value(dom1.setPerms("acl", ["b1", "n2"]));
    assert.equal(errno(dom2.read("/local/domain/1/acl")), "EACCES");
  });

  it("domain 0 is privileged: it reads and writes nodes whose permissions exclude it", () => {
    const { dom0, dom1 } = setup();
    value(dom1.write("secret", "s"));
    value(dom1.setPerms("secret", ["n1"]));
    assert.equal(value(dom0.readString("/local/domain/1/secret")), "s");
    value(dom0.write("/local/domain/1/secret", "t"));
  });

  it("a node inherits its parent's permissions, but a guest owns what it creates", () => {
    const { dom0, dom1 } = setup();
    value(dom0.write("/local/domain/1/by-tools", "t"));
    assert.deepEqual(value(dom0.getPerms("/local/domain/1/by-tools")), [
      { domid: 1, access: "n" },
      { domid: 0, access: "r" },
    ]);
    value(dom0.setPerms("/local/domain/1", ["n0", "b1"]));
    value(dom1.write("by-guest/leaf", "g"));
    assert.deepEqual(value(dom1.getPerms("by-guest/leaf")), [
      { domid: 1, access: "n" },
      { domid: 1, access: "b" },
    ]);
  });

  it("a missing node is ENOENT only to a domain that may read its nearest existing ancestor", () => {
    const { dom1, dom2 } = setup();
    assert.equal(errno(dom1.read("nothing/here")), "ENOENT");
    assert.equal(errno(dom2.read("/local/domain/1/nothing/here")), "EACCES");
    assert.equal(errno(dom2.directory("/local/domain/1/nothing")), "EACCES");
  });

  it("creating a node needs write on the nearest existing ancestor", () => {
    const { dom1, dom2 } = setup();
    assert.equal(errno(dom2.write("/local/domain/1/intruder", "x")), "EACCES");
    assert.equal(errno(dom2.mkdir("/local/domain/1/intruder")), "EACCES");
    assert.equal(errno(dom1.write("/local/domain/2/x", "y")), "EACCES");
    assert.equal(errno(dom1.write("/top", "y")), "EACCES", "the root belongs to domain 0");
  });

  it("rm needs write on the node", () => {
    const { dom1, dom2 } = setup();
    value(dom1.write("keep", "v"));
    value(dom1.setPerms("keep", ["n1", "r2"]));
    assert.equal(errno(dom2.rm("/local/domain/1/keep")), "EACCES");
    value(dom1.rm("keep"));
  });

  it("get-perms needs read; set-perms needs ownership, and only domain 0 may change the owner", () => {
    const { dom0, dom1, dom2 } = setup();
    value(dom1.write("n", "v"));
    value(dom1.setPerms("n", ["n1", "b2"]));
    assert.deepEqual(value(dom2.getPerms("/local/domain/1/n")).length, 2);
    assert.equal(errno(dom2.setPerms("/local/domain/1/n", ["b2"])), "EACCES", "b2 writes but does not own");
    assert.equal(errno(dom1.setPerms("n", ["n2"])), "EACCES", "a guest may not give a node away");
    value(dom0.setPerms("/local/domain/1/n", ["n2"]));
    assert.equal(value(dom0.getPerms("/local/domain/1/n"))[0]!.domid, 2);
  });

  it("set-perms rejects malformed permission strings with EINVAL", () => {
    const { dom0 } = setup();
    value(dom0.write("/q", "v"));
    for (const bad of [["x1"], ["r"], ["b70000"], []])
      assert.equal(errno(dom0.setPerms("/q", bad)), "EINVAL");
  });

  it("introduce and release are for domain 0 only, and need a real guest domain id", () => {
    const { dom0, dom1 } = setup();
    assert.equal(errno(dom1.introduce(5, 1, 1)), "EACCES");
    assert.equal(errno(dom0.introduce(0, 1, 1)), "EINVAL");
    assert.equal(errno(dom0.introduce(0x7ff0, 1, 1)), "EINVAL");
    assert.equal(errno(dom0.introduce(1, 1, 1)), "EEXIST");
    assert.equal(errno(dom1.release(2)), "EACCES");
    assert.equal(value(dom0.isDomainIntroduced(2)), true);
    value(dom0.release(2));
    assert.equal(value(dom0.isDomainIntroduced(2)), false);
    assert.equal(errno(dom0.release(2)), "ENOENT");
  });
});
