//! Building the VM assets: the PVH kernel (from a Debian package when needed), its modules
//! and the initramfs.

use super::*;

pub(super) fn accel() -> String {
    std::env::var("KRS_VM_ACCEL").unwrap_or_else(|_| "tcg".into())
}

// ---------------------------------------------------------------------------------------------
// Asset preparation

/// Resolves the real kernel package behind `linux-image-amd64` and its candidate version.
pub(super) fn resolve_kernel_package() -> Result<(String, String), VmError> {
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

pub(super) fn module_file_name(path: &Path) -> String {
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
