/**
 * Request payloads, as docs/misc/xenstore.txt lists them (`|` is a nul byte):
 *
 *     READ, DIRECTORY, GET_PERMS, MKDIR, RM   <path>|
 *     WRITE                                   <path>|<value, raw to the end>
 *     SET_PERMS                               <path>|<perm>|+
 *     WATCH, UNWATCH                          <path>|<token>|
 *     TRANSACTION_START, RESET_WATCHES        |   (or empty)
 *     TRANSACTION_END                         T|  or  F|
 *     INTRODUCE                               <domid>|<mfn>|<evtchn>|
 *     RELEASE, GET_DOMAIN_PATH,
 *     IS_DOMAIN_INTRODUCED, RESUME            <domid>|
 *     DIRECTORY_PART                          <path>|<offset>|
 *
 * parseRequest() turns a message into a typed request or throws a WireError saying which field of
 * which type is malformed; encodeRequest() is its inverse, for clients and for round-trip tests.
 */
import {
  concatBytes,
  nulStrings,
  takeStrings,
  typeName,
  WireError,
  type XsMessage,
  XsType,
  type XsTypeName,
} from "./wire.js";

export type Request =
  | { op: "READ" | "DIRECTORY" | "GET_PERMS" | "MKDIR" | "RM"; path: string }
  | { op: "WRITE"; path: string; value: Uint8Array }
  | { op: "SET_PERMS"; path: string; perms: string[] }
  | { op: "WATCH" | "UNWATCH"; path: string; token: string }
  | { op: "TRANSACTION_START" | "RESET_WATCHES" }
  | { op: "TRANSACTION_END"; commit: boolean }
  | { op: "INTRODUCE"; domid: number; mfn: number; evtchn: number }
  | { op: "RELEASE" | "GET_DOMAIN_PATH" | "IS_DOMAIN_INTRODUCED" | "RESUME"; domid: number }
  | { op: "DIRECTORY_PART"; path: string; offset: number };

function decimal(text: string, field: string, what: string, signed = false): number {
  if (!(signed ? /^-?\d{1,10}$/ : /^\d{1,10}$/).test(text))
    throw new WireError(`${what}: ${field} ${JSON.stringify(text)} is not a decimal number`, false);
  return Number(text);
}

function domidField(text: string, what: string): number {
  const n = decimal(text, "domid", what);
  if (n > 0xffff) throw new WireError(`${what}: domid ${n} is above 65535`, false);
  return n;
}

export function parseRequest(msg: XsMessage): Request {
  const op = typeName(msg.type)!;
  const what = `${op} request ${msg.reqId}`;
  const p = msg.payload;
  switch (op) {
    case "READ":
    case "DIRECTORY":
    case "GET_PERMS":
    case "MKDIR":
    case "RM":
      return { op, path: takeStrings(p, ["path"], what).strings[0]! };
    case "WRITE": {
      const { strings, rest } = takeStrings(p, ["path"], what);
      return { op, path: strings[0]!, value: rest.slice() };
    }
    case "SET_PERMS": {
      const { strings, rest } = takeStrings(p, ["path"], what);
      const perms: string[] = [];
      let tail = rest;
      while (tail.length > 0) {
        const r = takeStrings(tail, [`permission ${perms.length + 1}`], what);
        perms.push(r.strings[0]!);
        tail = r.rest;
      }
      if (perms.length === 0) throw new WireError(`${what}: no permissions after the path`, false);
      return { op, path: strings[0]!, perms };
    }
    case "WATCH":
    case "UNWATCH": {
      const [path, token] = takeStrings(p, ["path", "token"], what).strings;
      return { op, path: path!, token: token! };
    }
    case "TRANSACTION_START":
    case "RESET_WATCHES":
      return { op };
    case "TRANSACTION_END": {
      const flag = takeStrings(p, ["T/F flag"], what).strings[0];
      if (flag !== "T" && flag !== "F")
        throw new WireError(`${what}: flag ${JSON.stringify(flag)} is not T or F`, false);
      return { op, commit: flag === "T" };
    }
    case "INTRODUCE": {
      const [d, m, e] = takeStrings(p, ["domid", "mfn", "evtchn"], what).strings;
      // xenstore.txt: the mfn is sent in signed decimal.
      return {
        op,
        domid: domidField(d!, what),
        mfn: decimal(m!, "mfn", what, true),
        evtchn: decimal(e!, "evtchn", what),
      };
    }
    case "RELEASE":
    case "GET_DOMAIN_PATH":
    case "IS_DOMAIN_INTRODUCED":
    case "RESUME":
      return { op, domid: domidField(takeStrings(p, ["domid"], what).strings[0]!, what) };
    case "DIRECTORY_PART": {
      const [path, offset] = takeStrings(p, ["path", "offset"], what).strings;
      return { op, path: path!, offset: decimal(offset!, "offset", what) };
    }
    default:
      throw new WireError(`${what}: ${op} is not a request this store accepts`, false);
  }
}

const encoder = new TextEncoder();

export function requestPayload(req: Request): Uint8Array {
  switch (req.op) {
    case "READ":
    case "DIRECTORY":
    case "GET_PERMS":
    case "MKDIR":
    case "RM":
      return nulStrings([req.path]);
    case "WRITE":
      return concatBytes(nulStrings([req.path]), req.value);
    case "SET_PERMS":
      return nulStrings([req.path, ...req.perms]);
    case "WATCH":
    case "UNWATCH":
      return nulStrings([req.path, req.token]);
    case "TRANSACTION_START":
    case "RESET_WATCHES":
      return nulStrings([""]);
    case "TRANSACTION_END":
      return nulStrings([req.commit ? "T" : "F"]);
    case "INTRODUCE":
      return nulStrings([String(req.domid), String(req.mfn), String(req.evtchn)]);
    case "RELEASE":
    case "GET_DOMAIN_PATH":
    case "IS_DOMAIN_INTRODUCED":
    case "RESUME":
      return nulStrings([String(req.domid)]);
    case "DIRECTORY_PART":
      return encoder.encode(`${req.path}\0${req.offset}\0`);
  }
}

export function encodeRequest(req: Request, reqId: number, txId = 0): XsMessage {
  return { type: XsType[req.op as XsTypeName], reqId, txId, payload: requestPayload(req) };
}
