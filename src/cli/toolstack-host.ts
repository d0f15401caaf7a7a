/**
 * The toolstack's verbs for what happens to domains when rvisord stops and starts (the daemon's side
 * is control/daemon/host-lifecycle.ts), as libvirt's virsh and libvirt-guests give them:
 *
 *   rvisor start <dom> [--force-boot]  a stopped domain again; one the daemon's stop saved (listed
 *                                      "saved") goes on from its image, --force-boot discards the image
 *                                      and boots it afresh (virsh start after managedsave)
 *   rvisor autostart <dom> [on|off]    start (or restore) it when the daemon starts (virsh autostart)
 *   rvisor host-config [--on-stop save|shutdown|destroy] [--stop-timeout S]
 *                                      what the daemon's stop does with live domains; remembered
 *                                      (`rvisor daemon --on-stop …` sets the same at start)
 *
 * and `rvisor list --long`'s per-domain blocks (virsh dominfo: autostart, the saved image).
 */
import type { Command } from "commander";
import type { DomainInfo, HostSettings, OnStop } from "../control/daemon/api.js";
import { MAX_STOP_TIMEOUT_S, ON_STOP } from "../control/daemon/host-lifecycle.js";
import { MiB, UsageError } from "./options.js";
import type { CommandContext } from "./toolstack-context.js";

/** --on-stop's value. */
export function parseOnStop(text: string): OnStop {
  if (!ON_STOP.includes(text as OnStop))
    throw new UsageError(`--on-stop must be one of ${ON_STOP.join(", ")}, got '${text}'`);
  return text as OnStop;
}

/** --stop-timeout's value: seconds, more than 0. */
export function parseStopTimeout(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0) || n > MAX_STOP_TIMEOUT_S)
    throw new UsageError(
      `--stop-timeout must be seconds, more than 0 and at most ${MAX_STOP_TIMEOUT_S}, got '${text}'`,
    );
  return n;
}

export const formatHostSettings = (s: HostSettings): string =>
  `on_stop               : ${s.onStop}\nstop_timeout          : ${s.stopTimeoutS} s\n`;

/** `rvisor list --long`: one block per domain, as virsh dominfo prints one. */
export function formatLong(domains: readonly DomainInfo[]): string {
  return domains
    .map((d) => {
      const rows: [string, string | number][] = [
        ["Name", d.name],
        ["ID", d.id ?? "-"],
        ...(d.uuid !== undefined ? [["UUID", d.uuid] as [string, string]] : []),
        ["Mode", d.mode],
        ["State", d.state],
        ["Memory", `${d.memoryMiB} MiB${d.targetMiB !== undefined ? ` (target ${d.targetMiB} MiB)` : ""}`],
        [
          "VCPUs",
          d.maxVcpus !== undefined && d.maxVcpus !== d.vcpus ? `${d.vcpus} of ${d.maxVcpus}` : d.vcpus,
        ],
        ["CPU time", `${d.cpuTimeS.toFixed(1)} s`],
      ];
      if (d.autostart !== undefined) rows.push(["Autostart", d.autostart ? "enable" : "disable"]);
      if (d.autostart !== undefined) {
        const s = d.saved;
        rows.push([
          "Saved image",
          s === undefined
            ? "no"
            : `${s.path}, ${(s.bytes / MiB).toFixed(1)} MiB, saved ${s.savedAt}${s.paused ? ", paused" : ""}`,
        ]);
        if (s?.restoreError !== undefined) rows.push(["Restore failed", s.restoreError]);
      }
      if (d.end !== undefined)
        rows.push(["Last end", `${d.end.reason} (${d.end.state}, code ${d.end.code})`]);
      if (d.source !== undefined) rows.push(["Source", d.source]);
      return rows.map(([k, v]) => `${`${k}:`.padEnd(16)}${v}\n`).join("");
    })
    .join("\n");
}

export function registerHostCommands(program: Command, ctx: CommandContext): void {
  const { verb, socketHelp, client } = ctx;
  const out = ctx.out ?? ((t: string) => process.stdout.write(t));

  program
    .command("start")
    .description("start a stopped (defined) domain: a saved one goes on from its image, others boot")
    .argument("<dom>", "the domain's name or id")
    .option("--force-boot", "discard the image the daemon's stop saved and boot the domain afresh")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, o: { socket?: string; forceBoot?: boolean }) => {
        const c = client(o);
        const before = await c.domain(dom);
        const d = await c.start(dom, o.forceBoot === true);
        // Silent when it boots, as xl's verbs; a restore says from what.
        if (before.saved !== undefined && o.forceBoot !== true)
          process.stderr.write(
            `Restored ${d.name} (id ${d.id}, ${d.mode}, ${d.state}) from ${before.saved.path}, saved ${before.saved.savedAt}\n`,
          );
        return 0;
      }),
    );

  program
    .command("autostart")
    .description("start (or restore) a domain when rvisord starts (virsh autostart); off: not")
    .argument("<dom>", "the domain's name or id")
    .argument("[on|off]", "on (the default) or off")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, flag: string | undefined, o: { socket?: string }) => {
        const value = flag ?? "on";
        if (value !== "on" && value !== "off")
          throw new UsageError(`autostart takes on or off, got '${value}'`);
        const d = await client(o).autostart(dom, value === "on");
        out(`Domain ${d.name} ${d.autostart ? "marked as autostarted" : "unmarked as autostarted"}\n`);
        return 0;
      }),
    );

  program
    .command("host-config")
    .description("what rvisord's stop does with live domains (save, shutdown or destroy); remembered")
    .option("--on-stop <policy>", `${ON_STOP.join(", ")}`)
    .option("--stop-timeout <seconds>", "how long guests asked to power off get before they are destroyed")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (o: { socket?: string; onStop?: string; stopTimeout?: string; json?: boolean }) => {
        const change: Partial<HostSettings> = {};
        if (o.onStop !== undefined) change.onStop = parseOnStop(o.onStop);
        if (o.stopTimeout !== undefined) change.stopTimeoutS = parseStopTimeout(o.stopTimeout);
        const c = client(o);
        const s = Object.keys(change).length > 0 ? await c.setHostSettings(change) : await c.hostSettings();
        out(o.json ? `${JSON.stringify(s, null, 2)}\n` : formatHostSettings(s));
        return 0;
      }),
    );
}
