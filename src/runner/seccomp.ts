/**
 * The sandbox's seccomp deny-list, compiled to a classic BPF program in
 * TypeScript (no libseccomp, no native addon) and handed to bubblewrap with
 * `--seccomp FD`. Namespaces already remove the network and the host's
 * filesystem; this filter closes the kernel surface that namespaces do not:
 * ptrace, mounts, new namespaces, keyrings, bpf, io_uring, perf, modules,
 * kexec, userfaultfd, personality tricks and every socket family but AF_UNIX.
 *
 * Syscall numbers are per architecture, so the filter first checks the
 * architecture word of seccomp_data and kills anything it does not know
 * (a 32-bit or x32 entry point would otherwise bypass the number checks).
 */

// seccomp return actions
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;

// classic BPF opcodes
const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K

// offsets in struct seccomp_data
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LO = 16;

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;

const AF_UNIX = 1;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
export const CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
const PER_QUERY = 0xffffffff;
const PER_LINUX = 0;

/** Syscalls refused with EPERM outright. */
export const DENIED = [
  "ptrace", "mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
  "io_uring_setup", "io_uring_enter", "io_uring_register", "perf_event_open", "kexec_load", "kexec_file_load",
  "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "pivot_root", "chroot",
  "userfaultfd", "acct", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "syslog",
  "process_vm_readv", "process_vm_writev", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
  "fanotify_init", "quotactl", "vhangup", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
  "mount_setattr", "pidfd_getfd", "kcmp", "sethostname", "setdomainname", "iopl", "ioperm", "uselib",
] as const;

type Name = (typeof DENIED)[number] | "socket" | "socketpair" | "clone" | "clone3" | "personality";

/** From the kernel's unistd headers (x86_64: asm/unistd_64.h; aarch64: asm-generic/unistd.h). */
const X86_64: Partial<Record<Name, number>> = {
  ptrace: 101, mount: 165, umount2: 166, unshare: 272, setns: 308, keyctl: 250, add_key: 248, request_key: 249, bpf: 321,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, perf_event_open: 298, kexec_load: 246, kexec_file_load: 320,
  init_module: 175, finit_module: 313, delete_module: 176, reboot: 169, swapon: 167, swapoff: 168, pivot_root: 155, chroot: 161,
  userfaultfd: 323, acct: 163, settimeofday: 164, clock_settime: 227, adjtimex: 159, clock_adjtime: 305, syslog: 103,
  process_vm_readv: 310, process_vm_writev: 311, open_by_handle_at: 304, name_to_handle_at: 303, lookup_dcookie: 212,
  fanotify_init: 300, quotactl: 179, vhangup: 153, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431, fsmount: 432,
  fspick: 433, mount_setattr: 442, pidfd_getfd: 438, kcmp: 312, sethostname: 170, setdomainname: 171, iopl: 172, ioperm: 173,
  uselib: 134, socket: 41, socketpair: 53, clone: 56, clone3: 435, personality: 135,
};

const AARCH64: Partial<Record<Name, number>> = {
  ptrace: 117, mount: 40, umount2: 39, unshare: 97, setns: 268, keyctl: 219, add_key: 217, request_key: 218, bpf: 280,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, perf_event_open: 241, kexec_load: 104, kexec_file_load: 294,
  init_module: 105, finit_module: 273, delete_module: 106, reboot: 142, swapon: 224, swapoff: 225, pivot_root: 41, chroot: 51,
  userfaultfd: 282, acct: 89, settimeofday: 170, clock_settime: 112, adjtimex: 171, clock_adjtime: 266, syslog: 116,
  process_vm_readv: 270, process_vm_writev: 271, open_by_handle_at: 265, name_to_handle_at: 264, lookup_dcookie: 18,
  fanotify_init: 262, quotactl: 60, vhangup: 58, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431, fsmount: 432,
  fspick: 433, mount_setattr: 442, pidfd_getfd: 438, kcmp: 272, sethostname: 161, setdomainname: 162,
  socket: 198, socketpair: 199, clone: 220, clone3: 435, personality: 92,
};

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}
const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jump = (code: number, k: number, jt: number, jf: number): Insn => ({ code, jt, jf, k: k >>> 0 });

