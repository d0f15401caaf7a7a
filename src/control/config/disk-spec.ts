/**
 * Disk specs, as xl-disk-configuration(5) defines them and libxlu's disk scanner
 * (tools/libs/util/libxlu_disk_l.l) reads them: comma-separated parameters, each either
 *
 *   key=value        format=raw  vdev=xvda  access=rw  devtype=disk  (and Xen's others, refused below)
 *   flag             cdrom  discard  no-discard  direct-io-safe  …
 *   target=…         the image path; eats the rest of the spec, commas included, so it comes last
 *   positional       assigned in order to the parameters not yet given: target, format, vdev, access
 *   prefix:          deprecated xend prefixes before the target: raw: qcow2: vhd: set the format;
 *                    file: phy: tap: tap2: aio: ioemu: tapdisk: are stripped; after one, the next
 *                    positional is the vdev (the old "phy:/dev/vg/lv,xvda,w" form)
 *
 * So these are the same disk:
 *   '/srv/guest.img,raw,xvda,rw'   '/srv/guest.img,,xvda'   'format=raw, vdev=xvda, access=rw, target=/srv/guest.img'
 *   'file:/srv/guest.img,xvda,w'
 *
 * Blanks before a parameter are ignored. An empty value means the default (format raw, access rw). A
 * parameter given twice with non-empty values is an error. rvisor serves raw images and qcow2 overlays
 * (with their backing chain) through a virtio-blk backend, so other formats, CD-ROMs, backend choices,
 * scripts and COLO are refused by name. As in Xen and QEMU the format is never guessed: "raw" serves a
 * file's bytes as they are, and a qcow2 target that is not one is refused when the domain is created.
 * The target is returned as written; the caller resolves it against the config file.
 */
import type { DiskConfig } from "./domain-config.js";
import { vbdDevid } from "./vdev.js";

export type DiskSpecResult = { ok: true; disk: DiskConfig } | { ok: false; error: string };

/** Xen knows these disk parameters; rvisor does not implement them. */
const XEN_ONLY_PARAMS = new Set([
  "backend",
  "backendtype",
  "specification",
  "script",
  "colo-host",
  "colo-port",
  "colo-export",
  "active-disk",
  "hidden-disk",
  "grant_usage",
]);
const XEN_ONLY_FLAGS = new Set([
  "direct-io-safe",
  "discard",
  "no-discard",
  "colo",
  "no-colo",
  "trusted",
  "untrusted",
]);
const FORMATS = new Set(["raw", "qcow2"]);
const XEN_FORMATS_OTHER = new Set(["qcow", "vhd", "qed", "empty"]);
const FORMAT_PREFIXES = /^(raw|qcow2?|vhd):/;
const SCRIPT_PREFIXES = /^(iscsi|e?nbd|drbd):/;
const IGNORED_PREFIXES = /^(tapdisk|tap2?|aio|ioemu|file|phy):/;
const UNKNOWN_PREFIX = /^[a-z][a-z0-9]*:(?=[^a-z0-9]|$)/;
/** Guest disk names rvisor accepts: Xen's xvd/hd/sd letter forms (xen-vbd-interface(7)). */
const VDEV_PATTERN = /^(xvd|hd|sd)[a-z]{1,3}$/;

