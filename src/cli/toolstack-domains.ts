/**
 * xl's small domain verbs and device listings, over rvisord's API (client.ts):
 *
 *   rvisor uptime [-s] [dom…]               Name ID Uptime, since each domain was created or restored
 *                                           (Domain-0: since the daemon started); -s: xl's short form
 *   rvisor domid <name>                     the id of a running domain
 *   rvisor domname <id>                     the name of the domain with that id
 *   rvisor rename <dom> <new-name>          its definition, the store's name nodes, the running domain
 *   rvisor block-list <dom…> [--json]       Vdev BE handle state evt-ch ring-ref BE-path (from the store)
 *   rvisor network-list <dom…> [--json]     Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path
 *
 * The listings read what rvisord wrote in the store (device-tree.ts). The devices are virtio-mmio, not
 * Xen split drivers: they have no event channel and no grant references, so evt-ch and the ring-refs
 * are -1, as xl prints a node that is absent; `handle` in block-list is the frontend's domain id, as
 * xl prints it.
 */
import type { Command } from "commander";
import type { BlockDevice, DomainInfo, NetworkDevice } from "../control/daemon/api.js";
import { DaemonApiError, type RvisordClient } from "../control/daemon/client.js";
import { CONTROL_DOMAIN } from "../hypervisor/hypervisor.js";
import { UsageError } from "./options.js";
import { type CommandContext, json, type SocketOption } from "./toolstack-context.js";

/** xl uptime's figure: "1 day,  2:03:04", "3 days, 10:00:00" or " 0:01:05" (the short form: no seconds). */
export function formatUptime(seconds: number, short = false): string {
  let t = Math.max(0, Math.floor(seconds));
  const day = Math.floor(t / 86400);
  t -= day * 86400;
  const hour = Math.floor(t / 3600);
  t -= hour * 3600;
  const min = Math.floor(t / 60);
  const sec = t - min * 60;
  const two = (n: number) => String(n).padStart(2, "0");
  const clock = `${String(hour).padStart(2)}:${two(min)}${short ? "" : `:${two(sec)}`}`;
  return day === 0 ? clock : `${day} day${day > 1 ? "s" : ""}, ${clock}`;
}

const left = (v: string | number, n: number) => String(v).padEnd(n);

/** `xl block-list`'s table (its printf widths; trailing blanks cut). */
export function formatBlockList(rows: readonly BlockDevice[]): string {
  const line = (cells: (string | number)[]) =>
    `${[left(cells[0]!, 5), left(cells[1]!, 3), left(cells[2]!, 6), left(cells[3]!, 5), left(cells[4]!, 6), left(cells[5]!, 8), cells[6]].join(" ").trimEnd()}\n`;
  return [
    line(["Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path"]),
    ...rows.map((r) =>
      line([r.devid, r.backendId, r.frontendId, r.state, r.evtch, r.ringRef, r.backendPath]),
    ),
  ].join("");
}

/** `xl network-list`'s table (its printf widths; trailing blanks cut). */
export function formatNetworkList(rows: readonly NetworkDevice[]): string {
  const header = `${left("Idx", 3)} ${left("BE", 2)} ${left("Mac Addr.", 17)} ${left("handle", 6)} ${left("state", 5)} ${left("evt-ch", 6)} ${"tx-".padStart(5)}/${left("rx-ring-ref", 5)} BE-path\n`;
  return [
    header,
    ...rows.map(
      (r) =>
        `${left(r.idx, 3)} ${left(r.backendId, 2)} ${left(r.mac, 17)} ${String(r.handle).padStart(6)} ` +
        `${String(r.state).padStart(5)} ${String(r.evtch).padStart(6)} ${String(r.txRingRef).padStart(5)}/` +
        `${left(r.rxRingRef, 11)} ${r.backendPath}`.trimEnd() +
        "\n",
    ),
  ].join("");
}

/** `xl uptime`'s lines for domains with a start time (ms since the epoch). */
export function formatUptimes(
  rows: readonly { name: string; id: number; startTime: number }[],
  now: number,
  short: boolean,
): string {
  if (short) {
    const clock = new Date(now).toTimeString().slice(0, 8);
    return rows
      .map((r) => ` ${clock} up ${formatUptime((now - r.startTime) / 1000, true)}, ${r.name} (${r.id})\n`)
      .join("");
  }
  return [
    `${left("Name", 33)} ${"ID".padStart(4)} Uptime\n`,
    ...rows.map(
      (r) => `${left(r.name, 33)} ${String(r.id).padStart(4)} ${formatUptime((now - r.startTime) / 1000)}\n`,
    ),
  ].join("");
}

