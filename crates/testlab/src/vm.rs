//! VM runner: boots Debian's kernel under qemu TCG with IPVS modules and the host root over 9p.
//!
//! The host kernel of the development/CI machine has no IPVS and cannot load modules, so every test
//! that talks to IPVS runs inside a small throw-away VM. This module builds and boots it.
//!
//! # Assets (built once, cached)
//! * **Kernel**: the package `linux-image-amd64` depends on (`apt-cache depends`, e.g.
//!   `linux-image-6.1.0-56-amd64`) is fetched with `apt-get download` and unpacked with `dpkg -x`
//!   into `<target>/vm/kernel/<package>_<version>/root`; `depmod -b` indexes its modules. It is
//!   re-fetched only when the candidate version of that package changes (or the cache is gone);
//!   without network/apt the newest cached kernel is used.
//! * **Initramfs** (`<target>/vm/kernel/<package>_<version>/initramfs.cpio`, uncompressed newc
//!   written by this module): `/bin/busybox` (busybox-static), the init script
//!   `crates/testlab/vm/init.sh`, and the modules listed in [`REQUIRED_MODULES`] and
//!   [`OPTIONAL_MODULES`] plus their dependencies (`modprobe -d DIR -S KVER --show-depends`),
//!   decompressed on the host if they ship as `.ko.xz`/`.ko.zst`/`.ko.gz`. It is rebuilt when its
//!   manifest (kernel, module list, init script, busybox) changes.
//! * `<target>` is `$KRS_VM_DIR/..` if set, else `$CARGO_TARGET_DIR`, else the workspace `target/`.
//!   A lock file serialises concurrent builders.
//!
//! * **vmlinux**: the bzImage's payload decompressed on the host (`<kdir>/vmlinux`); qemu boots it
//!   through its PVH entry (`CONFIG_PVH=y`), which skips firmware real-mode setup and in-guest
//!   decompression: about 3 s less per boot under TCG. `KRS_VM_BZIMAGE=1` boots the bzImage.
//!
//! # Inside the VM
//! `qemu-system-x86_64 -accel tcg -cpu max -m 1536 -smp 2`, no network card at all (nothing can
//! leave the VM), serial console on ttyS0. `/init` loads the modules, then builds a new root:
//! * `/` = the host root over virtio-9p, **read-only** (`multidevs=remap`, `cache=loose`), so
//!   `target/` binaries, `/usr/sbin/ipvsadm`, `/usr/sbin/keepalived` all run unchanged;
//! * fresh `proc`, `sysfs`, `devtmpfs`, `devpts`, cgroup2; tmpfs on `/tmp`, `/run` (so `/var/run`
//!   and `/run/netns` are writable: `ip netns` labs work), `/var/tmp` and `/dev/shm`;
//! * the run's **share** directory, writable, at the same path as on the host (`$KRS_VM_SHARE`).
//!
//! The command runs via `chroot` as root in the init namespaces of that fresh kernel, with
//! cwd = the caller's cwd and the environment `KRS_IN_VM=1`, `KRS_VM_SHARE=<share>`,
//! `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, `HOME=/root` (plus
//! `RUST_BACKTRACE`, `RUST_LOG`, `RUST_TEST_THREADS`, `RUST_TEST_NOCAPTURE` if set on the host, and
//! [`VmOpts::env`]; `KRS_VM_MODROOT` names the unpacked kernel package). Modules not preloaded
//! are loaded on demand by the kernel (`/proc/sys/kernel/modprobe` runs the host's kmod with
//! `-d $KRS_VM_MODROOT`), e.g. `ip link add x type vrf` just works. The command and its arguments are written as a shell script into the share
//! (never through the kernel command line). Its stdout/stderr go to `krs-vm.stdout` /
//! `krs-vm.stderr` in the share (streamed live by the CLI), its exit code to `krs-vm.exit`; the
//! serial console (kernel + init log) to `krs-vm.console.log`. Then the VM powers off.
//! Caveats: the host root is read-only inside (write to `/tmp` or `$KRS_VM_SHARE`); a cwd under
//! `/tmp` is hidden by the VM's tmpfs; anything built on the host after boot may be stale in the
//! VM (9p `cache=loose`).
//!
//! Each run gets its own share `<target>/vm/runs/<pid>-<n>-<time>` (kept for inspection, pruned
//! after a day), so concurrent VMs never collide.
//!
//! # Using it
//! ```text
//! cargo run -p testlab --bin krs-vm -- check          # prerequisites, with what to install
//! cargo run -p testlab --bin krs-vm -- prepare        # build/cache kernel + initramfs only
//! cargo run -p testlab --bin krs-vm -- run -- ipvsadm -Ln
//! # one test binary inside the VM (tests that need IPVS are #[ignore]d and named vm_*):
//! cargo test -p ipvs-nl --no-run            # prints target/debug/deps/ipvs_nl-HASH
//! cargo run -p testlab --bin krs-vm -- run -- target/debug/deps/ipvs_nl-HASH --include-ignored vm_
//! # all test binaries of a package in ONE boot:
//! scripts/vm-test.sh ipvs-nl [FILTER]
//! ```
//! From Rust: [`run_in_vm`]. A boot takes a few seconds (measured: see `VmOutput::boot_time`);
//! batch many tests per boot.
//!
//! Environment knobs: `KRS_VM_ACCEL` (`tcg` default; `kvm` where `/dev/kvm` really works: on the
//! development sandbox it exists but qemu aborts/hangs with it, so TCG stays the default),
//! `KRS_VM_MEM_MIB`, `KRS_VM_KERNEL_PKG` (kernel package instead of the `linux-image-amd64`
//! dependency), `KRS_VM_DIR` (cache directory instead of `<target>/vm`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod prepare;
mod run;

