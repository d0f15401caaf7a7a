let r5 = x[5], r6 = x[6];
// 0x80000000: addi
r5 = ((0 + 1) | 0) | 0;
{
  // 0x80000004: csrrs
  x[5] = r5, x[6] = r6, h.pc = 0x80000004;
  h.retired = h.blockBase + 1;
  const s = r5; if (h.vmm !== undefined && h.priv === 0) { const v = h.vmm.csr(805479283, s); if (6 !== 0) r6 = (v) | 0; } else { const v = h.csrRead(768, 805479283); if (5 !== 0) h.csrWrite(768, v | s, 805479283); r6 = (v) | 0; }
  return (x[5] = r5, x[6] = r6, 0x80000008 | 0);
}
