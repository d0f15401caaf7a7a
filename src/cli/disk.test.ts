/**
 * `rvisor disk create` and `rvisor disk info` as a person runs them: overlays qemu-img reads as what was
 * asked for, info that agrees with qemu-img's (format, sizes, backing chain, allocated clusters), JSON
 * for scripts, and bad input answered with one line and status 2.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openDiskImage } from "../hypervisor/virtio/disk-image.js";
import { noQemuImg, qemuImgInfo } from "../testing/qemu-img.js";
import { parseCreateOptions, parseImageSize } from "./disk.js";

const mainJs = join(dirname(fileURLToPath(import.meta.url)), "main.js");
const dir = mkdtempSync(join(tmpdir(), "rvisor-disk-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function rvisor(...args: string[]) {
  const r = spawnSync(process.execPath, [mainJs, "disk", ...args], { cwd: dir, encoding: "utf8" });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe("rvisor disk", () => {
  it("reads sizes and -o options as qemu-img does", () => {
    assert.equal(parseImageSize("512"), 512);
    assert.equal(parseImageSize("64k"), 65536);
    assert.equal(parseImageSize("1.5M"), 1.5 * 2 ** 20);
    assert.equal(parseImageSize("2G"), 2 ** 31);
    assert.throws(() => parseImageSize("12q"), /size must be bytes or a number with a k, M, G or T suffix/);
    assert.deepEqual(parseCreateOptions("cluster_size=4k,compat=0.10,refcount_bits=16"), {
      clusterSize: 4096,
      compat: "0.10",
      refcountBits: 16,
    });
    assert.throws(() => parseCreateOptions("preallocation=full"), /-o preallocation: unknown option/);
  });

  it("creates a raw image and a qcow2 overlay over it, and describes the chain", () => {
    const raw = rvisor("create", "base.img", "1M");
    assert.equal(raw.status, 0, raw.stderr);
    assert.equal(raw.stdout, "Formatting 'base.img', fmt=raw size=1048576\n");
    assert.equal(statSync(join(dir, "base.img")).size, 1048576);
    const made = rvisor("create", "-b", "base.img", "overlay.qcow2");
    assert.equal(made.status, 0, made.stderr);
    assert.equal(
      made.stdout,
      "Formatting 'overlay.qcow2', fmt=qcow2 cluster_size=65536 size=1048576 backing_file=base.img backing_fmt=raw compat=1.1 refcount_bits=16\n",
    );
    const d = openDiskImage(join(dir, "overlay.qcow2"), "qcow2", false);
    d.write(65536 + 10, Buffer.from("written"));
    d.close();
    const info = rvisor("info", "overlay.qcow2");
    assert.equal(info.status, 0, info.stderr);
    assert.match(
      info.stdout,
      /^image: overlay\.qcow2\nfile format: qcow2\nvirtual size: 1 MiB \(1048576 bytes\)\ndisk size: .*\ncluster_size: 65536\nbacking file: base\.img\nbacking file format: raw\nallocated: 1\/16 clusters \(64 KiB\)\nFormat specific information:\n {4}compat: 1\.1\n {4}lazy refcounts: false\n {4}refcount bits: 16\n {4}corrupt: false\n {4}dirty: false\n\nimage: base\.img\nfile format: raw\nvirtual size: 1 MiB \(1048576 bytes\)\n/,
    );
    const json = JSON.parse(rvisor("info", "--json", "overlay.qcow2").stdout);
    assert.equal(json.format, "qcow2");
    assert.equal(json.allocatedClusters, 1);
    assert.deepEqual([json.backing.filename, json.backing.format], ["base.img", "raw"]);
  });

  it("makes what qemu-img reads back: options, version 2, an explicit size over a qcow2 backing file", {
    skip: noQemuImg(),
  }, () => {
    assert.equal(
      rvisor("create", "-f", "qcow2", "-o", "cluster_size=4096,compat=0.10", "mid.qcow2", "2M").status,
      0,
    );
    const top = rvisor(
      "create",
      "--json",
      "-f",
      "qcow2",
      "-b",
      "mid.qcow2",
      "-F",
      "qcow2",
      "top.qcow2",
      "3M",
    );
    assert.equal(top.status, 0, top.stderr);
    assert.deepEqual(JSON.parse(top.stdout), {
      filename: "top.qcow2",
      format: "qcow2",
      size: 3 * 2 ** 20,
      clusterSize: 65536,
      compat: "1.1",
      refcountBits: 16,
      backingFile: "mid.qcow2",
      backingFormat: "qcow2",
    });
    const mid = qemuImgInfo(join(dir, "mid.qcow2")) as Record<string, unknown> & {
      "format-specific": { data: { compat: string } };
    };
    assert.deepEqual(
      [mid["virtual-size"], mid["cluster-size"], mid["format-specific"].data.compat],
      [2 ** 21, 4096, "0.10"],
    );
    const q = qemuImgInfo(join(dir, "top.qcow2"));
    assert.deepEqual(
      [q["virtual-size"], q["backing-filename"], q["backing-filename-format"]],
      [3 * 2 ** 20, "mid.qcow2", "qcow2"],
    );
  });

  it("answers bad input with one line and status 2", () => {
    writeFileSync(join(dir, "plain.raw"), Buffer.alloc(4096));
    const cases: [string[], RegExp][] = [
      [["create", "x.qcow2"], /^rvisor: disk image x\.qcow2: a size is needed/],
      [["create", "-f", "raw", "-b", "plain.raw", "x.img"], /a raw image has no backing file/],
      [["create", "-f", "vmdk", "x.vmdk", "1M"], /-f must be raw or qcow2, got 'vmdk'/],
      [["create", "-b", "missing.raw", "x.qcow2"], /backing file missing\.raw: no such file/],
      [["create", "-f", "qcow2", "x.qcow2", "1000"], /size 1000 must be a multiple of 512 bytes/],
      [
        ["create", "-f", "qcow2", "-o", "cluster_size=1000", "x.qcow2", "1M"],
        /cluster size 1000 must be a power of two/,
      ],
      [["create", "-b", "x.qcow2", "x.qcow2"], /the backing file cannot be the image itself/],
      [["create", "nodir/x.img", "1M"], /disk image nodir\/x\.img: no such directory/],
      [["info", "nothing.qcow2"], /^rvisor: disk image nothing\.qcow2: no such file$/m],
      [["info", "-f", "qcow2", "plain.raw"], /plain\.raw: not a qcow2 image/],
    ];
    for (const [args, message] of cases) {
      const r = rvisor(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });
});