pub use prepare::prepare;
use prepare::*;
pub use run::run_in_vm;

/// The init script (PID 1 of the VM).
const INIT_SCRIPT: &str = include_str!("../vm/init.sh");
/// Printed by init right before the command starts; boot time is measured up to it.
const READY_MARKER: &str = "KRS-VM-READY";
/// Printed by init when it cannot set up the VM.
const FAIL_MARKER: &str = "KRS-VM-FAIL:";
/// Guest PATH.
const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Host variables passed into the VM when set.
const PASS_ENV: &[&str] = &[
    "RUST_BACKTRACE",
    "RUST_LOG",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
];

/// Modules the VM must have (with their dependencies). Missing ones fail `prepare`.
pub const REQUIRED_MODULES: &[&str] = &[
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "crc32c_generic",
    "nf_conntrack",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "veth",
    "bridge",
    "macvlan",
    "tunnel4",
    "ip_tunnel",
    "ipip",
];

/// Modules loaded when the kernel has them (not built in, present in the package).
pub const OPTIONAL_MODULES: &[&str] = &[
    "ip_vs_twos",
    "ip_vs_ftp",
    "ip_vs_pe_sip",
    "virtio_console",
    "af_packet",
    "dummy",
    "8021q",
    "ipvlan",
    "tun",
    "ip6_tunnel",
    "ip_gre",
    "fou",
    "nf_nat",
    "nf_conntrack_netlink",
    "nf_tables",
];

