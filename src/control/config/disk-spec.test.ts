import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDiskSpec, parseDiskSpec } from "./disk-spec.js";
import { vbdDevid } from "./vdev.js";

const disk = (spec: string) => {
  const r = parseDiskSpec(spec);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.disk;
};
const error = (spec: string) => {
  const r = parseDiskSpec(spec);
  assert.ok(!r.ok, `"${spec}" should be refused`);
  return r.error;
};
const XVDA = { target: "/srv/g.img", format: "raw", vdev: "xvda", access: "rw" };

describe("disk specs", () => {
  it("reads xl-disk-configuration(5)'s equivalent spellings as the same disk", () => {
    for (const spec of [
      "/srv/g.img,raw,xvda,rw",
      "/srv/g.img,,xvda",
      "/srv/g.img,raw,xvda,w",
      "format=raw, vdev=xvda, access=rw, target=/srv/g.img",
      "vdev=xvda, /srv/g.img",
      "raw:/srv/g.img,xvda,w",
      "file:/srv/g.img,xvda,w",
      "tap:aio:/srv/g.img,xvda,w",
      "/srv/g.img,,xvda:disk",
      "/srv/g.img,raw,xvda,rw,devtype=disk",
    ]) {
      assert.deepEqual(disk(spec), XVDA, spec);
    }
  });

  it("reads read-only access as ro or r", () => {
    assert.equal(disk("/a,,xvdb,ro").access, "ro");
    assert.equal(disk("/a,,xvdb,r").access, "ro");
    assert.equal(disk("access=r, vdev=hdc, target=/a").access, "ro");
  });

  it("lets target= take commas and blanks, and returns relative targets as written", () => {
    assert.equal(disk("vdev=xvda, target=images/a,b c.img").target, "images/a,b c.img");
    assert.equal(disk("rel.img,,sda").target, "rel.img");
  });

  it("accepts hd, sd and xvd names", () => {
    assert.equal(disk("/a,,hdc").vdev, "hdc");
    assert.equal(disk("/a,,sdb").vdev, "sdb");
    assert.equal(disk("/a,,xvdaa").vdev, "xvdaa");
  });

  it("wants a target and a vdev", () => {
    assert.match(error("vdev=xvda"), /no target/);
    assert.match(error(",,xvda"), /no target/);
    assert.match(error("/a"), /no vdev/);
    assert.match(error("/a,raw,,rw"), /no vdev/);
  });

  it("refuses guest names it cannot give", () => {
    assert.match(error("/a,,vda"), /vdev "vda": expected xvdX, hdX or sdX/);
    assert.match(error("/a,,hde"), /vdev "hde": .*up to hdd .*xen-vbd-interface/);
    assert.match(error("/a,,sdq"), /vdev "sdq": .*up to sdp/);
  });

  it("numbers vdevs as xen-vbd-interface(7) does", () => {
    const cases: [string, number][] = [
      ["xvda", 51712],
      ["xvdb", 51728],
      ["xvdp", (202 << 8) | (15 << 4)],
      ["xvdq", (1 << 28) | (16 << 8)],
      ["xvdaa", (1 << 28) | (26 << 8)],
      ["sda", 2048],
      ["sdp", (8 << 8) | (15 << 4)],
      ["hda", 768],
      ["hdb", 832],
      ["hdc", 5632],
      ["hdd", 5696],
    ];
    for (const [vdev, devid] of cases) assert.equal(vbdDevid(vdev), devid, vdev);
    for (const vdev of ["hde", "sdq", "vda", "xvd", "xvda1"]) assert.equal(vbdDevid(vdev), undefined, vdev);
  });

  it("reads qcow2 overlays in every spelling", () => {
    const overlay = { target: "/srv/o.qcow2", format: "qcow2", vdev: "xvda", access: "rw" };
    for (const spec of [
      "format=qcow2, vdev=xvda, target=/srv/o.qcow2",
      "/srv/o.qcow2,qcow2,xvda,rw",
      "qcow2:/srv/o.qcow2,xvda,w",
      "vdev=xvda,format=qcow2,/srv/o.qcow2",
    ]) {
      assert.deepEqual(disk(spec), overlay, spec);
    }
    const d = { ...overlay, access: "ro" as const, format: "qcow2" as const };
    assert.deepEqual(disk(formatDiskSpec(d)), d);
  });

  it("refuses formats other than raw and qcow2, naming Xen's", () => {
    assert.match(error("/a,qcow,xvda"), /format "qcow": rvisor reads raw and qcow2 images only/);
    assert.match(error("format=vhd,vdev=xvda,target=/a"), /format "vhd"/);
    assert.match(error("qcow:/a,xvda,w"), /format "qcow"/);
    assert.match(error("/a,iso,xvda"), /unknown format "iso"/);
  });

  it("refuses CD-ROMs in every spelling", () => {
    for (const spec of ["/a,,hdc,cdrom", "/a,raw,hdc,devtype=cdrom", "/a,,hdc:cdrom", "cdrom,/a,,hdc"]) {
      assert.match(error(spec), /CD-ROM drives are not supported/, spec);
    }
  });

  it("names Xen's parameters, flags and script prefixes that rvisor does not support", () => {
    assert.match(error("/a,,xvda,backend=dom1"), /"backend=" is Xen's but rvisor does not support it/);
    assert.match(error("/a,,xvda,script=block-iscsi"), /"script="/);
    assert.match(error("/a,,xvda,discard"), /"discard" is Xen's/);
    assert.match(error("iscsi:iqn.x,xvda,w"), /block script/);
  });

  it("refuses unknown parameters and prefixes", () => {
    assert.match(error("/a,,xvda,speed=9"), /unknown parameter "speed="/);
    assert.match(error("weird:/a,xvda,w"), /unknown disk prefix "weird:"/);
    assert.match(error("/a,,xvda,devtype=floppy"), /unknown devtype "floppy"/);
    assert.match(error("/a,,xvda:tape"), /unknown device type "tape"/);
  });

  it("refuses a parameter given twice, and extra positionals", () => {
    assert.match(error("/a,raw,xvda,rw,vdev=xvdb"), /vdev given twice/);
    assert.match(error("/a,raw,xvda,format=raw"), /format given twice/);
    // After format=, the next positionals are target then vdev, as in libxlu: "raw" lands in vdev.
    assert.match(error("format=raw,/a,raw,xvda"), /vdev "raw"/);
    assert.match(error("/a,raw,xvda,rw,extra"), /too many positional parameters at "extra"/);
    assert.match(error("/a,,xvda,rwx"), /unknown access "rwx"/);
  });

  it("refuses '=' in a positional parameter", () => {
    assert.match(error("/a,,xvda,Bad=1"), /cannot read "Bad=1"/);
  });

  it("formats to the keyword form it reads back", () => {
    const d = { target: "/x/a, b.img", format: "raw" as const, vdev: "xvdc", access: "ro" as const };
    assert.equal(formatDiskSpec(d), "format=raw, vdev=xvdc, access=ro, target=/x/a, b.img");
    assert.deepEqual(disk(formatDiskSpec(d)), d);
  });
});
