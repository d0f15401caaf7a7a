/**
 * What every group of toolstack verbs (toolstack-*.ts) gets from toolstack.ts when it registers its
 * commands: the wrapper that turns a verb's body into commander's action (exit codes, clear errors),
 * the --socket option's help, the client for a socket, and where output goes (tests give their own).
 */
import type { RvisordClient } from "../control/daemon/client.js";

export type Verb = <A extends unknown[]>(
  body: (...args: A) => Promise<number> | number,
) => (...args: A) => Promise<void>;

export interface CommandContext {
  verb: Verb;
  socketHelp: string;
  client: (o: { socket?: string }) => RvisordClient;
  /** Where output goes (tests give their own). */
  out?: (text: string) => void;
}

/** The --socket option every verb takes. */
export interface SocketOption {
  socket?: string;
}

/** A listing as --json prints it. */
export const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