/// Errors of the VM runner. Every variant says what went wrong and where to look.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmError {
    /// A host tool is missing.
    #[error("{tool} is not installed: {hint}")]
    MissingTool {
        /// The tool.
        tool: String,
        /// How to get it.
        hint: String,
    },
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A host helper command (apt-get, dpkg, depmod, modprobe, xz, qemu...) failed.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// Its exit status.
        status: String,
        /// Its stderr (trimmed).
        stderr: String,
    },
    /// The kernel package could not be found or unpacked as expected.
    #[error("kernel package: {0}")]
    Kernel(String),
    /// A required module is not in the kernel package.
    #[error("module {module} not found for kernel {kver}: {detail}")]
    ModuleMissing {
        /// Module name.
        module: String,
        /// Kernel version.
        kver: String,
        /// modprobe's message.
        detail: String,
    },
    /// Bad arguments (empty command, unusable path...).
    #[error("bad arguments: {0}")]
    BadArgs(String),
    /// The VM did not reach the ready marker in time.
    #[error("the VM did not boot within {secs} s (console log: {console_log}); last console lines:\n{tail}")]
    BootTimeout {
        /// The boot timeout.
        secs: u64,
        /// Full console log.
        console_log: PathBuf,
        /// Its last lines.
        tail: String,
    },
    /// init reported that it could not set up the VM.
    #[error(
        "the VM init failed: {reason} (console log: {console_log}); last console lines:\n{tail}"
    )]
    InitFailed {
        /// init's message.
        reason: String,
        /// Full console log.
        console_log: PathBuf,
        /// Its last lines.
        tail: String,
    },
    /// The command did not finish within the overall timeout; qemu was killed.
    #[error("the VM command did not finish within {secs} s (qemu killed; share: {share}, console log: {console_log})")]
    Timeout {
        /// The overall timeout.
        secs: u64,
        /// The run's share directory (stdout/stderr so far are there).
        share: PathBuf,
        /// Full console log.
        console_log: PathBuf,
    },
    /// qemu ended without the command's exit code (crash, panic, qemu error).
    #[error("the VM ended without an exit code (qemu {status}; console log: {console_log}); qemu stderr: {qemu_stderr}; last console lines:\n{tail}")]
    NoExitCode {
        /// qemu's exit status.
        status: String,
        /// Full console log.
        console_log: PathBuf,
        /// qemu's stderr.
        qemu_stderr: String,
        /// Last console lines.
        tail: String,
    },
}

fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> VmError {
    let path = path.into();
    move |source| VmError::Io { op, path, source }
}

/// Options of one VM run. Build with `VmOpts { timeout: ..., ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct VmOpts {
    /// Overall limit (boot + command); qemu is killed after it. Default 600 s.
    pub timeout: Duration,
    /// Limit for reaching the ready marker. Default 180 s (TCG on a loaded 2-core machine).
    pub boot_timeout: Duration,
    /// Guest memory. Default 1536 MiB (or `$KRS_VM_MEM_MIB`).
    pub memory_mib: u32,
    /// Guest CPUs. Default 2.
    pub cpus: u32,
    /// Share directory (writable inside at the same path). Default: a fresh unique directory
    /// under `<target>/vm/runs/`. Must not be under `/tmp` (hidden by the guest's tmpfs).
    pub share: Option<PathBuf>,
    /// Working directory of the command. Default: the caller's current directory.
    pub cwd: Option<PathBuf>,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
    /// Stream the command's stdout/stderr live to this process's stdout/stderr.
    pub stream: bool,
    /// Also print the serial console (kernel + init) to stderr.
    pub show_console: bool,
}

impl Default for VmOpts {
    fn default() -> Self {
        let memory_mib = std::env::var("KRS_VM_MEM_MIB")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1536);
        VmOpts {
            timeout: Duration::from_secs(600),
            boot_timeout: Duration::from_secs(180),
            memory_mib,
            cpus: 2,
            share: None,
            cwd: None,
            env: Vec::new(),
            stream: false,
            show_console: false,
        }
    }
}

