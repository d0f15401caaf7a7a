import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { XsResult } from "./errors.js";
import { Store } from "./store.js";

function value<T>(r: XsResult<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.errno}: ${r.detail}`);
  return r.value;
}

function errno<T>(r: XsResult<T>): string {
  return r.ok ? "OK" : r.errno;
}

function paths(events: { path: string; token: string }[]): string[] {
  return events.map((e) => `${e.path} ${e.token}`);
}

function setup() {
  const store = new Store();
  const dom0 = store.connect(0);
  value(dom0.mkdir("/local/domain/1"));
  value(dom0.setPerms("/local/domain/1", ["n1", "r0"]));
  const dom1 = value(dom0.introduce(1, 100, 3));
  return { store, dom0, dom1 };
}

describe("watch firing rules", () => {
  it("a watch fires once when set, naming the watched path and the token", () => {
    const { dom0 } = setup();
    value(dom0.watch("/w", "tok"));
    assert.deepEqual(paths(dom0.takeEvents()), ["/w tok"]);
    assert.equal(dom0.pendingEvents, 0);
  });

  it("a change of the path or of any node below it fires, naming the changed path", () => {
    const { dom0 } = setup();
    value(dom0.watch("/w", "t"));
    dom0.takeEvents();
    value(dom0.write("/w", "1"));
    value(dom0.write("/w/child/grandchild", "2"));
    value(dom0.setPerms("/w", ["n0"]));
    value(dom0.write("/wx", "not a child"));
    value(dom0.write("/other", "no"));
    assert.deepEqual(paths(dom0.takeEvents()), ["/w t", "/w/child/grandchild t", "/w t"]);
  });

  it("removing a parent of the watched path fires with the watched path itself", () => {
    const { dom0 } = setup();
    value(dom0.write("/a/b/c", "v"));
    value(dom0.watch("/a/b/c", "t"));
    value(dom0.watch("/a/b/c/never-created", "u"));
    dom0.takeEvents();
    value(dom0.rm("/a"));
    assert.deepEqual(paths(dom0.takeEvents()), ["/a/b/c t", "/a/b/c/never-created u"]);
  });

  it("removing a node below the watch fires with the removed path", () => {
    const { dom0 } = setup();
    value(dom0.write("/a/b", "v"));
    value(dom0.watch("/a", "t"));
    dom0.takeEvents();
    value(dom0.rm("/a/b"));
    assert.deepEqual(paths(dom0.takeEvents()), ["/a/b t"]);
  });

  it("changes inside a transaction fire nothing until commit, then fire, and an abort fires nothing", () => {
    const { dom0 } = setup();
    value(dom0.watch("/t", "t"));
    dom0.takeEvents();
    const tx = value(dom0.transactionStart());
    value(dom0.write("/t/x", "1", tx));
    value(dom0.write("/t/y", "2", tx));
    assert.equal(dom0.pendingEvents, 0);
    value(dom0.transactionEnd(tx, true));
    assert.deepEqual(paths(dom0.takeEvents()), ["/t/x t", "/t/y t"]);
    const aborted = value(dom0.transactionStart());
    value(dom0.write("/t/z", "3", aborted));
    value(dom0.transactionEnd(aborted, false));
    assert.equal(dom0.pendingEvents, 0);
  });

  it("a relative watch reports relative paths", () => {
    const { dom0, dom1 } = setup();
    value(dom1.watch("control/shutdown", "sd"));
    value(dom0.write("/local/domain/1/control/shutdown", "poweroff"));
    assert.deepEqual(paths(dom1.takeEvents()), ["control/shutdown sd", "control/shutdown sd"]);
  });

  it("a watcher does not hear of changes to nodes it may not read", () => {
    const { dom0, dom1 } = setup();
    value(dom1.watch("/local", "all"));
    dom1.takeEvents();
    value(dom0.write("/local/domain/0/private", "x"));
    value(dom0.write("/local/domain/1/mine", "y"));
    assert.deepEqual(paths(dom1.takeEvents()), ["/local/domain/1/mine all"]);
  });

  it("each watch and token gets its own event; the same watch twice is EEXIST; unwatch stops it", () => {
    const { dom0 } = setup();
    value(dom0.watch("/u", "a"));
    value(dom0.watch("/u", "b"));
    const dup = dom0.watch("/u", "a");
    assert.equal(dup.ok ? "" : dup.errno, "EEXIST");
    dom0.takeEvents();
    value(dom0.write("/u", "1"));
    assert.deepEqual(paths(dom0.takeEvents()), ["/u a", "/u b"]);
    value(dom0.unwatch("/u", "a"));
    const missing = dom0.unwatch("/u", "a");
    assert.equal(missing.ok ? "" : missing.errno, "ENOENT");
    value(dom0.write("/u", "2"));
    assert.deepEqual(paths(dom0.takeEvents()), ["/u b"]);
  });

  it("@introduceDomain and @releaseDomain fire for domain 0, and for a guest only once granted read", () => {
    const { dom0, dom1 } = setup();
    value(dom0.watch("@introduceDomain", "i"));
    value(dom0.watch("@releaseDomain", "r"));
    value(dom1.watch("@releaseDomain", "g"));
    dom0.takeEvents();
    dom1.takeEvents();
    value(dom0.introduce(2, 1, 1));
    value(dom0.release(2));
    assert.deepEqual(paths(dom0.takeEvents()), ["@introduceDomain i", "@releaseDomain r"]);
    assert.equal(dom1.pendingEvents, 0);
    value(dom0.setPerms("@releaseDomain", ["n0", "r1"]));
    value(dom0.introduce(3, 1, 1));
    value(dom0.release(3));
    assert.deepEqual(paths(dom1.takeEvents()), ["@releaseDomain g"]);
  });

  it("a released domain's connection keeps no watches and receives nothing more", () => {
    const { dom0, dom1 } = setup();
    value(dom1.watch("x", "t"));
    value(dom0.release(1));
    assert.equal(dom1.watches.length, 0);
    value(dom0.write("/local/domain/1/x", "v"));
    assert.equal(dom1.takeEvents().length, 1, "only the event from setting the watch remains");
  });

  it("release removes the nodes the domain owned and its ACL entries elsewhere, so a reused id inherits nothing", () => {
    const { dom0, dom1 } = setup();
    value(dom1.write("data", "guest's"));
    value(dom0.write("/shared/x", "v"));
    value(dom0.setPerms("/shared/x", ["n0", "r1"]));
    value(dom0.setPerms("@releaseDomain", ["n0", "r1"]));
    value(dom0.watch("/local/domain/1", "home"));
    dom0.takeEvents();
    value(dom0.release(1));
    assert.deepEqual(paths(dom0.takeEvents()), ["/local/domain/1 home"]);
    assert.equal(errno(dom0.read("/local/domain/1/data")), "ENOENT");
    assert.deepEqual(value(dom0.getPerms("/shared/x")), [{ domid: 0, access: "n" }]);
    assert.deepEqual(value(dom0.getPerms("@releaseDomain")), [{ domid: 0, access: "n" }]);
    const reborn = value(dom0.introduce(1, 5, 5));
    assert.equal(errno(reborn.read("/shared/x")), "EACCES");
  });
});
