import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { XsResult } from "./errors.js";
import { XEN_DEFAULT_QUOTAS } from "./quota.js";
import { Store } from "./store.js";

function value<T>(r: XsResult<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.errno}: ${r.detail}`);
  return r.value;
}

function errno<T>(r: XsResult<T>): string {
  return r.ok ? "OK" : r.errno;
}

function setup(quotas = XEN_DEFAULT_QUOTAS) {
  const store = new Store(quotas);
  const dom0 = store.connect(0);
  value(dom0.mkdir("/local/domain/1"));
  value(dom0.setPerms("/local/domain/1", ["n1"]));
  const dom1 = value(dom0.introduce(1, 100, 3));
  return { store, dom0, dom1 };
}

describe("quotas", () => {
  it("the defaults are oxenstored's: 1000 nodes, 2048-byte values, 100 watches, 10 transactions", () => {
    assert.deepEqual(XEN_DEFAULT_QUOTAS, {
      maxNodes: 1000,
      maxValueSize: 2048,
      maxWatches: 100,
      maxTransactions: 10,
    });
  });

  it("a guest may own maxNodes nodes; the next creation is EQUOTA, and rm frees room", () => {
    const { dom1 } = setup({ ...XEN_DEFAULT_QUOTAS, maxNodes: 5 });
    // /local/domain/1 itself is the guest's first node.
    for (let i = 0; i < 4; i++) value(dom1.write(`n${i}`, "v"));
    assert.equal(errno(dom1.write("n4", "v")), "EQUOTA");
    assert.equal(errno(dom1.mkdir("a/b")), "EQUOTA");
    value(dom1.write("n0", "overwrite an existing node costs nothing"));
    value(dom1.rm("n0"));
    value(dom1.write("n4", "v"));
  });

  it("the node quota counts nodes by owner, whoever created them, and exempts domain 0", () => {
    const { dom0, dom1 } = setup({ ...XEN_DEFAULT_QUOTAS, maxNodes: 3 });
    value(dom0.write("/local/domain/1/t1", "tools write into the guest's home; the guest owns the nodes"));
    value(dom0.write("/local/domain/1/t2", "v"));
    assert.equal(errno(dom1.write("g", "v")), "EQUOTA");
    for (let i = 0; i < 10; i++) value(dom0.write(`/tools/${i}`, "v"));
  });

  it("a value longer than maxValueSize is E2BIG for every domain, domain 0 included", () => {
    const { dom0, dom1 } = setup();
    value(dom1.write("fits", "x".repeat(2048)));
    assert.equal(errno(dom1.write("big", "x".repeat(2049))), "E2BIG");
    assert.equal(errno(dom0.write("/big", "x".repeat(2049))), "E2BIG");
  });

  it("a guest may hold maxWatches watches; the next is EQUOTA and unwatch frees room", () => {
    const { dom0, dom1 } = setup({ ...XEN_DEFAULT_QUOTAS, maxWatches: 2 });
    value(dom1.watch("a", "1"));
    value(dom1.watch("b", "2"));
    assert.equal(errno(dom1.watch("c", "3")), "EQUOTA");
    value(dom1.unwatch("a", "1"));
    value(dom1.watch("c", "3"));
    for (let i = 0; i < 5; i++) value(dom0.watch(`/w${i}`, "t"));
  });

  it("a connection may have maxTransactions open; the next start is EQUOTA until one ends", () => {
    const { dom1 } = setup({ ...XEN_DEFAULT_QUOTAS, maxTransactions: 2 });
    const t1 = value(dom1.transactionStart());
    value(dom1.transactionStart());
    assert.equal(errno(dom1.transactionStart()), "EQUOTA");
    value(dom1.transactionEnd(t1, false));
    value(dom1.transactionStart());
  });

  it("nodes created inside a transaction count against the quota inside it and after commit", () => {
    const { dom1 } = setup({ ...XEN_DEFAULT_QUOTAS, maxNodes: 3 });
    const tx = value(dom1.transactionStart());
    value(dom1.write("a", "v", tx));
    value(dom1.write("b", "v", tx));
    assert.equal(errno(dom1.write("c", "v", tx)), "EQUOTA");
    value(dom1.transactionEnd(tx, true));
    assert.equal(errno(dom1.write("c", "v")), "EQUOTA");
  });
});
