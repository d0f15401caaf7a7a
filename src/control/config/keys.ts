/**
 * Which keys a config may hold. Three kinds of name:
 *   - rvisor's keys (RVISOR_KEYS), with Xen's meanings;
 *   - keys xl.cfg(5) defines that rvisor does not implement: an error that says so plainly, rather than
 *     "unknown key", so a Xen user knows the key was understood and is not silently ignored;
 *   - anything else: an unknown key, with the nearest rvisor key suggested.
 * The Xen list is every top-level key of xl.cfg(5) (Xen 4.18's manual page) plus `display` and
 * `xauthority`, which xl also reads at top level.
 */

/** rvisor's keys and what each holds, in the order the serializer writes them. */
export const RVISOR_KEYS = {
  name: "the domain's name, unique on the host",
  uuid: "the domain's UUID (generated at creation when absent)",
  type: "virtualization mode: native, trap, bt, pv or hvm",
  kernel: "path of the guest kernel ELF",
  cmdline: "the kernel's command line (its device tree's /chosen/bootargs)",
  extra: "text appended to the kernel's command line (written back merged into cmdline)",
  memory: "initial memory, MiB",
  maxmem: "maximum memory, MiB (≥ memory)",
  vcpus: "vCPUs online at start",
  maxvcpus: "most vCPUs the guest may bring up (≥ vcpus)",
  cpus: 'pCPUs the vCPUs may run on: "0-3,^2", "all,^1", or one such string per vCPU in a list',
  cpu_weight: "Credit scheduler weight, 1..65535",
  cap: "Credit cap, percent of one pCPU (0 = no cap)",
  disk: "virtual disks: list of disk specs",
  vif: "virtual network interfaces: list of vif specs",
  on_poweroff: "action when the guest powers off",
  on_reboot: "action when the guest reboots",
  on_crash: "action when the guest crashes",
} as const;

export type RvisorKey = keyof typeof RVISOR_KEYS;

export function isRvisorKey(key: string): key is RvisorKey {
  return Object.hasOwn(RVISOR_KEYS, key);
}

const NO_HVM_X86 = "an x86 HVM platform feature; rvisor's guests are RISC-V";
const NO_DEVICE_MODEL = "rvisor has no QEMU device model; devices are virtio-mmio in domain 0";
const NO_GRAPHICS = "rvisor guests have no graphics; use the console";
const NO_PASSTHROUGH = "rvisor does not pass host hardware through to guests";
const NO_XSM = "rvisor has no XSM/FLASK security labels";
const NO_BOOTLOADER = "rvisor boots the `kernel` ELF directly; there is no bootloader or firmware stage";
const NO_CMDLINE = "rvisor's kernel loader passes no ramdisk or root device (use cmdline/extra)";
const NO_NUMA = "rvisor's host has no NUMA nodes";
const NO_ARM = "an Arm platform option";
const NO_DEVICE = "rvisor offers only disk, vif and the console as guest devices";
const NO_GRANTS = "rvisor's PV interfaces have no grant tables or event channel limits to tune";

