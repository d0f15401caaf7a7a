/**
 * Vif specs, as xl-network-configuration(5) defines them: comma-separated key=value pairs, all optional,
 * blanks around keys and values ignored; '' is a vif with every default.
 *
 *   mac=00:16:3e:74:3d:76    six two-digit hex groups separated by colons; when absent, one is generated
 *                            in Xen's OUI 00:16:3e with the next three bytes random and the top bit of
 *                            the fourth clear (libxl__device_nic_setdefault)
 *   bridge=xenbr0            the virtual switch in domain 0 (default xenbr0)
 *
 * A MAC with the multicast bit set (bit 0 of the first byte) cannot be an interface's address and is
 * refused. Xen's other vif keys (model, type, vifname, script, ip, backend, rate, devid, mtu, gatewaydev,
 * netdev) are refused by name.
 */
import { randomBytes } from "node:crypto";
import { DEFAULT_BRIDGE, type VifConfig, XEN_OUI } from "./domain-config.js";

export type VifSpecResult = { ok: true; vif: VifConfig } | { ok: false; error: string };

const XEN_ONLY_VIF_KEYS = new Set([
  "model",
  "type",
  "vifname",
  "script",
  "ip",
  "backend",
  "rate",
  "devid",
  "mtu",
  "gatewaydev",
  "netdev",
]);

/** Bridge names: what a Linux interface name may hold (at most 15 characters, no blanks or '/'). */
const BRIDGE_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;

/** Parses "aa:bb:cc:dd:ee:ff" to its canonical lower-case form, or returns an error. */
export function parseMac(text: string): { ok: true; mac: string } | { ok: false; error: string } {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) {
    return {
      ok: false,
      error: `MAC "${text}": expected six two-digit hex groups separated by ":", like 00:16:3e:12:34:56`,
    };
  }
  const first = Number.parseInt(text.slice(0, 2), 16);
  if (first & 1)
    return { ok: false, error: `MAC "${text}" is a multicast address (bit 0 of the first byte is set)` };
  if (/^(00:){5}00$/.test(text)) return { ok: false, error: `MAC "${text}" is all zeros` };
  return { ok: true, mac: text.toLowerCase() };
}

/** A MAC in Xen's OUI as libxl makes one; `random` supplies three bytes (tests pass their own). */
export function generateMac(random: () => Uint8Array = () => randomBytes(3)): string {
  const r = random();
  const bytes = [...XEN_OUI, r[0]! & 0x7f, r[1]!, r[2]!];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export function parseVifSpec(spec: string, random?: () => Uint8Array): VifSpecResult {
  let mac: string | undefined;
  let bridge: string | undefined;
  const seen = new Set<string>();
  for (const raw of spec.split(",")) {
    if (raw.trim() === "") continue;
    const eq = raw.indexOf("=");
    if (eq < 0) return { ok: false, error: `"${raw.trim()}" is not key=value` };
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    if (seen.has(key)) return { ok: false, error: `"${key}" given twice` };
    seen.add(key);
    if (key === "mac") {
      const parsed = parseMac(value);
      if (!parsed.ok) return parsed;
      mac = parsed.mac;
    } else if (key === "bridge") {
      if (!BRIDGE_PATTERN.test(value)) {
        return { ok: false, error: `bridge "${value}": 1 to 15 letters, digits, '_', '.' or '-'` };
      }
      bridge = value;
    } else if (XEN_ONLY_VIF_KEYS.has(key)) {
      return { ok: false, error: `"${key}=" is Xen's but rvisor does not support it` };
    } else {
      return { ok: false, error: `unknown parameter "${key}=" (rvisor takes mac and bridge)` };
    }
  }
  return { ok: true, vif: { mac: mac ?? generateMac(random), bridge: bridge ?? DEFAULT_BRIDGE } };
}

export function formatVifSpec(vif: VifConfig): string {
  return `mac=${vif.mac}, bridge=${vif.bridge}`;
}
