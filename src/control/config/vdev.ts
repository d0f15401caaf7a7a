/**
 * A disk's vdev as the number Xen's block interface uses in the store (xen-vbd-interface(7)): the
 * `<devid>` of device/vbd/<devid> and backend/vbd/<domid>/<devid>, and the frontend's virtual-device.
 *
 *      1 << 28 | disk << 8 | partition     xvd, disks or partitions 16 onwards (disk < 2^20)
 *     202 << 8 | disk << 4 | partition     xvd, disks and partitions up to 15        xvda = 51712
 *       8 << 8 | disk << 4 | partition     sd, disks and partitions up to 15         sda  = 2048
 *       3 << 8 | disk << 6 | partition     hd, disks 0..1                            hda  = 768
 *      22 << 8 | (disk-2) << 6 | partition hd, disks 2..3                            hdc  = 5632
 *
 * The disk number is the letters in bijective base 26 (a = 0 … z = 25, aa = 26 …); rvisor's vdevs name
 * whole disks (partition 0). sd beyond sdp and hd beyond hdd have no number, as libxl refuses them.
 */
export function vbdDevid(vdev: string): number | undefined {
  const m = /^(xvd|hd|sd)([a-z]{1,3})$/.exec(vdev);
  if (m === null) return undefined;
  let disk = 0;
  for (const ch of m[2]!) disk = disk * 26 + (ch.charCodeAt(0) - 96);
  disk -= 1;
  switch (m[1]) {
    case "xvd":
      return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) | (disk << 8);
    case "sd":
      return disk < 16 ? (8 << 8) | (disk << 4) : undefined;
    default:
      return disk < 2 ? (3 << 8) | (disk << 6) : disk < 4 ? (22 << 8) | ((disk - 2) << 6) : undefined;
  }
}