/** Keys of xl.cfg(5) that rvisor understands but does not implement, with why. */
export const XEN_ONLY_KEYS: Readonly<Record<string, string>> = {
  builder: 'the deprecated spelling of `type`; write type = "pv" or type = "hvm"',
  pool: "rvisor has a single CPU pool",
  cpus_soft: "rvisor's scheduler takes hard affinity (`cpus`) only",
  vnuma: NO_NUMA,
  on_watchdog: "rvisor has no watchdog device",
  on_soft_reset: "rvisor guests have no soft reset",
  ramdisk: NO_CMDLINE,
  root: NO_CMDLINE,
  firmware: NO_BOOTLOADER,
  pvshim: "an x86 PV-in-PVH option",
  pvshim_path: "an x86 PV-in-PVH option",
  pvshim_cmdline: "an x86 PV-in-PVH option",
  pvshim_extra: "an x86 PV-in-PVH option",
  seclabel: NO_XSM,
  init_seclabel: NO_XSM,
  device_model_stubdomain_seclabel: NO_XSM,
  max_grant_frames: NO_GRANTS,
  max_maptrack_frames: NO_GRANTS,
  max_grant_version: NO_GRANTS,
  max_event_channels: NO_GRANTS,
  nomigrate: "rvisor has no per-domain migration switch",
  driver_domain: "rvisor's device backends all live in domain 0",
  device_tree: NO_PASSTHROUGH,
  passthrough: NO_PASSTHROUGH,
  pci: NO_PASSTHROUGH,
  pci_permissive: NO_PASSTHROUGH,
  pci_msitranslate: NO_PASSTHROUGH,
  pci_seize: NO_PASSTHROUGH,
  pci_power_mgmt: NO_PASSTHROUGH,
  gfx_passthru: NO_PASSTHROUGH,
  rdm: NO_PASSTHROUGH,
  rdm_mem_boundary: NO_PASSTHROUGH,
  dtdev: NO_PASSTHROUGH,
  ioports: NO_PASSTHROUGH,
  iomem: NO_PASSTHROUGH,
  irqs: NO_PASSTHROUGH,
  usbctrl: NO_PASSTHROUGH,
  usbdev: NO_PASSTHROUGH,
  xend_suspend_evtchn_compat: "a xend compatibility option",
  vmtrace_buf_kb: "rvisor has no processor trace",
  vpmu: NO_ARM,
  vtpm: NO_DEVICE,
  p9: NO_DEVICE,
  pvcalls: NO_DEVICE,
  vfb: NO_GRAPHICS,
  channel: NO_DEVICE,
  vdispl: NO_GRAPHICS,
  vsnd: NO_DEVICE,
  vkb: NO_DEVICE,
  virtio: "rvisor chooses the virtio-mmio devices itself from disk and vif",
  tee: NO_ARM,
  dm_restrict: NO_DEVICE_MODEL,
  device_model_user: NO_DEVICE_MODEL,
  device_model_version: NO_DEVICE_MODEL,
  device_model_override: NO_DEVICE_MODEL,
  device_model_stubdomain_override: NO_DEVICE_MODEL,
  device_model_args: NO_DEVICE_MODEL,
  device_model_args_pv: NO_DEVICE_MODEL,
  device_model_args_hvm: NO_DEVICE_MODEL,
  stubdomain_kernel: NO_DEVICE_MODEL,
  stubdomain_cmdline: NO_DEVICE_MODEL,
  stubdomain_ramdisk: NO_DEVICE_MODEL,
  stubdomain_memory: NO_DEVICE_MODEL,
  bootloader: NO_BOOTLOADER,
  bootloader_args: NO_BOOTLOADER,
  bootloader_restrict: NO_BOOTLOADER,
  bootloader_user: NO_BOOTLOADER,
  e820_host: NO_HVM_X86,
  boot: NO_BOOTLOADER,
  hdtype: NO_DEVICE_MODEL,
  hap: "in rvisor the paging mode follows `type` (hvm uses G-stage tables, trap and bt use shadow tables)",
  oos: "rvisor's shadow tables are always kept in sync",
  shadow_memory: "rvisor sizes shadow page tables itself",
  bios: NO_BOOTLOADER,
  bios_path_override: NO_BOOTLOADER,
  pae: NO_HVM_X86,
  acpi: NO_HVM_X86,
  acpi_s3: NO_HVM_X86,
  acpi_s4: NO_HVM_X86,
  acpi_laptop_slate: NO_HVM_X86,
  acpi_firmware: NO_HVM_X86,
  apic: NO_HVM_X86,
  nx: NO_HVM_X86,
  hpet: NO_HVM_X86,
  altp2m: NO_HVM_X86,
  altp2mhvm: NO_HVM_X86,
  nestedhvm: "rvisor does not offer nested virtualization",
  cpuid: NO_HVM_X86,
  smbios_firmware: NO_HVM_X86,
  smbios: NO_HVM_X86,
  ms_vm_genid: NO_HVM_X86,
  tsc_mode: NO_HVM_X86,
  localtime: "rvisor guests have no RTC to set",
  rtc_timeoffset: "rvisor guests have no RTC to set",
  vpt_align: NO_HVM_X86,
  timer_mode: NO_HVM_X86,
  mmio_hole: NO_HVM_X86,
  xen_platform_pci: NO_HVM_X86,
  viridian: NO_HVM_X86,
  hvm_pirq: NO_HVM_X86,
  mca_caps: NO_HVM_X86,
  msr_relaxed: NO_HVM_X86,
  videoram: NO_GRAPHICS,
  stdvga: NO_GRAPHICS,
  vga: NO_GRAPHICS,
  vnc: NO_GRAPHICS,
  vnclisten: NO_GRAPHICS,
  vncdisplay: NO_GRAPHICS,
  vncunused: NO_GRAPHICS,
  vncpasswd: NO_GRAPHICS,
  keymap: NO_GRAPHICS,
  sdl: NO_GRAPHICS,
  opengl: NO_GRAPHICS,
  display: NO_GRAPHICS,
  xauthority: NO_GRAPHICS,
  nographic: NO_GRAPHICS,
  spice: NO_GRAPHICS,
  spicehost: NO_GRAPHICS,
  spiceport: NO_GRAPHICS,
  spicetls_port: NO_GRAPHICS,
  spicedisable_ticketing: NO_GRAPHICS,
  spicepasswd: NO_GRAPHICS,
  spiceagent_mouse: NO_GRAPHICS,
  spicevdagent: NO_GRAPHICS,
  spice_clipboard_sharing: NO_GRAPHICS,
  spiceusbredirection: NO_GRAPHICS,
  spice_image_compression: NO_GRAPHICS,
  spice_streaming_video: NO_GRAPHICS,
  serial: "the guest's serial console is rvisor's console (`rvisor console`)",
  soundhw: NO_DEVICE,
  vkb_device: NO_DEVICE,
  usb: NO_DEVICE,
  usbversion: NO_DEVICE,
  usbdevice: NO_DEVICE,
  vendor_device: NO_DEVICE_MODEL,
  gic_version: NO_ARM,
  vuart: "rvisor's console is the guest's 16550 UART; there is no separate vuart",
  sve: NO_ARM,
};

/** The message for a key rvisor does not take: Xen's-but-unsupported, or unknown with a suggestion. */
export function unsupportedKeyMessage(key: string, suggest: (key: string) => string): string {
  const why = XEN_ONLY_KEYS[key];
  if (why !== undefined) return `Xen's xl.cfg has this key but rvisor does not support it: ${why}`;
  return `unknown key${suggest(key)}`;
}
