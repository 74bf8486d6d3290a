//! The lab itself: creating its bridge and hosts, and cleaning everything up on drop.

use super::*;

/// A lab: a bridge namespace plus host namespaces. Dropping it removes everything.
pub struct Lab {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("name", &self.shared.name)
            .finish()
    }
}

impl Lab {
    /// Creates a lab named after `tag` (see the module docs), with the bridge `br0` in the
    /// namespace `<lab>-br`. The first lab of a process sweeps stale labs of dead processes.
    pub fn new(tag: &str) -> Result<Lab> {
        prerequisites_once()?;
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            if let Err(e) = sweep(false) {
                eprintln!("krs-lab: sweep of stale labs: {e}");
            }
        });
        let pid = std::process::id();
        let name = lab_name(tag, pid, COUNTER.fetch_add(1, Ordering::Relaxed));
        // Marker first: while any of our namespaces exists, the marker does.
        fs::create_dir_all(MARKER_DIR).map_err(io_err("create", MARKER_DIR))?;
        let marker = marker_path(&name);
        let st = start_time(pid).map(|s| s.to_string()).unwrap_or_default();
        fs::write(&marker, format!("{pid} {st}\n")).map_err(io_err("write", &marker))?;
        let dir = temp_root().join(&name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let lab = Lab {
            shared: Arc::new(Shared {
                name,
                dir,
                namespaces: Mutex::new(Vec::new()),
                hosts: Mutex::new(BTreeMap::new()),
                segments: Mutex::new(Vec::new()),
                ports: Mutex::new(BTreeMap::new()),
                procs: Mutex::new(Vec::new()),
                veth_count: AtomicU32::new(0),
                proc_count: AtomicU32::new(0),
            }),
        };
        // On error `lab` is dropped here and cleans up what exists.
        let br = lab.bridge_ns();
        lab.add_ns(&br)?;
        // No IPv6 on the bridges and their ports: the bridge namespace stays a silent switch.
        sysctls_in(&br, &[("net.ipv6.conf.default.disable_ipv6", "1")])?;
        lab.segment_named(BRIDGE)?;
        Ok(lab)
    }

    /// The lab's name (`krs-<tag>-<pid>-<n>`, at most 15 characters).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The lab's temp directory (process output, captures). Removed on drop unless
    /// `KRS_LAB_KEEP=1`.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Name of the namespace holding the bridges.
    pub fn bridge_ns(&self) -> String {
        format!("{}-br", self.shared.name)
    }

    /// All namespaces of this lab (bridge first).
    pub fn namespaces(&self) -> Vec<String> {
        lock(&self.shared.namespaces).clone()
    }

    fn add_ns(&self, ns: &str) -> Result<()> {
        ip(&["netns", "add", ns]).map_err(|e| match e {
            LabError::Command {
                cmd,
                status,
                stderr,
            } if stderr.contains("ermission") => LabError::Prerequisite {
                what: format!("`{cmd}` failed ({status}): {stderr}"),
                hint: "run as root with CAP_SYS_ADMIN and CAP_NET_ADMIN".into(),
            },
            e => e,
        })?;
        lock(&self.shared.namespaces).push(ns.to_string());
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    fn segment_named(&self, br: &str) -> Result<()> {
        check_ifname(br)?;
        let ns = self.bridge_ns();
        ip(&[
            "-n",
            &ns,
            "link",
            "add",
            br,
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ])?;
        ip(&["-n", &ns, "link", "set", br, "up"])?;
        lock(&self.shared.segments).push(br.to_string());
        Ok(())
    }

    /// Adds another LAN: a bridge called `name` (at most 15 characters) in the bridge namespace.
    /// Plug hosts into it with [`Host::attach`]. The default LAN is [`BRIDGE`] (`br0`).
    pub fn segment(&self, name: &str) -> Result<()> {
        check_host_name(name)?;
        if lock(&self.shared.segments).iter().any(|s| s == name) {
            return Err(LabError::BadArg(format!("segment {name} exists")));
        }
        self.segment_named(name)
    }

    /// Creates host `name`: namespace `<lab>-<name>` with `lo` up, IPv6 DAD off, and `eth0`
    /// plugged into `br0` and up (no address yet).
    pub fn host(&self, name: &str) -> Result<Host> {
        let h = self.host_unplugged(name)?;
        h.attach(HOST_IF, BRIDGE)?;
        Ok(h)
    }

    /// Like [`Lab::host`] but without any interface besides `lo`.
    pub fn host_unplugged(&self, name: &str) -> Result<Host> {
        check_host_name(name)?;
        if name == "br" {
            return Err(LabError::BadArg("host name `br` is reserved".into()));
        }
        if lock(&self.shared.hosts).contains_key(name) {
            return Err(LabError::BadArg(format!("host {name} exists")));
        }
        let ns = format!("{}-{name}", self.shared.name);
        self.add_ns(&ns)?;
        sysctls_in(
            &ns,
            &[
                ("net.ipv6.conf.all.accept_dad", "0"),
                ("net.ipv6.conf.default.accept_dad", "0"),
                ("net.ipv6.conf.all.dad_transmits", "0"),
                ("net.ipv6.conf.default.dad_transmits", "0"),
            ],
        )?;
        let h = Host {
            short: name.to_string(),
            ns,
            shared: Arc::clone(&self.shared),
        };
        lock(&self.shared.hosts).insert(name.to_string(), h.clone());
        Ok(h)
    }

    /// A host created earlier, by name.
    pub fn get(&self, name: &str) -> Option<Host> {
        lock(&self.shared.hosts).get(name).cloned()
    }

    /// Starts a packet capture on `dev` inside host `host`, writing a classic pcap file
    /// `<lab dir>/<tag>-<n>.pcap` ([`Proc::pcap_path`]). Uses tcpdump if installed, else dumpcap,
    /// else tshark. Returns once the capture runs. Stop it with [`Proc::stop`] before reading
    /// the file with [`read_pcap`].
    pub fn capture(&self, host: &str, dev: &str, tag: &str) -> Result<Proc> {
        let h = self
            .get(host)
            .ok_or_else(|| LabError::BadArg(format!("no host {host} in lab {}", self.name())))?;
        h.capture(dev, tag)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let sh = &self.shared;
        let procs: Vec<ProcEntry> = lock(&sh.procs).drain(..).collect();
        // 0. A failing test: show what its processes said (libtest prints it with the failure).
        if thread::panicking() {
            for p in &procs {
                for log in &p.logs {
                    let text = fs::read(log).unwrap_or_default();
                    let text = String::from_utf8_lossy(&text);
                    if !text.trim().is_empty() {
                        eprintln!(
                            "--- lab {}: `{}` {} (last 40 lines):\n{}",
                            sh.name,
                            p.cmd,
                            log.extension().and_then(|e| e.to_str()).unwrap_or(""),
                            tail_lines(&text, 40)
                        );
                    }
                }
            }
        }
        // 1. process groups we started (reaped below).
        for p in &procs {
            if let Ok(pid) = i32::try_from(p.pid) {
                let _ = signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        // 2. anything else inside our namespaces, then the namespaces (hosts first).
        let mut nss = lock(&sh.namespaces).clone();
        nss.reverse();
        for ns in &nss {
            if let Err(e) = delete_ns(ns) {
                eprintln!("krs-lab: cleanup of {ns}: {e}");
            }
        }
        for p in &procs {
            let mut c = lock(&p.child);
            let _ = c.kill();
            let _ = c.wait();
        }
        let keep = std::env::var("KRS_LAB_KEEP").is_ok_and(|v| v == "1");
        if keep {
            eprintln!("krs-lab: kept {} (KRS_LAB_KEEP=1)", sh.dir.display());
        } else {
            let _ = fs::remove_dir_all(&sh.dir);
        }
        let _ = fs::remove_file(marker_path(&sh.name));
    }
}