export function parseDiskSpec(spec: string): DiskSpecResult {
  let target: string | undefined;
  let format: DiskConfig["format"] | "" | undefined;
  let vdev: string | undefined;
  let access: string | undefined;
  let hadPrefix = false;

  /** Xen's savestring: a second non-empty value is an error; an empty one may be replaced. */
  const save = (what: string, old: string | undefined, value: string): string => {
    if (old !== undefined && old !== "") throw new SpecError(`${what} given twice ("${old}" and "${value}")`);
    return value;
  };
  const setFormat = (value: string) => {
    if (value !== "" && !FORMATS.has(value)) {
      if (XEN_FORMATS_OTHER.has(value))
        throw new SpecError(`format "${value}": rvisor reads raw and qcow2 images only`);
      throw new SpecError(`unknown format "${value}" (rvisor reads raw and qcow2 images)`);
    }
    format = save("format", format, value) as DiskConfig["format"] | "";
  };
  const setVdev = (value: string) => {
    const colon = value.lastIndexOf(":");
    if (colon >= 0) {
      // The deprecated "<vdev>:<devtype>" positional form.
      const devtype = value.slice(colon + 1);
      value = value.slice(0, colon);
      if (devtype === "cdrom") throw new SpecError("CD-ROM drives are not supported by rvisor");
      if (devtype !== "disk") throw new SpecError(`unknown device type "${devtype}" after vdev`);
    }
    vdev = save("vdev", vdev, value);
  };

  try {
    let rest = spec;
    for (;;) {
      rest = rest.replace(/^[ \t\n]+/, "");
      if (rest === "") break;
      if (rest.startsWith("target=")) {
        target = save("target", target, rest.slice("target=".length).replace(/,$/, ""));
        break;
      }
      const keyValue = /^([a-z][-a-z0-9_]*)=([^,]*),?/.exec(rest);
      if (keyValue) {
        rest = rest.slice(keyValue[0].length);
        const [, key, value] = keyValue as unknown as [string, string, string];
        if (key === "format") setFormat(value);
        else if (key === "vdev") vdev = save("vdev", vdev, value);
        else if (key === "access") access = save("access", access, value);
        else if (key === "devtype") {
          if (value === "cdrom") throw new SpecError("CD-ROM drives are not supported by rvisor");
          if (value !== "disk") throw new SpecError(`unknown devtype "${value}"`);
        } else if (XEN_ONLY_PARAMS.has(key))
          throw new SpecError(`"${key}=" is Xen's but rvisor does not support it`);
        else throw new SpecError(`unknown parameter "${key}="`);
        continue;
      }
      const flag = /^([a-z][-a-z]*)(,|$)/.exec(rest);
      if (flag && (flag[1] === "cdrom" || XEN_ONLY_FLAGS.has(flag[1]!))) {
        if (flag[1] === "cdrom") throw new SpecError("CD-ROM drives are not supported by rvisor");
        throw new SpecError(`"${flag[1]}" is Xen's but rvisor does not support it`);
      }
      const formatPrefix = FORMAT_PREFIXES.exec(rest);
      if (formatPrefix) {
        setFormat(formatPrefix[1]!);
        hadPrefix = true;
        rest = rest.slice(formatPrefix[0].length);
        continue;
      }
      const scriptPrefix = SCRIPT_PREFIXES.exec(rest);
      if (scriptPrefix)
        throw new SpecError(`"${scriptPrefix[0]}" (a block script) is Xen's but rvisor does not support it`);
      const ignored = IGNORED_PREFIXES.exec(rest);
      if (ignored) {
        hadPrefix = true;
        rest = rest.slice(ignored[0].length);
        continue;
      }
      const unknown = UNKNOWN_PREFIX.exec(rest);
      if (unknown) throw new SpecError(`unknown disk prefix "${unknown[0]}"`);
      const param = rest.split(",")[0]!;
      if (param.includes("=")) {
        throw new SpecError(`cannot read "${param}" (a key is lower-case letters, digits, '-' and '_')`);
      }
      const positional = /^([^=,]*),|^([^=,]+)/.exec(rest)!;
      rest = rest.slice(positional[0].length);
      const value = positional[1] ?? positional[2]!;
      if (target === undefined) target = value;
      else if (!hadPrefix && format === undefined) setFormat(value);
      else if (vdev === undefined) setVdev(value);
      else if (access === undefined) access = value;
      else throw new SpecError(`too many positional parameters at "${value}"`);
    }
    if (target === undefined || target === "") throw new SpecError("no target (the image file's path)");
    if (vdev === undefined || vdev === "")
      throw new SpecError("no vdev (the guest's name for the disk, e.g. xvda)");
    if (!VDEV_PATTERN.test(vdev))
      throw new SpecError(`vdev "${vdev}": expected xvdX, hdX or sdX (X a letter)`);
    if (vbdDevid(vdev) === undefined)
      throw new SpecError(
        `vdev "${vdev}": Xen's block interface numbers sd disks up to sdp and hd disks up to hdd (xen-vbd-interface(7)); use xvd names`,
      );
    let mode: DiskConfig["access"];
    if (access === undefined || access === "" || access === "rw" || access === "w") mode = "rw";
    else if (access === "ro" || access === "r") mode = "ro";
    else throw new SpecError(`unknown access "${access}" (ro, r, rw or w)`);
    return { ok: true, disk: { target, format: format || "raw", vdev, access: mode } };
  } catch (e) {
    if (e instanceof SpecError) return { ok: false, error: e.message };
    throw e;
  }
}

class SpecError extends Error {}

/** A disk in the keyword form, target last so any character in the path survives. */
export function formatDiskSpec(disk: DiskConfig): string {
  return `format=${disk.format}, vdev=${disk.vdev}, access=${disk.access}, target=${disk.target}`;
}
