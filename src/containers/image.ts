/**
 * A minimal image for tests and benchmarks: Debian's busybox-static with a symlink per applet in /bin.
 */

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

export const BUSYBOX = "/bin/busybox";

/** Makes `<parent>/image` (bin, proc, dev, tmp, etc, root) and returns its path. */
export function makeBusyboxRootfs(parent: string): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  const root = join(parent, "image");
  for (const d of ["bin", "proc", "dev", "tmp", "etc", "root"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
  chmodSync(join(root, "bin", "busybox"), 0o755);
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  return root;
}
