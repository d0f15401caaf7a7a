/**
 * rvisor's xl.cfg-style domain configs — the toolstack's one import:
 *
 *   loadDomainConfigFile(path)     a file → { config: DomainConfig, warnings }
 *   parseDomainConfig(text, opts)  the same for text (API requests, stored configs)
 *   printConfig(config)            DomainConfig → xl.cfg text that reads back the same
 *   resolveCpuSet(set, pcpus)      a `cpus` set → pCPU numbers once the host is known
 *
 * Pipeline: lexer.ts → parser.ts (syntax tree, ast.ts) → validate.ts (keys.ts, cpulist.ts,
 * disk-spec.ts, vif-spec.ts) → DomainConfig (domain-config.ts). Errors: errors.ts.
 *
 * What an xl user will miss here: Xen's other keys (refused by name, with a reason: keys.ts), `pvh`,
 * ramdisk/cmdline, NUMA (`node:` in CPU lists, vnuma), soft affinity (`cpus_soft`), disk formats other
 * than raw, CD-ROMs, block scripts, and vif keys beyond mac and bridge. Python-era syntax (unquoted
 * words, `-`, `.`) is refused as xl refuses it, but with a message that says why.
 */
export type { ConfigFile, Value } from "./ast.js";
export { formatCpuSet, parseCpuList, resolveCpuSet } from "./cpulist.js";
export * from "./domain-config.js";
export { ConfigError, type ConfigProblem, formatProblem, type Position } from "./errors.js";
export { RVISOR_KEYS, XEN_ONLY_KEYS } from "./keys.js";
export { loadDomainConfigFile, type ParseOptions, parseDomainConfig } from "./load.js";
export { parseConfigText } from "./parser.js";
export { printConfig } from "./print.js";
export { domainNameProblem, type ValidatedConfig } from "./validate.js";
export { vbdDevid } from "./vdev.js";
export { generateMac, parseMac } from "./vif-spec.js";
