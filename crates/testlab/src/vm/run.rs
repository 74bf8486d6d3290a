//! Booting the VM with qemu and streaming the guest's console.

use super::*;

// ---------------------------------------------------------------------------------------------
// Running

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

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