/** Each domain's rows, in order; a domain the daemon refuses is said on stderr and skipped (as xl). */
async function perDomain<T>(
  doms: readonly string[],
  get: (dom: string) => Promise<T[]>,
): Promise<{ rows: T[]; failed: boolean }> {
  const rows: T[] = [];
  let failed = false;
  for (const dom of doms) {
    try {
      rows.push(...(await get(dom)));
    } catch (e) {
      if (!(e instanceof DaemonApiError)) throw e;
      process.stderr.write(`rvisor: ${dom}: ${e.message}\n`);
      failed = true;
    }
  }
  return { rows, failed };
}

export function registerDomainCommands(program: Command, ctx: CommandContext): void {
  const { verb, socketHelp, client } = ctx;
  const out = ctx.out ?? ((t: string) => process.stdout.write(t));

  program
    .command("uptime")
    .description("how long each domain has been up, since it was created or restored (xl uptime)")
    .argument("[dom...]", "domains (names or ids); default: Domain-0 and every live domain")
    .option("-s, --short", "xl's short form: ' HH:MM:SS up …, name (id)'")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (doms: string[], o: SocketOption & { short?: boolean }) => {
        const c = client(o);
        const [host, list] = await Promise.all([c.info(), c.list()]);
        const dom0 = { name: CONTROL_DOMAIN.name, id: CONTROL_DOMAIN.id, startTime: host.startTime };
        const up = (d: DomainInfo) =>
          d.id === null || d.startTime === undefined
            ? []
            : [{ name: d.name, id: d.id, startTime: d.startTime }];
        let rows: { name: string; id: number; startTime: number }[];
        let failed = false;
        if (doms.length === 0) rows = [dom0, ...list.filter((d) => d.id !== 0).flatMap(up)];
        else {
          rows = [];
          for (const dom of doms) {
            const d = list.find((x) => x.name === dom || (x.id !== null && String(x.id) === dom));
            const row = d?.id === 0 ? [dom0] : d === undefined ? [] : up(d);
            if (row.length === 0) {
              process.stderr.write(
                `rvisor: ${dom}: ${d === undefined ? "no such domain" : "not running (it is stopped)"}\n`,
              );
              failed = true;
            }
            rows.push(...row);
          }
        }
        out(formatUptimes(rows, Date.now(), o.short === true));
        return failed ? 1 : 0;
      }),
    );

  program
    .command("domid")
    .description("the id of a running domain, by name (xl domid)")
    .argument("<name>", "the domain's name")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (name: string, o: SocketOption) => {
        if (name === CONTROL_DOMAIN.name) {
          out(`${CONTROL_DOMAIN.id}\n`);
          return 0;
        }
        const d = await client(o).domain(name);
        if (d.id === null) {
          process.stderr.write(`rvisor: ${name} is not running (it is stopped): it has no id\n`);
          return 1;
        }
        out(`${d.id}\n`);
        return 0;
      }),
    );

  program
    .command("domname")
    .description("the name of the domain with an id (xl domname)")
    .argument("<id>", "a domain id")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (id: string, o: SocketOption) => {
        if (!/^\d+$/.test(id)) throw new UsageError(`domname takes a domain id (a number), got '${id}'`);
        out(
          `${Number(id) === CONTROL_DOMAIN.id ? CONTROL_DOMAIN.name : (await client(o).domain(id)).name}\n`,
        );
        return 0;
      }),
    );

  program
    .command("rename")
    .description(
      "give a domain a new name: its definition, the store's name nodes, the running domain (xl rename)",
    )
    .argument("<dom>", "the domain's name or id")
    .argument("<new-name>", "the new name (the config's name rules: letters, digits, _ . : -)")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, name: string, o: SocketOption) => {
        await client(o).rename(dom, name);
        return 0;
      }),
    );

  // xl block-list / network-list: the same verb over two kinds of device.
  const deviceList = <T>(
    name: string,
    description: string,
    fetch: (c: RvisordClient, dom: string) => Promise<T[]>,
    format: (rows: T[]) => string,
  ) =>
    program
      .command(name)
      .description(description)
      .argument("<dom...>", "domains (names or ids)")
      .option("--json", "as JSON")
      .option("--socket <path>", socketHelp)
      .action(
        verb(async (doms: string[], o: SocketOption & { json?: boolean }) => {
          const c = client(o);
          const { rows, failed } = await perDomain(doms, (d) => fetch(c, d));
          out(o.json ? json(rows) : format(rows));
          return failed ? 1 : 0;
        }),
      );
  deviceList(
    "block-list",
    "a domain's disks as the store describes them (xl block-list)",
    (c, d) => c.blockDevices(d),
    formatBlockList,
  );
  deviceList(
    "network-list",
    "a domain's vifs as the store describes them (xl network-list)",
    (c, d) => c.networkDevices(d),
    formatNetworkList,
  );
}
