/**
 * One request message in, one reply message out: the store's side of the wire protocol, with no
 * transport. A reply copies the request's type, req_id and tx_id; a failure is an ERROR message whose
 * payload is the errno name (`ENOENT|`) with only req_id and tx_id copied (xenstore.txt). Watch events
 * are not replies: the transport drains Connection.takeEvents() and sends watchEventMessage() for each,
 * with req_id and tx_id 0.
 *
 * Reply payloads (`|` is a nul byte):
 *
 *     READ                 <value, raw>          DIRECTORY         <child>|*
 *     GET_PERMS            <perm>|+              TRANSACTION_START <id>|
 *     GET_DOMAIN_PATH      <path>|               IS_DOMAIN_INTRODUCED  T| or F|
 *     DIRECTORY_PART       <gencnt>|<child>|* and a final | at the end of the list
 *     everything else      OK|
 */
import type { Connection } from "./connection.js";
import type { XsErrno, XsResult } from "./errors.js";
import { formatPerm } from "./permissions.js";
import { parseRequest, type Request } from "./requests.js";
import type { WatchEvent } from "./watch.js";
import { concatBytes, nulStrings, WireError, XENSTORE_PAYLOAD_MAX, type XsMessage, XsType } from "./wire.js";

export function errorMessage(request: Pick<XsMessage, "reqId" | "txId">, errno: XsErrno): XsMessage {
  return { type: XsType.ERROR, reqId: request.reqId, txId: request.txId, payload: nulStrings([errno]) };
}

export function watchEventMessage(event: WatchEvent): XsMessage {
  return { type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: nulStrings([event.path, event.token]) };
}

const OK = nulStrings(["OK"]);

/**
 * Requests Xen defines that this store does not implement: CONTROL (daemon-specific debugging),
 * SET_TARGET and RESTRICT (stub-domain device models acting for a guest). They answer ENOSYS, which
 * tells a client "not here" rather than "you sent it wrong" (EINVAL).
 */
const UNSUPPORTED = new Set<number>([XsType.CONTROL, XsType.SET_TARGET, XsType.RESTRICT]);

function answer<T>(result: XsResult<T>, payload: (value: T) => Uint8Array): Uint8Array | XsErrno {
  return result.ok ? payload(result.value) : result.errno;
}

/**
 * DIRECTORY_PART's reply, as cxenstored builds it: `<gencnt>|` then as many whole children as fit
 * from byte `offset` of the DIRECTORY list, then one more `|` (an empty name) once the list's end is
 * reached. The client pages on until it gets that marker and retries if the generation changed.
 */
function directoryPart(d: { generation: number; children: readonly string[] }, offset: number): Uint8Array {
  const gen = nulStrings([String(d.generation)]);
  const list = nulStrings(d.children);
  if (offset >= list.length) return concatBytes(gen, new Uint8Array(1));
  const max = XENSTORE_PAYLOAD_MAX - gen.length - 1;
  let len = 0;
  while (offset + len < list.length) {
    const end = list.indexOf(0, offset + len);
    if (end - offset >= max) break;
    len = end - offset + 1;
  }
  const atEnd = offset + len === list.length;
  return concatBytes(gen, list.subarray(offset, offset + len), atEnd ? new Uint8Array(1) : new Uint8Array(0));
}

function perform(conn: Connection, req: Request, tx: number): Uint8Array | XsErrno {
  const done = () => OK;
  switch (req.op) {
    case "READ":
      return answer(conn.read(req.path, tx), (v) => v);
    case "DIRECTORY":
      return answer(conn.directory(req.path, tx), (names) => nulStrings(names));
    case "GET_PERMS":
      return answer(conn.getPerms(req.path, tx), (perms) => nulStrings(perms.map(formatPerm)));
    case "WRITE":
      return answer(conn.write(req.path, req.value, tx), done);
    case "MKDIR":
      return answer(conn.mkdir(req.path, tx), done);
    case "RM":
      return answer(conn.rm(req.path, tx), done);
    case "SET_PERMS":
      return answer(conn.setPerms(req.path, req.perms, tx), done);
    // xenstore.txt: "The tx_id in a WATCH request is ignored."
    case "WATCH":
      return answer(conn.watch(req.path, req.token), done);
    case "UNWATCH":
      return answer(conn.unwatch(req.path, req.token), done);
    case "RESET_WATCHES":
      return answer(conn.resetWatches(), done);
    case "TRANSACTION_START":
      // "It is not legal to send non-0 tx_id in TRANSACTION_START."
      if (tx !== 0) return "EBUSY";
      return answer(conn.transactionStart(), (id) => nulStrings([String(id)]));
    case "TRANSACTION_END":
      return answer(conn.transactionEnd(tx, req.commit), done);
    case "INTRODUCE":
      return answer(conn.introduce(req.domid, req.mfn, req.evtchn), done);
    case "RELEASE":
      return answer(conn.release(req.domid), done);
    case "GET_DOMAIN_PATH":
      return answer(conn.getDomainPath(req.domid), (path) => nulStrings([path]));
    case "IS_DOMAIN_INTRODUCED":
      return answer(conn.isDomainIntroduced(req.domid), (yes) => nulStrings([yes ? "T" : "F"]));
    case "DIRECTORY_PART":
      return answer(conn.directoryWithGeneration(req.path, tx), (d) => directoryPart(d, req.offset));
    case "RESUME":
      return "ENOSYS";
  }
}

/**
 * Handles one decoded request for `conn`. A payload that does not parse is answered EINVAL, an
 * answer too long for one message E2BIG (for DIRECTORY the client then pages with DIRECTORY_PART).
 */
export function handleRequest(conn: Connection, msg: XsMessage): XsMessage {
  if (UNSUPPORTED.has(msg.type)) return errorMessage(msg, "ENOSYS");
  let req: Request;
  try {
    req = parseRequest(msg);
  } catch (e) {
    if (e instanceof WireError) return errorMessage(msg, "EINVAL");
    throw e;
  }
  const out = perform(conn, req, msg.txId);
  if (typeof out === "string") return errorMessage(msg, out);
  if (out.length > XENSTORE_PAYLOAD_MAX) return errorMessage(msg, "E2BIG");
  return { type: msg.type, reqId: msg.reqId, txId: msg.txId, payload: out };
}
