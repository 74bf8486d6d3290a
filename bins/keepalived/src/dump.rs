//! keepalived's dump files under `$TMPDIR` (absolute, else /tmp): SIGUSR1 writes
//! `keepalived_parent.data` (parent), `keepalived.data` (VRRP), `keepalived_check.data`
//! (checker); SIGUSR2 writes `keepalived.stats` (VRRP); SIGJSON writes `keepalived.json` (VRRP).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::worker::WorkerKind;

/// Parent's USR1 file.
pub const PARENT_DATA_FILE: &str = "keepalived_parent.data";
/// VRRP USR1 file.
pub const VRRP_DATA_FILE: &str = "keepalived.data";
/// Checker USR1 file.
pub const CHECK_DATA_FILE: &str = "keepalived_check.data";
/// BFD USR1 file.
pub const BFD_DATA_FILE: &str = "keepalived_bfd.data";
/// VRRP USR2 file.
pub const STATS_FILE: &str = "keepalived.stats";
/// VRRP JSON file.
pub const JSON_FILE: &str = "keepalived.json";

/// keepalived's `set_tmp_dir`.
pub fn tmp_dir() -> PathBuf {
    match std::env::var("TMPDIR") {
        Ok(d) if d.starts_with('/') => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// What names the SIGUSR1 `.data` files: `state_dump_file` (keepalived 2.4) and
/// `data_use_instance` with the instance name and network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataNaming {
    /// `state_dump_file PATH`.
    pub state_dump_file: Option<String>,
    /// `data_use_instance`.
    pub use_instance: bool,
    /// `instance NAME`.
    pub instance: Option<String>,
    /// `net_namespace NAME`.
    pub namespace: Option<String>,
}

impl DataNaming {
    /// The naming a configuration asks for.
    pub fn of(g: &conf_parse::GlobalDefs) -> Self {
        DataNaming {
            state_dump_file: g.state_dump_file.clone(),
            use_instance: g.data_use_instance,
            instance: g.instance.clone(),
            namespace: g.net_namespace.clone(),
        }
    }

    /// keepalived 2.4.3's `open_dump_file(suffix)` (2.2.7 has no `state_dump_file`, the rest
    /// the same): the directory is `state_dump_file`'s if it is absolute, else `$TMPDIR`; the
    /// name is its last component unless it ends in `/` (then `keepalived.data`); the process
    /// `suffix` (`""`, `_check`, `_bfd`, `_parent`) and, with `data_use_instance`,
    /// `.NAMESPACE_INSTANCE` go before the name's last dot.
    pub fn path(&self, tmp: &Path, suffix: &str) -> PathBuf {
        let sdf = self.state_dump_file.as_deref().filter(|s| !s.is_empty());
        let dir: PathBuf = match sdf {
            Some(s) if s.starts_with('/') => {
                if s.ends_with('/') {
                    PathBuf::from(s)
                } else {
                    // An absolute path has a '/': the directory is up to the last one.
                    PathBuf::from(&s[..s.rfind('/').unwrap_or(0).max(1)])
                }
            }
            _ => tmp.to_path_buf(),
        };
        let file = match sdf {
            Some(s) if !s.ends_with('/') => s.rsplit('/').next().unwrap_or(s),
            _ => VRRP_DATA_FILE,
        };
        let dot = file.rfind('.').unwrap_or(file.len());
        let mut inst = String::new();
        if self.use_instance && (self.instance.is_some() || self.namespace.is_some()) {
            inst.push('.');
            if let Some(ns) = &self.namespace {
                inst.push_str(ns);
            }
            if self.instance.is_some() && self.namespace.is_some() {
                inst.push('_');
            }
            if let Some(i) = &self.instance {
                inst.push_str(i);
            }
        }
        dir.join(format!("{}{suffix}{inst}{}", &file[..dot], &file[dot..]))
    }
}

static NAMING: std::sync::RwLock<Option<DataNaming>> = std::sync::RwLock::new(None);

/// Sets this process's `.data` file naming from the configuration it runs (at start and at
/// every reload it adopts).
pub fn configure(g: &conf_parse::GlobalDefs) {
    set_naming(DataNaming::of(g));
}

/// Sets this process's `.data` file naming.
pub fn set_naming(naming: DataNaming) {
    if let Ok(mut n) = NAMING.write() {
        *n = Some(naming);
    }
}

/// The SIGUSR1 file of this process: `suffix` is `""` (VRRP), `_check`, `_bfd` or `_parent`.
pub fn data_path(suffix: &str) -> PathBuf {
    let naming = NAMING
        .read()
        .ok()
        .and_then(|n| n.clone())
        .unwrap_or_default();
    naming.path(&tmp_dir(), suffix)
}

/// The SIGUSR1 file suffix of a worker.
pub fn data_suffix(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::Vrrp => "",
        WorkerKind::Checker => "_check",
        WorkerKind::Bfd => "_bfd",
    }
}

/// Writes a SIGUSR1 `.data` file (see [`data_path`]).
pub fn write_data(suffix: &str, text: &str) {
    write_path(&data_path(suffix), text);
}

/// Write `text` to `$TMPDIR/name` (O_NOFOLLOW, 0666 less the umask: keepalived's fopen_safe,
/// 0600 under its default umask 0177), logging failures.
pub fn write(name: &str, text: &str) {
    write_path(&tmp_dir().join(name), text);
}

fn write_path(path: &Path, text: &str) {
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = res {
        crate::info!("Can't open dump file {} ({e})", path.display());
    }
}

#[cfg(test)]
mod naming_tests {
    use super::DataNaming;
    use std::path::Path;

    fn p(n: &DataNaming, suffix: &str) -> String {
        n.path(Path::new("/tmp"), suffix).display().to_string()
    }

    #[test]
    fn data_file_names_as_keepalived_open_dump_file() {
        let mut n = DataNaming::default();
        assert_eq!(p(&n, ""), "/tmp/keepalived.data");
        assert_eq!(p(&n, "_check"), "/tmp/keepalived_check.data");
        n.use_instance = true;
        assert_eq!(p(&n, "_parent"), "/tmp/keepalived_parent.data");
        n.instance = Some("abc".into());
        assert_eq!(p(&n, "_parent"), "/tmp/keepalived_parent.abc.data");
        n.namespace = Some("ns1".into());
        assert_eq!(p(&n, "_bfd"), "/tmp/keepalived_bfd.ns1_abc.data");
        n.instance = None;
        assert_eq!(p(&n, ""), "/tmp/keepalived.ns1.data");
        let mut n = DataNaming {
            state_dump_file: Some("/var/kd/state.txt".into()),
            ..DataNaming::default()
        };
        assert_eq!(p(&n, "_check"), "/var/kd/state_check.txt");
        n.state_dump_file = Some("/var/kd/".into());
        assert_eq!(p(&n, ""), "/var/kd/keepalived.data");
        n.state_dump_file = Some("rel/dir/x".into());
        assert_eq!(p(&n, "_parent"), "/tmp/x_parent");
        n.state_dump_file = Some("/top.d".into());
        assert_eq!(p(&n, ""), "/top.d");
        n.state_dump_file = Some("/a.b/c".into());
        assert_eq!(p(&n, "_check"), "/a.b/c_check");
    }
}
