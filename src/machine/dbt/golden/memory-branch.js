const tag = h.tlbTag, off = h.tlbOff, m8 = h.mem8, m16 = h.mem16, m32 = h.mem32;
let a = 0, vp = 0, s = 0;
// 0x80000000: lw
x[5] = (a = (x[10] + 8) | 0, vp = a >>> 12, s = 256 + (vp & 255), tag[s] === vp && (a & 3) === 0 ? m32[(off[s] + (a & 4095)) >> 2] : (h.pc = 0x80000000, h.lw(a)));
if (h.exitBlock) return 1;
// 0x80000004: sb
a = (x[11] + -1) | 0; vp = a >>> 12; s = 512 + (vp & 255); if (tag[s] === vp) m8[(off[s] + (a & 4095))] = x[5]; else { h.pc = 0x80000004; h.sb(a, x[5]); }
if (h.exitBlock) return 1;
{
  // 0x80000008: amoadd.w
  h.pc = 0x80000008;
  const s = x[5]; const o = h.amoIndex(x[12]); const v = h.mem32[o]; h.amoWrite(o, (v + s) | 0); x[6] = v;
  if (h.exitBlock) return 1;
}
{
  // 0x8000000c: bne
  let npc = 0x80000010;
  if (x[5] !== 0) npc = (0x8000000c + 64) >>> 0;
  return npc | 0;
}
