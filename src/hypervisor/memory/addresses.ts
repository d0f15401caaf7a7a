/**
 * Branded address types for two-stage translation.
 *
 * A guest sees its own physical space (guest-physical, RAM from 0x8000_0000); the host has another
 * (host-physical, the board's memory map). Both are plain numbers at run time, so the compiler is made
 * to tell them apart: passing a GuestFrame where a HostFrame is expected is a type error, and the only
 * way across is through a P2M lookup (or an explicit, greppable cast in the constructors below).
 *
 *   GuestVirt ──(guest page tables)──▶ GuestPhys ──(P2M)──▶ HostPhys
 *                                      GuestFrame ─────────▶ HostFrame
 *
 * Frames are page numbers (address >>> 12), as in Sv32 PTEs' PPN field and Xen's gfn/mfn, so a
 * HostFrame can be written straight into a shadow or G-stage PTE.
 */
import { PAGE_SHIFT, PAGE_SIZE } from "../../machine/params.js";

export type GuestVirt = number & { readonly __brand: "gva" };
export type GuestPhys = number & { readonly __brand: "gpa" };
export type HostPhys = number & { readonly __brand: "hpa" };
/** Guest-physical page number (Xen's gfn). */
export type GuestFrame = number & { readonly __brand: "gfn" };
/** Host-physical page number (Xen's mfn): the PPN a shadow or G-stage PTE holds. */
export type HostFrame = number & { readonly __brand: "hfn" };

export const guestVirt = (a: number): GuestVirt => (a >>> 0) as GuestVirt;
export const guestPhys = (a: number): GuestPhys => (a >>> 0) as GuestPhys;
export const hostPhys = (a: number): HostPhys => (a >>> 0) as HostPhys;
export const guestFrame = (n: number): GuestFrame => n as GuestFrame;
export const hostFrame = (n: number): HostFrame => n as HostFrame;

/** The guest frame holding a guest-physical address. */
export const gfnOf = (gpa: GuestPhys): GuestFrame => (gpa >>> PAGE_SHIFT) as GuestFrame;
/** The host frame holding a host-physical address. */
export const hfnOf = (hpa: HostPhys): HostFrame => (hpa >>> PAGE_SHIFT) as HostFrame;
/** Host-physical address of byte `offset` (0..4095) of a host frame. */
export const hostPhysOf = (hf: HostFrame, offset = 0): HostPhys =>
  ((hf * PAGE_SIZE + offset) >>> 0) as HostPhys;
/** Guest-physical address of byte `offset` (0..4095) of a guest frame. */
export const guestPhysOf = (gf: GuestFrame, offset = 0): GuestPhys =>
  ((gf * PAGE_SIZE + offset) >>> 0) as GuestPhys;
/** Byte offset within its page. */
export const pageOffset = (addr: number): number => addr & (PAGE_SIZE - 1);

export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
