/**
 * `rvisor disk`: disk images for domains, as qemu-img makes and describes them (no daemon needed).
 *
 *   rvisor disk create [-f raw|qcow2] [-b BACKING [-F raw|qcow2]] [-o OPTIONS] FILE [SIZE]
 *       a sparse raw image, or an empty qcow2 image; with -b a copy-on-write overlay over BACKING (stored
 *       as written: a relative name is relative to FILE's directory). The format is qcow2 with -b, raw
 *       without (qemu-img's default is raw, which refuses -b). SIZE is bytes or k/M/G/T (binary units);
 *       with -b it defaults to the backing file's size. -F defaults to the probed format, which is
 *       recorded. OPTIONS: cluster_size=N, compat=1.1|0.10 (qcow2 version 3 or 2), refcount_bits=N.
 *   rvisor disk info [-f raw|qcow2] [--json] FILE
 *       format, virtual size, disk size, cluster size, allocated clusters, and the backing chain
 *       (each backing file in turn, as `qemu-img info --backing-chain`); the format is probed unless -f.
 */
import type { Command } from "commander";
import { BlockBackendError } from "../hypervisor/virtio/block-backend.js";
import {
  type DiskFormat,
  type DiskInfo,
  describeDiskImage,
  isDiskFormat,
} from "../hypervisor/virtio/disk-image.js";
import { type CreateOptions, createDiskImage } from "../hypervisor/virtio/qcow2-create.js";
import { UsageError } from "./options.js";

type Action = <A extends unknown[]>(
  body: (...args: A) => Promise<number> | number,
) => (...args: A) => Promise<void>;

const SIZE_SUFFIX: Record<string, number> = { "": 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** A size as qemu-img reads one: bytes, or a number with a k/M/G/T suffix (binary units). */
export function parseImageSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)\s*$/i.exec(text);
  const bytes = m === null ? Number.NaN : Number(m[1]) * SIZE_SUFFIX[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes))
    throw new UsageError(`size must be bytes or a number with a k, M, G or T suffix, got '${text}'`);
  return bytes;
}

function format(text: string | undefined, option: string): DiskFormat | undefined {
  if (text === undefined) return undefined;
  if (!isDiskFormat(text)) throw new UsageError(`${option} must be raw or qcow2, got '${text}'`);
  return text;
}

/** `-o cluster_size=65536,compat=1.1,refcount_bits=16`, as qemu-img spells them. */
export function parseCreateOptions(text: string): Partial<CreateOptions> {
  const o: Partial<CreateOptions> = {};
  for (const item of text.split(",").filter((s) => s !== "")) {
    const [key, value = ""] = item.split("=", 2) as [string, string?];
    if (key === "cluster_size") o.clusterSize = parseImageSize(value);
    else if (key === "refcount_bits") o.refcountBits = parseImageSize(value);
    else if (key === "compat") {
      const compat = value === "v3" ? "1.1" : value === "v2" ? "0.10" : value;
      if (compat !== "1.1" && compat !== "0.10")
        throw new UsageError(`-o compat must be 1.1 (v3) or 0.10 (v2), got '${value}'`);
      o.compat = compat;
    } else throw new UsageError(`-o ${key}: unknown option (cluster_size, compat, refcount_bits)`);
  }
  return o;
}

