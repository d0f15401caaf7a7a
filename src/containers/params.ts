/**
 * Every default and limit of rvisor's container engine, in one place.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file (dist/containers/params.js or src/containers/params.ts). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where the engine keeps its database, container directories and checkpoints unless told otherwise. */
export const DEFAULT_ENGINE_ROOT = process.env.RVISOR_CTR_ROOT ?? "/var/lib/rvisor/ctr";

/** The C helper built by scripts/setup-containers.mjs from native/ctr-helper.c. */
export const HELPER_PATH =
  process.env.RVISOR_CTR_HELPER ?? join(REPO_ROOT, "build", "native", "rvisor-ctr-helper");

/** CRIU 4 built by scripts/setup-containers.mjs; a `criu` on PATH is used when this one is absent. */
export const BUILT_CRIU_PATH = process.env.RVISOR_CRIU ?? "/var/cache/rvisor/criu/bin/criu";

/** `stop` sends SIGTERM, then SIGKILL after this long (docker's default is 10 s). */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** CFS period used to turn `--cpus` into a quota. */
export const CFS_PERIOD_US = 100_000;

/** Private addresses for bridged containers; they exist only inside the engine's network namespace. */
export const BRIDGE_SUBNET = { prefix: "10.88", bits: 16, gateway: "10.88.0.1" } as const;
export const BRIDGE_NAME = "rv0";

/** The uid/gid range a user-namespaced container's root is mapped to on the host. */
export const USERNS_BASE = 100_000;
export const USERNS_SIZE = 65_536;

/** The name of the cgroup directory under each hierarchy that holds one engine's containers. */
export const CGROUP_PARENT = "rvisor";