/// Result of a VM run whose command finished (whatever its exit code).
#[derive(Debug, Clone)]
pub struct VmOutput {
    /// Exit code of the command (128+N if killed by signal N; 127 not found; 125 bad cwd).
    pub exit_code: i32,
    /// The command's stdout.
    pub stdout: String,
    /// The command's stderr.
    pub stderr: String,
    /// Serial console: kernel messages and init's log.
    pub console: String,
    /// From starting qemu to init's ready marker.
    pub boot_time: Duration,
    /// From starting qemu to qemu's exit.
    pub total_time: Duration,
    /// The share directory of this run (also `$KRS_VM_SHARE` inside).
    pub share: PathBuf,
}

impl VmOutput {
    /// True if the command exited with 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// Cached, ready-to-boot assets.
#[derive(Debug, Clone)]
pub struct VmAssets {
    /// Kernel package name (e.g. `linux-image-6.1.0-56-amd64`).
    pub package: String,
    /// Its version.
    pub version: String,
    /// Kernel release (`uname -r` inside).
    pub kver: String,
    /// What qemu boots: the uncompressed `vmlinux` (PVH direct boot, ~3 s faster under TCG: no
    /// firmware real-mode setup, no in-guest decompression) when it could be extracted, else the
    /// bzImage.
    pub kernel: PathBuf,
    /// The bzImage from the package.
    pub bzimage: PathBuf,
    /// The initramfs (newc cpio).
    pub initramfs: PathBuf,
    /// Modules in load order (file names).
    pub modules: Vec<String>,
    /// The unpacked kernel package (`<modroot>/lib/modules/<kver>`): inside the VM the kernel
    /// loads any other module from it on demand (`modprobe -d <modroot>`).
    pub modroot: PathBuf,
}

/// True when running inside the test VM (init sets `KRS_IN_VM=1`). In-VM tests (`vm_*`) can use
/// it to skip cleanly when started on the host by a plain `cargo test -- --include-ignored`.
pub fn in_vm() -> bool {
    std::env::var_os("KRS_IN_VM").is_some_and(|v| v == "1")
}

// ---------------------------------------------------------------------------------------------
// Locations

/// The cache directory: `$KRS_VM_DIR`, else `<target>/vm`.
pub fn vm_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KRS_VM_DIR") {
        return PathBuf::from(d);
    }
    target_dir().join("vm")
}

/// The workspace target directory (`$CARGO_TARGET_DIR`, else the `target/` beside the workspace
/// root found from this crate's manifest dir, else beside the running executable).
pub fn target_dir() -> PathBuf {
    let ws = workspace_root();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        return if t.is_absolute() { t } else { ws.join(t) };
    }
    if ws.join("Cargo.toml").exists() {
        return ws.join("target");
    }
    // Installed elsewhere: a binary in <target>/debug/... .
    if let Ok(exe) = std::env::current_exe() {
        for a in exe.ancestors() {
            if a.file_name().is_some_and(|n| n == "target") {
                return a.to_path_buf();
            }
        }
    }
    ws.join("target")
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for a in manifest.ancestors() {
        let toml = a.join("Cargo.toml");
        if let Ok(text) = fs::read_to_string(&toml) {
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return a.to_path_buf();
            }
        }
    }
    manifest.to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// Host commands

