/**
 * Where rvisord listens and keeps its state, and how the CLI finds it:
 *
 *   socket      --socket P, else $RVISOR_SOCKET, else /run/rvisor/rvisord.sock
 *   state dir   --state-dir D, else $RVISOR_STATE_DIR, else /var/lib/rvisor
 */
export const DEFAULT_SOCKET = "/run/rvisor/rvisord.sock";
export const DEFAULT_STATE_DIR = "/var/lib/rvisor";

export function socketPath(explicit?: string): string {
  return explicit ?? process.env.RVISOR_SOCKET ?? DEFAULT_SOCKET;
}

export function stateDir(explicit?: string): string {
  return explicit ?? process.env.RVISOR_STATE_DIR ?? DEFAULT_STATE_DIR;
}
