import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { XsResult } from "./errors.js";
import { Store } from "./store.js";
import { type DomainRecord, requestShutdown, wellKnown, writeDomainTree } from "./well-known.js";

function value<T>(r: XsResult<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.errno}: ${r.detail}`);
  return r.value;
}

function errno<T>(r: XsResult<T>): string {
  return r.ok ? "OK" : r.errno;
}

const GUEST: DomainRecord = {
  domid: 4,
  name: "web",
  uuid: "6f1c3a52-9d1e-4b7a-8c2f-0123456789ab",
  memoryKiB: 65536,
  vcpus: 2,
  onlineVcpus: 1,
  console: { ringRef: 77, port: 5 },
};

function setup() {
  const store = new Store();
  const tools = store.connect(0);
  value(writeDomainTree(tools, GUEST));
  const guest = value(tools.introduce(GUEST.domid, 1234, 9));
  return { store, tools, guest };
}

describe("well-known paths", () => {
  it("the toolstack writes name, domid, vm, memory/target, cpu availability and console as Xen lays them out", () => {
    const { tools } = setup();
    const read = (p: string) => value(tools.readString(p));
    assert.equal(read("/local/domain/4/name"), "web");
    assert.equal(read("/local/domain/4/domid"), "4");
    assert.equal(read("/local/domain/4/vm"), `/vm/${GUEST.uuid}`);
    assert.equal(read("/local/domain/4/memory/target"), "65536");
    assert.equal(read("/local/domain/4/cpu/0/availability"), "online");
    assert.equal(read("/local/domain/4/cpu/1/availability"), "offline");
    assert.equal(read("/local/domain/4/console/ring-ref"), "77");
    assert.equal(read("/local/domain/4/console/port"), "5");
    assert.equal(read(`/vm/${GUEST.uuid}/name`), "web");
    assert.equal(read(wellKnown.controlShutdown(4)), "");
  });

  it("the guest reads its own tree but may not change its name, id, memory target or vCPU state", () => {
    const { guest } = setup();
    assert.equal(value(guest.readString("name")), "web");
    assert.equal(value(guest.readString(`/vm/${GUEST.uuid}/uuid`)), GUEST.uuid);
    for (const p of ["name", "domid", "vm", "memory/target", "cpu/0/availability"])
      assert.equal(errno(guest.write(p, "x")), "EACCES", p);
    assert.equal(errno(guest.write("memory/other", "x")), "EACCES", "memory/ belongs to the tools");
    value(guest.write("data/note", "the guest may create its own nodes"));
    value(guest.write("control/shutdown", ""));
  });

  it("another guest can neither read nor write this guest's tree", () => {
    const { tools } = setup();
    const other = value(tools.introduce(5, 1, 1));
    assert.equal(errno(other.read("/local/domain/4/name")), "EACCES");
    assert.equal(errno(other.write("/local/domain/4/control/shutdown", "poweroff")), "EACCES");
  });

  it("a shutdown request reaches the guest's watch on control/shutdown and the guest acknowledges it", () => {
    const { tools, guest } = setup();
    value(guest.watch("control/shutdown", "sd"));
    guest.takeEvents();
    value(tools.watch(wellKnown.controlShutdown(4), "ack"));
    tools.takeEvents();
    value(requestShutdown(tools, 4, "reboot"));
    assert.deepEqual(guest.takeEvents(), [{ path: "control/shutdown", token: "sd" }]);
    assert.equal(value(guest.readString("control/shutdown")), "reboot");
    value(guest.write("control/shutdown", ""));
    assert.equal(tools.takeEvents().length, 2, "the request and the guest's acknowledgement");
  });

  it("the tree appears at once: a watcher sees no events until the whole tree is committed", () => {
    const store = new Store();
    const tools = store.connect(0);
    const watcher = store.connect(0);
    value(watcher.watch("/local/domain", "w"));
    watcher.takeEvents();
    value(writeDomainTree(tools, GUEST));
    const events = watcher.takeEvents();
    assert.ok(events.length > 5);
    assert.ok(events.every((e) => e.path.startsWith("/local/domain/4")));
  });

  it("a malformed uuid or a guest caller is refused", () => {
    const store = new Store();
    const tools = store.connect(0);
    assert.equal(errno(writeDomainTree(tools, { ...GUEST, uuid: "not-a-uuid" })), "EINVAL");
    assert.equal(errno(writeDomainTree(store.connect(3), GUEST)), "EACCES");
  });
});
