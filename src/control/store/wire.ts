/**
 * The xenstore wire format (xen/include/public/io/xs_wire.h), shared by the guest ring and sockets.
 *
 * Every message in either direction is a 16-byte header followed by `len` bytes of payload:
 *
 *     byte 0        4         8         12        16
 *          ┌─────────┬─────────┬─────────┬─────────┬───────────── ─ ─
 *          │  type   │ req_id  │  tx_id  │   len   │ payload (len bytes)
 *          └─────────┴─────────┴─────────┴─────────┴───────────── ─ ─
 *           uint32 each, in the machine's byte order: little-endian on RISC-V
 *
 * Payloads are nul-terminated strings, except a WRITE's value and a READ reply, which are raw bytes
 * running to the end of the payload. `len` is at most XENSTORE_PAYLOAD_MAX (4096); a client that sends
 * more has its connection dropped by xenstored, which is why decodeMessage() treats it as fatal.
 */
export const HEADER_SIZE = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;

/** enum xsd_sockmsg_type, in xs_wire.h's order (XS_DEBUG is now called XS_CONTROL). */
export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESTRICT: 20,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
} as const;

export type XsTypeName = keyof typeof XsType;
export type XsTypeCode = (typeof XsType)[XsTypeName];

const TYPE_NAMES = new Map<number, XsTypeName>(
  Object.entries(XsType).map(([name, code]) => [code, name as XsTypeName]),
);

export function typeName(code: number): XsTypeName | undefined {
  return TYPE_NAMES.get(code);
}

export interface XsMessage {
  readonly type: XsTypeCode;
  readonly reqId: number;
  readonly txId: number;
  readonly payload: Uint8Array;
}

/** A malformed message; `fatal` when xenstored would drop the connection rather than answer. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
    this.name = "WireError";
  }
}

export function encodeMessage(msg: XsMessage): Uint8Array {
  if (msg.payload.length > XENSTORE_PAYLOAD_MAX)
    throw new WireError(
      `${typeName(msg.type)} payload of ${msg.payload.length} bytes exceeds XENSTORE_PAYLOAD_MAX (${XENSTORE_PAYLOAD_MAX})`,
      true,
    );
  const out = new Uint8Array(HEADER_SIZE + msg.payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, msg.type, true);
  view.setUint32(4, msg.reqId >>> 0, true);
  view.setUint32(8, msg.txId >>> 0, true);
  view.setUint32(12, msg.payload.length, true);
  out.set(msg.payload, HEADER_SIZE);
  return out;
}

/**
 * Decodes the message at the start of `bytes`: the message and the bytes it used, or undefined when
 * more bytes must arrive first (a ring delivers messages in pieces). Throws a fatal WireError for a
 * length over the limit or an unknown type, since what follows cannot be trusted to be a message.
 */
export function decodeMessage(bytes: Uint8Array): { message: XsMessage; size: number } | undefined {
  if (bytes.length < HEADER_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint32(0, true);
  const len = view.getUint32(12, true);
  if (len > XENSTORE_PAYLOAD_MAX)
    throw new WireError(
      `message header at byte 0: len ${len} exceeds XENSTORE_PAYLOAD_MAX (${XENSTORE_PAYLOAD_MAX})`,
      true,
    );
  const name = typeName(type);
  if (name === undefined) throw new WireError(`message header at byte 0: unknown type ${type}`, true);
  if (bytes.length < HEADER_SIZE + len) return undefined;
  return {
    message: {
      type: XsType[name],
      reqId: view.getUint32(4, true),
      txId: view.getUint32(8, true),
      payload: bytes.slice(HEADER_SIZE, HEADER_SIZE + len),
    },
    size: HEADER_SIZE + len,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** `<s>|` for each string: the payload form of most requests and replies. */
export function nulStrings(strings: readonly string[]): Uint8Array {
  return encoder.encode(strings.map((s) => `${s}\0`).join(""));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Splits `count` nul-terminated strings off the front of `payload`; returns them and the rest.
 * A missing terminator is an error naming the message type and the field.
 */
export function takeStrings(
  payload: Uint8Array,
  fields: readonly string[],
  what: string,
): { strings: string[]; rest: Uint8Array } {
  const strings: string[] = [];
  let at = 0;
  for (const field of fields) {
    const end = payload.indexOf(0, at);
    if (end < 0) throw new WireError(`${what}: ${field} at payload byte ${at} is not nul-terminated`, false);
    strings.push(decoder.decode(payload.subarray(at, end)));
    at = end + 1;
  }
  return { strings, rest: payload.subarray(at) };
}

/** Every nul-terminated string in `payload` (`<s>|*`); trailing bytes without a nul are an error. */
export function allStrings(payload: Uint8Array, what: string): string[] {
  const strings: string[] = [];
  let at = 0;
  while (at < payload.length) {
    const end = payload.indexOf(0, at);
    if (end < 0) throw new WireError(`${what}: bytes from payload byte ${at} are not nul-terminated`, false);
    strings.push(decoder.decode(payload.subarray(at, end)));
    at = end + 1;
  }
  return strings;
}
