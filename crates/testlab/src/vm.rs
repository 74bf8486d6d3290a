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

fn accel() -> String {
    std::env::var("KRS_VM_ACCEL").unwrap_or_else(|_| "tcg".into())
}

// ---------------------------------------------------------------------------------------------
// Asset preparation

/// Resolves the real kernel package behind `linux-image-amd64` and its candidate version.
fn resolve_kernel_package() -> Result<(String, String), VmError> {
    let pkg = match std::env::var("KRS_VM_KERNEL_PKG") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let out = run_host(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
            let text = String::from_utf8_lossy(&out);
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("Depends:"))
                .map(|p| p.trim().trim_matches(|c| c == '<' || c == '>').to_string())
                .find(|p| p.starts_with("linux-image-"))
                .ok_or_else(|| {
                    VmError::Kernel(format!(
                        "`apt-cache depends linux-image-amd64` names no linux-image-* package: {}",
                        text.trim()
                    ))
                })?
        }
    };
    let out = run_host(Command::new("apt-cache").args(["policy", &pkg]))?;
    let text = String::from_utf8_lossy(&out);
    let ver = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty() && v != "(none)")
        .ok_or_else(|| {
            VmError::Kernel(format!("no candidate version of {pkg} (apt-get update?)"))
        })?;
    Ok((pkg, ver))
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Builds (or reuses) the kernel and initramfs. Safe to call concurrently (file lock).
/// Memoized per process: later calls return the first successful result.
pub fn prepare() -> Result<VmAssets, VmError> {
    static DONE: Mutex<Option<VmAssets>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = done.as_ref() {
        return Ok(a.clone());
    }
    let assets = prepare_uncached()?;
    *done = Some(assets.clone());
    Ok(assets)
}

fn prepare_uncached() -> Result<VmAssets, VmError> {
    let dir = vm_dir();
    let kdir_root = dir.join("kernel");
    fs::create_dir_all(&kdir_root).map_err(io_err("create", &kdir_root))?;
    let lock_path = dir.join(".lock");
    let lock_file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err("open", &lock_path))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive).map_err(
        |(_, errno)| VmError::Io {
            op: "flock",
            path: lock_path.clone(),
            source: io::Error::from_raw_os_error(errno as i32),
        },
    )?;

    let (pkg, ver, kdir) = match resolve_kernel_package_cached(&dir) {
        Ok((pkg, ver)) => {
            let kdir = kdir_root.join(format!("{}_{}", safe_name(&pkg), safe_name(&ver)));
            if !kdir.join(".complete").exists() {
                fetch_kernel(&pkg, &ver, &kdir)?;
            }
            (pkg, ver, kdir)
        }
        Err(e) => {
            // Offline or apt broken: fall back to the newest complete cached kernel.
            match newest_cached_kernel(&kdir_root) {
                Some((pkg, ver, kdir)) => (pkg, ver, kdir),
                None => return Err(e),
            }
        }
    };
    let root = kdir.join("root");
    let kver = kernel_release(&root)?;
    let bzimage = root.join("boot").join(format!("vmlinuz-{kver}"));
    if !bzimage.is_file() {
        return Err(VmError::Kernel(format!("{} missing", bzimage.display())));
    }
    let kernel = match pvh_kernel(&root, &kver, &bzimage, &kdir) {
        Some(k) => k,
        None => bzimage.clone(),
    };
    let modules = module_plan_cached(&root, &kver, &kdir)?;
    let busybox = busybox_path().ok_or_else(|| VmError::MissingTool {
        tool: "busybox".into(),
        hint: "apt-get install busybox-static".into(),
    })?;
    if !is_static_elf(&busybox) {
        return Err(VmError::MissingTool {
            tool: "busybox-static".into(),
            hint: format!(
                "{} is dynamically linked: apt-get install busybox-static",
                busybox.display()
            ),
        });
    }
    let bb_meta = fs::metadata(&busybox).map_err(io_err("stat", &busybox))?;
    let mut manifest = format!(
        "format 1\nkernel {pkg} {ver} {kver}\nbusybox {} {} {:?}\ninit {}\n",
        busybox.display(),
        bb_meta.len(),
        bb_meta.modified().ok(),
        fnv1a(INIT_SCRIPT.as_bytes())
    );
    for (path, args) in &modules {
        let _ = writeln!(manifest, "module {} {}", path.display(), args);
    }
    let initramfs = kdir.join("initramfs.cpio");
    let manifest_path = kdir.join("initramfs.manifest");
    let current = fs::read_to_string(&manifest_path).unwrap_or_default();
    if current != manifest || !initramfs.is_file() {
        build_initramfs(&initramfs, &busybox, &modules)?;
        fs::write(&manifest_path, &manifest).map_err(io_err("write", &manifest_path))?;
    }
    Ok(VmAssets {
        package: pkg,
        version: ver,
        kver,
        kernel,
        bzimage,
        initramfs,
        modules: modules.iter().map(|(p, _)| module_file_name(p)).collect(),
        modroot: root,
    })
}

