//! Finding the namespaces and labs on this machine, and sweeping the ones left behind.

use super::*;

// ---------------------------------------------------------------------------------------------
// Markers and the sweep

/// Start time of a process (field 22 of /proc/PID/stat), to tell a live creator from a reused pid.
pub(super) fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parentheses: fields start after the last ')'.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

fn pid_alive(pid: u32) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    if p <= 0 {
        return false;
    }
    !matches!(
        signal::kill(Pid::from_raw(p), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// Whether the creator recorded in a marker ("<pid> <starttime>") still runs.
pub(super) fn marker_creator_alive(marker: &str, pid_from_name: u32) -> bool {
    let mut it = marker.split_whitespace();
    let pid = it
        .next()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(pid_from_name);
    let st = it.next().and_then(|s| s.parse::<u64>().ok());
    if !pid_alive(pid) {
        return false;
    }
    match (st, start_time(pid)) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    }
}

pub(super) fn marker_path(lab: &str) -> PathBuf {
    Path::new(MARKER_DIR).join(format!("{lab}.pid"))
}

pub(super) fn temp_root() -> PathBuf {
    std::env::temp_dir().join("krs-lab")
}

/// All network namespaces named by `ip netns` (from /run/netns).
pub fn list_namespaces() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(NETNS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// State of one lab found on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabInfo {
    /// Lab name.
    pub name: String,
    /// Creator pid (from the marker, else from the name).
    pub pid: u32,
    /// Whether a marker file exists.
    pub has_marker: bool,
    /// Whether the creator still runs.
    pub alive: bool,
    /// Its namespaces.
    pub namespaces: Vec<String>,
}

/// Lists labs: every namespace with the lab name shape plus every marker file.
pub fn list_labs() -> Vec<LabInfo> {
    let mut labs: BTreeMap<String, LabInfo> = BTreeMap::new();
    for ns in list_namespaces() {
        if let Some((lab, pid, _)) = parse_ns_name(&ns) {
            labs.entry(lab.clone())
                .or_insert_with(|| LabInfo {
                    name: lab,
                    pid,
                    has_marker: false,
                    alive: true,
                    namespaces: Vec::new(),
                })
                .namespaces
                .push(ns);
        }
    }
    if let Ok(rd) = fs::read_dir(MARKER_DIR) {
        for e in rd.filter_map(|e| e.ok()) {
            let f = e.file_name().to_string_lossy().into_owned();
            let Some(lab) = f.strip_suffix(".pid") else {
                continue;
            };
            let Some((_, pid, None)) = parse_ns_name(lab) else {
                continue;
            };
            labs.entry(lab.to_string()).or_insert_with(|| LabInfo {
                name: lab.to_string(),
                pid,
                has_marker: false,
                alive: true,
                namespaces: Vec::new(),
            });
        }
    }
    for info in labs.values_mut() {
        match fs::read_to_string(marker_path(&info.name)) {
            Ok(m) => {
                info.has_marker = true;
                if let Some(p) = m.split_whitespace().next().and_then(|s| s.parse().ok()) {
                    info.pid = p;
                }
                info.alive = marker_creator_alive(&m, info.pid);
            }
            Err(_) => info.alive = pid_alive(info.pid),
        }
    }
    labs.into_values().collect()
}

/// Kills every process inside a namespace (`ip netns pids`).
fn kill_ns_pids(ns: &str) {
    for _ in 0..3 {
        let Ok(out) = Command::new("ip")
            .args(["netns", "pids", ns])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        else {
            return;
        };
        let pids: Vec<i32> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .filter(|&p: &i32| p > 1 && u32::try_from(p).ok() != Some(std::process::id()))
            .collect();
        if pids.is_empty() {
            return;
        }
        for p in pids {
            let _ = signal::kill(Pid::from_raw(p), Signal::SIGKILL);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

pub(super) fn delete_ns(ns: &str) -> Result<()> {
    kill_ns_pids(ns);
    if !Path::new(NETNS_DIR).join(ns).exists() {
        return Ok(());
    }
    ip(&["netns", "del", ns]).map(|_| ())
}

/// Removes labs whose creator is dead (namespaces, their processes, markers, temp dirs).
/// Namespaces of a lab without a marker file are left alone unless `include_unmarked` (they may
/// belong to something else that happens to use the same naming). Returns the removed
/// namespaces.
pub fn sweep(include_unmarked: bool) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut first_err = None;
    for info in list_labs() {
        if info.alive || (!info.has_marker && !include_unmarked) {
            continue;
        }
        for ns in &info.namespaces {
            match delete_ns(ns) {
                Ok(()) => removed.push(ns.clone()),
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(temp_root().join(&info.name));
        let _ = fs::remove_file(marker_path(&info.name));
    }
    // Temp dirs of dead labs without namespaces or markers.
    if let Ok(rd) = fs::read_dir(temp_root()) {
        for e in rd.filter_map(|e| e.ok()) {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some((lab, pid, None)) = parse_ns_name(&f) {
                if lab == f && !marker_path(&lab).exists() && !pid_alive(pid) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
    match first_err {
        Some(e) if removed.is_empty() => Err(e),
        _ => Ok(removed),
    }
}