function human(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${Number.isInteger(v) ? v : v.toFixed(2)} ${units[u]}`;
}

/** One image's description in qemu-img info's words; the chain follows, one image after another. */
export function formatDiskInfo(info: DiskInfo): string {
  const lines: string[] = [];
  for (let i: DiskInfo | undefined = info; i !== undefined; i = i.backing) {
    if (i !== info) lines.push("");
    lines.push(`image: ${i.filename}`, `file format: ${i.format}`);
    lines.push(
      `virtual size: ${human(i.virtualSize)} (${i.virtualSize} bytes)`,
      `disk size: ${human(i.diskSize)}`,
    );
    if (i.clusterSize !== undefined) lines.push(`cluster_size: ${i.clusterSize}`);
    if (i.backingFile !== undefined) {
      const actual =
        i.fullBackingFilename !== i.backingFile ? ` (actual path: ${i.fullBackingFilename})` : "";
      lines.push(`backing file: ${i.backingFile}${actual}`);
      if (i.backingFormat !== undefined) lines.push(`backing file format: ${i.backingFormat}`);
    }
    if (i.allocatedClusters !== undefined && i.clusterSize !== undefined) {
      const total = Math.ceil(i.virtualSize / i.clusterSize);
      lines.push(
        `allocated: ${i.allocatedClusters}/${total} clusters (${human(i.allocatedClusters * i.clusterSize)})` +
          (i.zeroClusters ? `, ${i.zeroClusters} zero clusters` : ""),
      );
    }
    if (i.compat !== undefined) {
      lines.push("Format specific information:", `    compat: ${i.compat}`);
      lines.push(`    lazy refcounts: ${i.lazyRefcounts}`, `    refcount bits: ${i.refcountBits}`);
      lines.push(`    corrupt: ${i.corrupt}`, `    dirty: ${i.dirty}`);
      if (i.snapshots) lines.push(`    internal snapshots: ${i.snapshots}`);
    }
    if (i.unsupported !== undefined) lines.push(`rvisor cannot use it: ${i.unsupported}`);
  }
  return `${lines.join("\n")}\n`;
}

export function registerDiskCommands(program: Command, action: Action): void {
  const disk = program.command("disk").description("make and describe disk images (raw, qcow2 overlays)");
  disk
    .command("create")
    .description("create a raw image or a qcow2 image, with -b a copy-on-write overlay over a backing file")
    .argument("<file>", "the new image (overwritten if it exists, as qemu-img does)")
    .argument("[size]", "virtual size: bytes or k, M, G, T (default with -b: the backing file's)")
    .option("-f <format>", "raw or qcow2 (default: qcow2 with -b, raw without)")
    .option("-b <backing>", "the backing file (relative to the new image's directory unless absolute)")
    .option("-F <format>", "the backing file's format, raw or qcow2 (default: probed, then recorded)")
    .option("-o <options>", "cluster_size=N, compat=1.1|0.10, refcount_bits=N")
    .option("--json", "print what was made as JSON")
    .action(
      action(
        (
          file: string,
          size: string | undefined,
          o: { f?: string; b?: string; F?: string; o?: string; json?: boolean },
        ) => {
          if (o.F !== undefined && o.b === undefined) throw new UsageError("-F needs -b");
          const opts: CreateOptions = {
            format: format(o.f, "-f") ?? (o.b === undefined ? "raw" : "qcow2"),
            ...(o.o === undefined ? {} : parseCreateOptions(o.o)),
            ...(size === undefined ? {} : { size: parseImageSize(size) }),
            ...(o.b === undefined ? {} : { backingFile: o.b }),
            ...(o.F === undefined ? {} : { backingFormat: format(o.F, "-F") }),
          };
          if (opts.format === "raw" && o.o !== undefined) throw new UsageError("-o applies to qcow2 images");
          const made = imageErrors(() => createDiskImage(file, opts));
          if (o.json) process.stdout.write(`${JSON.stringify(made, null, 2)}\n`);
          else {
            const extra = [
              made.clusterSize === undefined ? "" : ` cluster_size=${made.clusterSize}`,
              ` size=${made.size}`,
              made.backingFile === undefined ? "" : ` backing_file=${made.backingFile}`,
              made.backingFormat === undefined ? "" : ` backing_fmt=${made.backingFormat}`,
              made.compat === undefined ? "" : ` compat=${made.compat} refcount_bits=${made.refcountBits}`,
            ];
            process.stdout.write(`Formatting '${file}', fmt=${made.format}${extra.join("")}\n`);
          }
          return 0;
        },
      ),
    );
  disk
    .command("info")
    .description("describe an image: format, sizes, allocated clusters, and its backing chain")
    .argument("<file>", "the image")
    .option("-f <format>", "raw or qcow2 (default: probed)")
    .option("--json", "print the description (the chain nested under 'backing') as JSON")
    .action(
      action((file: string, o: { f?: string; json?: boolean }) => {
        const info = imageErrors(() => describeDiskImage(file, format(o.f, "-f")));
        process.stdout.write(o.json ? `${JSON.stringify(info, null, 2)}\n` : formatDiskInfo(info));
        return 0;
      }),
    );
}

/** An image that cannot be made or read is bad input: its message, exit status 2. */
function imageErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BlockBackendError) throw new UsageError(e.message);
    throw e;
  }
}