/** The per-architecture body; every path ends in a RET, so sections never fall into each other. */
function section(t: Partial<Record<Name, number>>, x32Guard: boolean): Insn[] {
  const p: Insn[] = [stmt(LD_W_ABS, OFF_NR)];
  // x86_64's x32 ABI shares the architecture word; its numbers carry bit 30.
  if (x32Guard) p.push(jump(JGE_K, 0x40000000, 0, 1), stmt(RET_K, RET_ERRNO | ENOSYS));
  for (const name of DENIED) {
    const nr = t[name];
    if (nr === undefined) continue;
    p.push(jump(JEQ_K, nr, 0, 1), stmt(RET_K, RET_ERRNO | EPERM));
  }
  // clone3 passes its flags in memory the filter cannot read: refuse it with
  // ENOSYS so libc falls back to clone(), whose flags word we can check.
  p.push(jump(JEQ_K, t.clone3!, 0, 1), stmt(RET_K, RET_ERRNO | ENOSYS));
  // The remaining checks look at argument 0, then reload the number.
  const argChecks: Array<[number, Insn[]]> = [
    [t.clone!, [jump(JSET_K, CLONE_NS_FLAGS, 0, 1), stmt(RET_K, RET_ERRNO | EPERM), stmt(RET_K, RET_ALLOW)]],
    [t.socket!, [jump(JEQ_K, AF_UNIX, 0, 1), stmt(RET_K, RET_ALLOW), stmt(RET_K, RET_ERRNO | EAFNOSUPPORT)]],
    [t.socketpair!, [jump(JEQ_K, AF_UNIX, 0, 1), stmt(RET_K, RET_ALLOW), stmt(RET_K, RET_ERRNO | EAFNOSUPPORT)]],
    [t.personality!, [jump(JEQ_K, PER_LINUX, 2, 0), jump(JEQ_K, PER_QUERY, 1, 0), stmt(RET_K, RET_ERRNO | EPERM), stmt(RET_K, RET_ALLOW)]],
  ];
  for (const [nr, body] of argChecks) {
    // if (nr == N) { load arg0; body (ends in RET) }
    p.push(jump(JEQ_K, nr, 0, 1 + body.length), stmt(LD_W_ABS, OFF_ARG0_LO), ...body);
  }
  p.push(stmt(RET_K, RET_ALLOW));
  return p;
}

/** The filter as the bytes of a `struct sock_filter[]` in host byte order (what bwrap reads). */
export function seccompProgram(): Uint8Array {
  const x86 = section(X86_64, true);
  const arm = section(AARCH64, false);
  // jt/jf are 8-bit relative offsets; the x86 section starts at index 4, the aarch64 one after it.
  const head: Insn[] = [
    stmt(LD_W_ABS, OFF_ARCH),
    jump(JEQ_K, AUDIT_ARCH_X86_64, 2, 0),
    jump(JEQ_K, AUDIT_ARCH_AARCH64, 1 + x86.length, 0),
    stmt(RET_K, RET_KILL_PROCESS),
  ];
  const all = [...head, ...x86, ...arm];
  if (x86.length + 1 > 255) throw new Error("seccomp: x86 section too long for an 8-bit jump");
  const buf = new Uint8Array(all.length * 8);
  const dv = new DataView(buf.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  all.forEach((ins, i) => {
    dv.setUint16(i * 8, ins.code, le);
    dv.setUint8(i * 8 + 2, ins.jt);
    dv.setUint8(i * 8 + 3, ins.jf);
    dv.setUint32(i * 8 + 4, ins.k, le);
  });
  return buf;
}

/** A tiny interpreter of the generated program, so tests can check decisions without a kernel. */
export function evaluate(prog: Uint8Array, data: { arch: number; nr: number; arg0?: number }): number {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  let acc = 0;
  for (let pc = 0; pc * 8 < prog.length; pc++) {
    const code = dv.getUint16(pc * 8, le);
    const jt = dv.getUint8(pc * 8 + 2);
    const jf = dv.getUint8(pc * 8 + 3);
    const k = dv.getUint32(pc * 8 + 4, le);
    if (code === LD_W_ABS) acc = k === OFF_NR ? data.nr : k === OFF_ARCH ? data.arch : k === OFF_ARG0_LO ? (data.arg0 ?? 0) >>> 0 : 0;
    else if (code === RET_K) return k;
    else if (code === JEQ_K) pc += acc === k ? jt : jf;
    else if (code === JGE_K) pc += acc >>> 0 >= k ? jt : jf;
    else if (code === JSET_K) pc += (acc & k) !== 0 ? jt : jf;
    else throw new Error(`bad opcode ${code}`);
  }
  throw new Error("fell off the end");
}

export const SECCOMP = { RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, EPERM, ENOSYS, EAFNOSUPPORT, X86_64, AARCH64 };