/// Extracts the uncompressed ELF `vmlinux` from the bzImage when the kernel supports PVH entry
/// (`CONFIG_PVH=y`), so qemu can boot it directly. Cached as `<kdir>/vmlinux`. None (boot the
/// bzImage) if anything does not fit, or if `KRS_VM_BZIMAGE=1`.
fn pvh_kernel(root: &Path, kver: &str, bzimage: &Path, kdir: &Path) -> Option<PathBuf> {
    if std::env::var("KRS_VM_BZIMAGE").is_ok_and(|v| v == "1") {
        return None;
    }
    let out = kdir.join("vmlinux");
    if out.is_file() {
        return Some(out);
    }
    let config = fs::read_to_string(root.join("boot").join(format!("config-{kver}"))).ok()?;
    if !config.lines().any(|l| l.trim() == "CONFIG_PVH=y") {
        return None;
    }
    let image = fs::read(bzimage).ok()?;
    // The compressed payload starts at the first format magic; try each format found.
    let formats: [(&[u8], &str, &[&str]); 3] = [
        (b"\xfd7zXZ\x00", "xz", &["-dc", "--single-stream"]),
        (b"\x28\xb5\x2f\xfd", "zstd", &["-dc"]),
        (b"\x1f\x8b\x08", "gzip", &["-dc"]),
    ];
    for (magic, tool, args) in formats {
        let Some(pos) = image.windows(magic.len()).position(|w| w == magic) else {
            continue;
        };
        let Some(payload) = image.get(pos..) else {
            continue;
        };
        let Ok(mut child) = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            continue;
        };
        let mut stdin = child.stdin.take()?;
        let payload = payload.to_vec();
        let writer = thread::spawn(move || {
            let _ = stdin.write_all(&payload);
        });
        let result = child.wait_with_output().ok()?;
        let _ = writer.join();
        let elf = result.stdout;
        // gzip/zstd complain about the bzImage's trailing bytes; the ELF check decides.
        if elf.len() > 1 << 20 && elf.starts_with(b"\x7fELF\x02\x01") {
            let tmp = kdir.join(format!("vmlinux.tmp{}", std::process::id()));
            fs::write(&tmp, &elf).ok()?;
            fs::rename(&tmp, &out).ok()?;
            return Some(out);
        }
    }
    None
}