fn cmd_line(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a host command to completion; Err with its stderr if it fails.
fn run_host(cmd: &mut Command) -> Result<Vec<u8>, VmError> {
    let line = cmd_line(cmd);
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            VmError::MissingTool {
                tool: cmd.get_program().to_string_lossy().into_owned(),
                hint: install_hint(&cmd.get_program().to_string_lossy()),
            }
        } else {
            VmError::Command {
                cmd: line.clone(),
                status: "not started".into(),
                stderr: e.to_string(),
            }
        }
    })?;
    if !out.status.success() {
        return Err(VmError::Command {
            cmd: line,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

fn install_hint(tool: &str) -> String {
    let pkg = match tool.rsplit('/').next().unwrap_or(tool) {
        "qemu-system-x86_64" => "qemu-system-x86",
        "busybox" => "busybox-static",
        "modprobe" | "depmod" => "kmod",
        "xz" => "xz-utils",
        "timeout" => "coreutils",
        "zstd" => "zstd",
        "gzip" => "gzip",
        "apt-get" | "apt-cache" => "apt",
        "dpkg" => "dpkg",
        other => other,
    };
    format!("apt-get install {pkg}")
}

// ---------------------------------------------------------------------------------------------
// Prerequisites

/// One prerequisite check.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Passed?
    pub ok: bool,
    /// Details or how to fix.
    pub detail: String,
}

/// Checks the host prerequisites (tools, busybox-static, apt). Does not download anything.
pub fn check() -> Vec<Check> {
    let mut v = Vec::new();
    for tool in [
        "qemu-system-x86_64",
        "modprobe",
        "depmod",
        "dpkg",
        "apt-get",
        "apt-cache",
        "xz",
        "timeout",
    ] {
        let found = find_in_path(tool);
        v.push(Check {
            what: tool.to_string(),
            ok: found.is_some(),
            detail: match found {
                Some(p) => p.display().to_string(),
                None => format!("missing: {}", install_hint(tool)),
            },
        });
    }
    let bb = busybox_path();
    let bb_static = bb.as_deref().map(is_static_elf).unwrap_or(false);
    v.push(Check {
        what: "busybox (static)".into(),
        ok: bb_static,
        detail: match (&bb, bb_static) {
            (Some(p), true) => p.display().to_string(),
            (Some(p), false) => format!(
                "{} is not statically linked: apt-get install busybox-static",
                p.display()
            ),
            (None, _) => "missing: apt-get install busybox-static".into(),
        },
    });
    let kpkg = resolve_kernel_package();
    v.push(Check {
        what: "kernel package (apt-cache)".into(),
        ok: kpkg.is_ok(),
        detail: match kpkg {
            Ok((p, ver)) => format!("{p} {ver}"),
            Err(e) => format!(
                "{e} (run apt-get update; or a cached kernel under {} is used)",
                vm_dir().display()
            ),
        },
    });
    let kvm = Path::new("/dev/kvm");
    v.push(Check {
        what: "accelerator".into(),
        ok: true,
        detail: format!(
            "{} (KRS_VM_ACCEL; /dev/kvm {})",
            accel(),
            if kvm.exists() { "present" } else { "absent" }
        ),
    });
    v
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn busybox_path() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// An ELF without a PT_INTERP program header is static.
fn is_static_elf(path: &Path) -> bool {
    let Ok(data) = fs::read(path) else {
        return false;
    };
    if data.len() < 64 || &data[..4] != b"\x7fELF" || data[4] != 2 {
        return false;
    }
    let rd16 = |o: usize| {
        data.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let rd64 = |o: usize| {
        data.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a) as usize
        })
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (rd64(0x20), rd16(0x36), rd16(0x38)) else {
        return false;
    };
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        match data.get(o..o + 4) {
            Some(t) if u32::from_le_bytes([t[0], t[1], t[2], t[3]]) == 3 => return false,
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// Minimal writer of the "newc" cpio format the kernel unpacks as initramfs.
#[derive(Default)]
struct CpioWriter {
    buf: Vec<u8>,
    ino: u32,
}

impl CpioWriter {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let namesize = name.len() + 1;
        let fields = [
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            u32::try_from(data.len()).unwrap_or(u32::MAX),
            0,
            0,
            rdev.0,
            rdev.1,
            u32::try_from(namesize).unwrap_or(u32::MAX),
            0,
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }
    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, (0, 0), &[]);
    }
    fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | perm, (0, 0), data);
    }
    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120_777, (0, 0), target.as_bytes());
    }
    fn chardev(&mut self, name: &str, perm: u32, major: u32, minor: u32) {
        self.entry(name, 0o020_000 | perm, (major, minor), &[]);
    }
    fn finish(mut self) -> Vec<u8> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.buf
    }
}

/// Quotes a string for POSIX sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests;
