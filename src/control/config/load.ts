/**
 * The config front door for the toolstack: text or file in, DomainConfig out.
 *
 *   parseDomainConfig(text, { file, baseDir })   text → tokens (lexer) → tree (parser) → DomainConfig (validate)
 *   loadDomainConfigFile(path)                   the same for a file; relative paths resolve next to it
 *
 * Both throw ConfigError listing every problem as `file:line: key: message`.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseConfigText } from "./parser.js";
import { type ValidatedConfig, validateConfig } from "./validate.js";

export interface ParseOptions {
  /** The name errors use; defaults to "<config>". */
  readonly file?: string;
  /** Directory relative kernel and disk paths resolve against; defaults to the current directory. */
  readonly baseDir?: string;
  /** Random bytes for generated MACs (tests). */
  readonly random?: () => Uint8Array;
}

export function parseDomainConfig(text: string, options: ParseOptions = {}): ValidatedConfig {
  const ast = parseConfigText(text, options.file ?? "<config>");
  return validateConfig(ast, {
    baseDir: options.baseDir ?? process.cwd(),
    ...(options.random ? { random: options.random } : {}),
  });
}

/** Reads and validates a config file. Errors name the file as given, relative paths resolve beside it. */
export function loadDomainConfigFile(path: string, random?: () => Uint8Array): ValidatedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read the config file: ${(e as Error).message}`);
  }
  return parseDomainConfig(text, {
    file: path,
    baseDir: dirname(resolve(path)),
    ...(random ? { random } : {}),
  });
}
