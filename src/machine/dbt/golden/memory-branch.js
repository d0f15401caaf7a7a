const tag = h.tlbTag, off = h.tlbOff, m8 = h.mem8, m16 = h.mem16, m32 = h.mem32;
let a = 0, vp = 0, s = 0;
let r5 = x[5], r6 = x[6], r10 = x[10], r11 = x[11], r12 = x[12];
// 0x80000000: lw
r5 = ((a = (r10 + 8) | 0, vp = a >>> 12, s = 256 + (vp & 255), tag[s] === vp && (a & 3) === 0 ? m32[(off[s] + (a & 4095)) >> 2] : (x[5] = r5, x[6] = r6, h.pc = 0x80000000, h.lw(a)))) | 0;
if (h.exitBlock) return (x[5] = r5, x[6] = r6, 1);
// 0x80000004: sb
a = (r11 + -1) | 0; vp = a >>> 12; s = 512 + (vp & 255); if (tag[s] === vp) m8[(off[s] + (a & 4095))] = r5; else { x[5] = r5, x[6] = r6, h.pc = 0x80000004; h.sb(a, r5); }
if (h.exitBlock) return (x[5] = r5, x[6] = r6, 1);
{
  // 0x80000008: amoadd.w
  x[5] = r5, x[6] = r6, h.pc = 0x80000008;
  const s = r5; const o = h.amoIndex(r12); const v = h.mem32[o]; h.amoWrite(o, (v + s) | 0); r6 = (v) | 0;
  if (h.exitBlock) return (x[5] = r5, x[6] = r6, 1);
}
{
  // 0x8000000c: bne
  let npc = 0x80000010;
  if (r5 !== 0) npc = (0x8000000c + 64) >>> 0;
  return (x[5] = r5, x[6] = r6, npc | 0);
}