fn fnv1a(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn newest_cached_kernel(kdir_root: &Path) -> Option<(String, String, PathBuf)> {
    let mut best: Option<(SystemTime, String, String, PathBuf)> = None;
    for e in fs::read_dir(kdir_root).ok()?.flatten() {
        let p = e.path();
        let Ok(m) = fs::metadata(p.join(".complete")) else {
            continue;
        };
        let t = m.modified().unwrap_or(UNIX_EPOCH);
        let name = e.file_name().to_string_lossy().into_owned();
        let (pkg, ver) = name.split_once('_').unwrap_or((name.as_str(), "?"));
        if best.as_ref().is_none_or(|b| t > b.0) {
            best = Some((t, pkg.to_string(), ver.to_string(), p));
        }
    }
    best.map(|(_, a, b, c)| (a, b, c))
}

/// apt-get download + dpkg -x + depmod into `kdir` (via a temporary directory, then renamed).
fn fetch_kernel(pkg: &str, ver: &str, kdir: &Path) -> Result<(), VmError> {
    let parent = kdir.parent().unwrap_or(kdir);
    let tmp = parent.join(format!(".tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(io_err("create", &tmp))?;
    eprintln!("krs-vm: downloading {pkg} {ver} (apt-get download)...");
    let spec = format!("{pkg}={ver}");
    let dl = run_host(
        Command::new("apt-get")
            .args(["download", "-q", &spec])
            .current_dir(&tmp),
    );
    if dl.is_err() {
        // Stale package lists are the usual cause: refresh once and retry.
        eprintln!("krs-vm: apt-get download failed, running apt-get update and retrying");
        let _ = run_host(Command::new("apt-get").args(["update", "-qq"]));
        run_host(
            Command::new("apt-get")
                .args(["download", "-q", &spec])
                .current_dir(&tmp),
        )?;
    }
    let deb = fs::read_dir(&tmp)
        .map_err(io_err("read dir", &tmp))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| {
            VmError::Kernel(format!(
                "apt-get download left no .deb in {}",
                tmp.display()
            ))
        })?;
    let root = tmp.join("root");
    eprintln!("krs-vm: unpacking {} (dpkg -x)...", deb.display());
    run_host(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
    let _ = fs::remove_file(&deb);
    let kver = kernel_release(&root)?;
    run_host(Command::new("depmod").arg("-b").arg(&root).arg(&kver))?;
    fs::write(tmp.join(".complete"), format!("{pkg} {ver} {kver}\n"))
        .map_err(io_err("write", tmp.join(".complete")))?;
    let _ = fs::remove_dir_all(kdir);
    fs::rename(&tmp, kdir).map_err(io_err("rename", kdir))?;
    Ok(())
}

/// The single `lib/modules/<kver>` directory of an unpacked kernel package.
fn kernel_release(root: &Path) -> Result<String, VmError> {
    let md = root.join("lib/modules");
    let mut found = Vec::new();
    for e in fs::read_dir(&md)
        .map_err(io_err("read dir", &md))?
        .flatten()
    {
        if e.path().join("modules.order").exists() || e.path().join("kernel").is_dir() {
            found.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    found.sort();
    found.pop().ok_or_else(|| {
        VmError::Kernel(format!(
            "no kernel release directory under {}",
            md.display()
        ))
    })
}

/// [`resolve_kernel_package`], remembered in `<vm>/kernel.resolved` until apt's package lists or
/// cache change (apt-cache costs ~1.5 s per call on a loaded machine).
fn resolve_kernel_package_cached(dir: &Path) -> Result<(String, String), VmError> {
    let mtime = |p: &str| {
        fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
    };
    let key = format!(
        "v1 {} {} {}",
        mtime("/var/lib/apt/lists"),
        mtime("/var/cache/apt/pkgcache.bin"),
        std::env::var("KRS_VM_KERNEL_PKG").unwrap_or_default()
    );
    let path = dir.join("kernel.resolved");
    if let Ok(text) = fs::read_to_string(&path) {
        let mut l = text.lines();
        if let (Some(k), Some(p), Some(v)) = (l.next(), l.next(), l.next()) {
            if k == key && !p.is_empty() && !v.is_empty() {
                return Ok((p.to_string(), v.to_string()));
            }
        }
    }
    let (pkg, ver) = resolve_kernel_package()?;
    let _ = fs::write(&path, format!("{key}\n{pkg}\n{ver}\n"));
    Ok((pkg, ver))
}

/// [`module_plan`], remembered in `<kdir>/modules.plan` for this module list.
fn module_plan_cached(
    root: &Path,
    kver: &str,
    kdir: &Path,
) -> Result<Vec<(PathBuf, String)>, VmError> {
    let key = format!(
        "v1 {} {:?} {:?}",
        root.display(),
        REQUIRED_MODULES,
        OPTIONAL_MODULES
    );
    let path = kdir.join("modules.plan");
    if let Ok(text) = fs::read_to_string(&path) {
        let mut lines = text.lines();
        if lines.next() == Some(key.as_str()) {
            let plan: Vec<(PathBuf, String)> = lines
                .map(|l| {
                    let (p, a) = l.split_once('\t').unwrap_or((l, ""));
                    (PathBuf::from(p), a.to_string())
                })
                .collect();
            if !plan.is_empty() && plan.iter().all(|(p, _)| p.is_file()) {
                return Ok(plan);
            }
        }
    }
    let plan = module_plan(root, kver)?;
    let mut text = key;
    text.push('\n');
    for (p, a) in &plan {
        let _ = writeln!(text, "{}\t{a}", p.display());
    }
    let _ = fs::write(&path, text);
    Ok(plan)
}

/// Modules to load, in dependency order, with their modprobe.d parameters.
fn module_plan(root: &Path, kver: &str) -> Result<Vec<(PathBuf, String)>, VmError> {
    let mut seen = HashSet::new();
    let mut plan = Vec::new();
    let all = REQUIRED_MODULES
        .iter()
        .map(|m| (m, true))
        .chain(OPTIONAL_MODULES.iter().map(|m| (m, false)));
    for (module, required) in all {
        let out = Command::new("modprobe")
            .arg("-d")
            .arg(root)
            .args(["-S", kver, "--show-depends", module])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| VmError::MissingTool {
                tool: "modprobe".into(),
                hint: format!("{e}: apt-get install kmod"),
            })?;
        if !out.status.success() {
            if required {
                return Err(VmError::ModuleMissing {
                    module: module.to_string(),
                    kver: kver.to_string(),
                    detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
            continue;
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut it = line.split_whitespace();
            if it.next() != Some("insmod") {
                continue; // "builtin X"
            }
            let Some(path) = it.next() else { continue };
            let args = it.collect::<Vec<_>>().join(" ");
            if seen.insert(path.to_string()) {
                plan.push((PathBuf::from(path), args));
            }
        }
    }
    Ok(plan)
}

fn module_file_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [".xz", ".zst", ".gz"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name
}

/// Reads a module, decompressing it on the host if needed (busybox insmod may not).
fn read_module(path: &Path) -> Result<Vec<u8>, VmError> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        Some("xz")
    } else if name.ends_with(".zst") {
        Some("zstd")
    } else if name.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => fs::read(path).map_err(io_err("read", path)),
        Some(t) => run_host(Command::new(t).arg("-dc").arg(path)),
    }
}

fn build_initramfs(
    out: &Path,
    busybox: &Path,
    modules: &[(PathBuf, String)],
) -> Result<(), VmError> {
    let mut w = CpioWriter::default();
    for d in [
        "bin",
        "sbin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "etc",
        "lib",
        "lib/modules",
        "newroot",
        "share",
        "usr",
        "usr/bin",
        "usr/sbin",
    ] {
        w.dir(d);
    }
    w.chardev("dev/console", 0o600, 5, 1);
    w.chardev("dev/null", 0o666, 1, 3);
    let bb = fs::read(busybox).map_err(io_err("read", busybox))?;
    w.file("bin/busybox", 0o755, &bb);
    w.symlink("bin/sh", "busybox");
    w.file("init", 0o755, INIT_SCRIPT.as_bytes());
    let mut list = String::new();
    let mut names = HashSet::new();
    for (path, args) in modules {
        let name = module_file_name(path);
        if !names.insert(name.clone()) {
            return Err(VmError::Kernel(format!("two modules named {name}")));
        }
        let data = read_module(path)?;
        w.file(&format!("lib/modules/{name}"), 0o644, &data);
        let _ = writeln!(list, "{name} {args}");
    }
    w.file("etc/krs-modules", 0o644, list.as_bytes());
    let bytes = w.finish();
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, out).map_err(io_err("rename", out))?;
    Ok(())
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
        while self.buf.len() % 4 != 0 {
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

// ---------------------------------------------------------------------------------------------
// Running

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Quotes a string for POSIX sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn new_run_dir() -> Result<PathBuf, VmError> {
    let runs = vm_dir().join("runs");
    fs::create_dir_all(&runs).map_err(io_err("create", &runs))?;
    prune_runs(&runs);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = runs.join(format!("{}-{}-{}", std::process::id(), n, now.as_millis()));
    fs::create_dir(&dir).map_err(io_err("create", &dir))?;
    Ok(dir)
}

/// Removes run directories older than a day.
fn prune_runs(runs: &Path) {
    let Ok(rd) = fs::read_dir(runs) else { return };
    for e in rd.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(24 * 3600));
        if old {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Shared state between the console reader thread and the waiter.
#[derive(Default)]
struct ConsoleState {
    ready: Option<Instant>,
    fail: Option<String>,
}

/// Boots the VM and runs `argv` (program + args) inside it. Returns when the command finished
/// (`VmOutput::exit_code` carries its exit code, which may be non-zero); Err if the VM could not
/// be prepared, did not boot, timed out or crashed.
pub fn run_in_vm<S: AsRef<str>>(opts: &VmOpts, argv: &[S]) -> Result<VmOutput, VmError> {
    if argv.is_empty() {
        return Err(VmError::BadArgs("empty command".into()));
    }
    let assets = prepare()?;
    let share = match &opts.share {
        Some(s) => {
            fs::create_dir_all(s).map_err(io_err("create", s))?;
            fs::canonicalize(s).map_err(io_err("canonicalize", s))?
        }
        None => new_run_dir()?,
    };
    let share_str = share
        .to_str()
        .ok_or_else(|| VmError::BadArgs(format!("share path {} is not UTF-8", share.display())))?
        .to_string();
    if share_str.contains('\n') || share_str.starts_with("/tmp/") || share_str == "/tmp" {
        return Err(VmError::BadArgs(format!(
            "share {share_str} must not be under /tmp (the VM mounts a tmpfs there)"
        )));
    }
    let cwd = match &opts.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir().map_err(io_err("getcwd", "."))?,
    };

    // Job script and init config in the share.
    for f in [
        "krs-vm.exit",
        "krs-vm.stdout",
        "krs-vm.stderr",
        "krs-vm.console.log",
    ] {
        let _ = fs::remove_file(share.join(f));
    }
    let mut job = String::from("#!/bin/sh\n# written by testlab::vm::run_in_vm\n");
    let mut env: Vec<(String, String)> = vec![
        ("KRS_IN_VM".into(), "1".into()),
        ("KRS_VM_SHARE".into(), share_str.clone()),
        ("PATH".into(), GUEST_PATH.into()),
        ("HOME".into(), "/root".into()),
        (
            "KRS_VM_MODROOT".into(),
            assets.modroot.to_string_lossy().into_owned(),
        ),
    ];
    for k in PASS_ENV {
        if let Ok(v) = std::env::var(k) {
            env.push((k.to_string(), v));
        }
    }
    env.extend(opts.env.iter().cloned());
    for (k, v) in &env {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(VmError::BadArgs(format!(
                "bad environment variable name {k:?}"
            )));
        }
        let _ = writeln!(job, "export {k}={}", sh_quote(v));
    }
    let cwd_s = cwd.to_string_lossy();
    let _ = writeln!(
        job,
        "cd {q} || {{ echo \"krs-vm: cannot cd to \"{q}\" inside the VM\" >&2; exit 125; }}",
        q = sh_quote(&cwd_s)
    );
    job.push_str("exec");
    for a in argv {
        job.push(' ');
        job.push_str(&sh_quote(a.as_ref()));
    }
    job.push('\n');
    let job_path = share.join("krs-vm.job");
    fs::write(&job_path, job).map_err(io_err("write", &job_path))?;
    let modroot = assets.modroot.to_string_lossy();
    let conf = format!(
        "KRS_SHARE={}\nKRS_JOB={}\nKRS_MODROOT={}\n",
        sh_quote(&share_str),
        sh_quote(&job_path.to_string_lossy()),
        if modroot.contains('\'') {
            String::new()
        } else {
            sh_quote(&modroot)
        },
    );
    let conf_path = share.join("krs-vm.conf");
    fs::write(&conf_path, conf).map_err(io_err("write", &conf_path))?;

    let console_path = share.join("krs-vm.console.log");
    let qemu_err_path = share.join("krs-vm.qemu-stderr");
    let qemu_err = fs::File::create(&qemu_err_path).map_err(io_err("create", &qemu_err_path))?;
    let qemu = find_in_path("qemu-system-x86_64").ok_or_else(|| VmError::MissingTool {
        tool: "qemu-system-x86_64".into(),
        hint: "apt-get install qemu-system-x86".into(),
    })?;
    // qemu runs under coreutils `timeout --foreground`, so it dies at the deadline even if this
    // process is killed first (no orphaned VMs eating the CI's two cores); --foreground keeps
    // qemu in our process group, so Ctrl-C still reaches it. Our own kill path sends SIGTERM to
    // `timeout`, which forwards it to qemu.
    let hard_limit = opts.timeout.as_secs() + 30;
    let wrapper = find_in_path("timeout");
    let mut cmd = match &wrapper {
        Some(t) => {
            let mut c = Command::new(t);
            c.args(["--foreground", "-s", "KILL", &format!("{hard_limit}s")])
                .arg(&qemu);
            c
        }
        None => Command::new(&qemu),
    };
    let accel = accel();
    // TCG: "max" emulates SSE4.2 etc. (crc32c-intel loads); KVM: the host CPU as is.
    let cpu = if accel.starts_with("kvm") {
        "host"
    } else {
        "max"
    };
    cmd.args(["-accel", &accel, "-cpu", cpu])
        .args([
            "-m",
            &opts.memory_mib.to_string(),
            "-smp",
            &opts.cpus.to_string(),
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .args(["-serial", "stdio", "-nic", "none"])
        .arg("-kernel")
        .arg(&assets.kernel)
        .arg("-initrd")
        .arg(&assets.initramfs)
        .args([
            "-append",
            "console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init mitigations=off",
        ])
        .args([
            "-virtfs",
            "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        ])
        .arg("-virtfs")
        .arg(format!(
            "local,path={},mount_tag=krsshare,security_model=none,multidevs=remap",
            share_str.replace(',', ",,")
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(qemu_err));
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            VmError::MissingTool {
                tool: "qemu-system-x86_64".into(),
                hint: "apt-get install qemu-system-x86".into(),
            }
        } else {
            VmError::Command {
                cmd: cmd_line(&cmd),
                status: "not started".into(),
                stderr: e.to_string(),
            }
        }
    })?;

    // Console reader: log file + markers.
    let state = Arc::new(Mutex::new(ConsoleState::default()));
    let console_thread = {
        let state = Arc::clone(&state);
        let stdout = child.stdout.take();
        let mut log = fs::File::create(&console_path).map_err(io_err("create", &console_path))?;
        let show = opts.show_console;
        thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut rd = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match rd.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let _ = log.write_all(&line);
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\r', '\n']);
                if show {
                    eprintln!("[vm] {text}");
                }
                if let Ok(mut st) = state.lock() {
                    if text.contains(READY_MARKER) && st.ready.is_none() {
                        st.ready = Some(Instant::now());
                    }
                    if let Some(pos) = text.find(FAIL_MARKER) {
                        st.fail = Some(text[pos + FAIL_MARKER.len()..].trim().to_string());
                    }
                }
            }
            let _ = log.flush();
        })
    };

    let mut streams = Streamer::new(&share, opts.stream);
    let mut status: Option<ExitStatus> = None;
    let mut timed_out = None;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                break;
            }
            Ok(None) => {}
            Err(e) => return Err(io_err("wait for qemu", "qemu-system-x86_64")(e)),
        }
        streams.pump();
        let ready = state.lock().ok().and_then(|s| s.ready);
        let elapsed = start.elapsed();
        if ready.is_none() && elapsed > opts.boot_timeout {
            timed_out = Some(true);
        } else if elapsed > opts.timeout {
            timed_out = Some(false);
        }
        if timed_out.is_some() {
            stop_qemu(&mut child);
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let total_time = start.elapsed();
    let _ = console_thread.join();
    streams.pump();
    let console =
        String::from_utf8_lossy(&fs::read(&console_path).unwrap_or_default()).into_owned();
    let (ready, fail) = match state.lock() {
        Ok(s) => (s.ready, s.fail.clone()),
        Err(_) => (None, None),
    };
    if let Some(reason) = fail {
        return Err(VmError::InitFailed {
            reason,
            console_log: console_path,
            tail: tail_lines(&console, 30),
        });
    }
    match timed_out {
        Some(true) => {
            return Err(VmError::BootTimeout {
                secs: opts.boot_timeout.as_secs(),
                console_log: console_path,
                tail: tail_lines(&console, 30),
            })
        }
        Some(false) => {
            return Err(VmError::Timeout {
                secs: opts.timeout.as_secs(),
                share,
                console_log: console_path,
            })
        }
        None => {}
    }
    let exit_text = fs::read_to_string(share.join("krs-vm.exit")).unwrap_or_default();
    let Ok(exit_code) = exit_text.trim().parse::<i32>() else {
        return Err(VmError::NoExitCode {
            status: status.map_or_else(|| "killed".to_string(), |s| s.to_string()),
            console_log: console_path,
            qemu_stderr: fs::read_to_string(&qemu_err_path)
                .unwrap_or_default()
                .trim()
                .to_string(),
            tail: tail_lines(&console, 30),
        });
    };
    let read = |f: &str| {
        String::from_utf8_lossy(&fs::read(share.join(f)).unwrap_or_default()).into_owned()
    };
    Ok(VmOutput {
        exit_code,
        stdout: read("krs-vm.stdout"),
        stderr: read("krs-vm.stderr"),
        console,
        boot_time: ready.map(|r| r.duration_since(start)).unwrap_or(total_time),
        total_time,
        share,
    })
}

/// Stops qemu (behind `timeout`): SIGTERM, which `timeout` forwards; SIGKILL after 5 s.
fn stop_qemu(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Copies new bytes of the guest's stdout/stderr files to ours while the VM runs.
struct Streamer {
    files: Vec<(PathBuf, u64, bool)>,
    on: bool,
}

impl Streamer {
    fn new(share: &Path, on: bool) -> Self {
        Streamer {
            files: vec![
                (share.join("krs-vm.stdout"), 0, false),
                (share.join("krs-vm.stderr"), 0, true),
            ],
            on,
        }
    }
    fn pump(&mut self) {
        if !self.on {
            return;
        }
        for (path, pos, is_err) in &mut self.files {
            let Ok(mut f) = fs::File::open(&*path) else {
                continue;
            };
            if f.seek(SeekFrom::Start(*pos)).is_err() {
                continue;
            }
            let mut buf = Vec::new();
            if f.read_to_end(&mut buf).is_err() || buf.is_empty() {
                continue;
            }
            *pos += buf.len() as u64;
            if *is_err {
                let mut e = io::stderr().lock();
                let _ = e.write_all(&buf);
                let _ = e.flush();
            } else {
                let mut o = io::stdout().lock();
                let _ = o.write_all(&buf);
                let _ = o.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves shell quoting survives quotes, spaces and metacharacters (the job script relies on it).
    #[test]
    fn sh_quote_roundtrip() {
        for s in ["plain", "with space", "it's", "$(rm -rf /)", "a'b'c", ""] {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", sh_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }

    // Proves the cpio writer produces a newc archive that GNU cpio lists with the right names.
    #[test]
    fn cpio_newc_is_readable() {
        let mut w = CpioWriter::default();
        w.dir("bin");
        w.file("bin/hello", 0o755, b"hello world");
        w.symlink("bin/sh", "busybox");
        w.chardev("dev/console", 0o600, 5, 1);
        let bytes = w.finish();
        assert_eq!(bytes.len() % 4, 0);
        let Ok(mut child) = Command::new("cpio")
            .args(["-t", "-H", "newc", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        else {
            eprintln!("cpio not installed; skipping the cross-check");
            return;
        };
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let names: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(names, ["bin", "bin/hello", "bin/sh", "dev/console"]);
    }

    // Proves the static-ELF detection: /bin/sh (dash) is dynamic; busybox-static, when installed, is static.
    #[test]
    fn static_elf_detection() {
        assert!(!is_static_elf(Path::new("/bin/sh")));
        if Path::new("/bin/busybox").exists() {
            assert!(is_static_elf(Path::new("/bin/busybox")));
        }
    }

    // Proves compressed module names map to the plain .ko name stored in the initramfs.
    #[test]
    fn module_names() {
        assert_eq!(module_file_name(Path::new("/x/ip_vs.ko.xz")), "ip_vs.ko");
        assert_eq!(module_file_name(Path::new("/x/ip_vs.ko.zst")), "ip_vs.ko");
        assert_eq!(module_file_name(Path::new("/x/ip_vs.ko")), "ip_vs.ko");
    }
}
