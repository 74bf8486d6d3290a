//! Reading and writing the keys: the real `/proc` backend and an in-memory one for tests.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::keys::{ConfKey, Target, CONF_ROOT};
use crate::Error;

/// Something that can read and write IPv4 conf keys.
pub trait Sysctl {
    /// Reads one key.
    fn read(&self, target: &Target, key: ConfKey) -> Result<i32, Error>;
    /// Writes one key.
    fn write(&mut self, target: &Target, key: ConfKey, value: i32) -> Result<(), Error>;
    /// Whether the conf directory of `target` exists (an interface may vanish).
    fn exists(&self, target: &Target) -> bool;
}

/// The real backend: files under [`CONF_ROOT`] (or another root, for tests).
/// The values are per network namespace: the process's namespace is the one used.
#[derive(Debug, Clone)]
pub struct ProcSysctl {
    root: PathBuf,
}

impl Default for ProcSysctl {
    fn default() -> Self {
        ProcSysctl {
            root: PathBuf::from(CONF_ROOT),
        }
    }
}

impl ProcSysctl {
    /// A backend rooted at `/proc/sys/net/ipv4/conf`.
    pub fn new() -> Self {
        Self::default()
    }
    /// A backend rooted elsewhere (a temporary directory in tests).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        ProcSysctl { root: root.into() }
    }
    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Sysctl for ProcSysctl {
    fn read(&self, target: &Target, key: ConfKey) -> Result<i32, Error> {
        let path = target.path(&self.root, key);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Sysctl {
            op: "read",
            path: path.clone(),
            source,
        })?;
        text.trim().parse::<i32>().map_err(|_| Error::SysctlParse {
            path,
            content: text.trim().chars().take(40).collect(),
        })
    }

    fn write(&mut self, target: &Target, key: ConfKey, value: i32) -> Result<(), Error> {
        let path = target.path(&self.root, key);
        // No O_CREAT: a missing key/interface must fail, not create a file.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|source| Error::Sysctl {
                op: "open for writing",
                path: path.clone(),
                source,
            })?;
        f.write_all(format!("{value}\n").as_bytes())
            .map_err(|source| Error::Sysctl {
                op: "write",
                path,
                source,
            })
    }

    fn exists(&self, target: &Target) -> bool {
        self.root.join(target.dir_name()).is_dir()
    }
}

/// An in-memory backend that can be told to fail, for testing save/restore/rollback
/// logic without root.
#[derive(Debug, Clone, Default)]
pub struct MemSysctl {
    /// Current values.
    pub values: BTreeMap<(Target, ConfKey), i32>,
    /// Writes to these fail with EACCES.
    pub fail_writes: Vec<(Target, ConfKey)>,
    /// Every successful write, in order.
    pub log: Vec<(Target, ConfKey, i32)>,
}

impl MemSysctl {
    /// A backend where `all`, `default`, `lo` and the given interfaces have every key = 0.
    pub fn with_ifaces(ifaces: &[&str]) -> Self {
        let mut m = MemSysctl::default();
        let mut targets = vec![Target::All, Target::Default, Target::Iface("lo".into())];
        targets.extend(ifaces.iter().map(|i| Target::Iface((*i).to_string())));
        for t in targets {
            for k in ConfKey::ALL {
                m.values.insert((t.clone(), *k), 0);
            }
        }
        m
    }
    /// Sets a value directly (not logged).
    pub fn set(&mut self, target: &Target, key: ConfKey, v: i32) {
        self.values.insert((target.clone(), key), v);
    }
    /// Gets a value directly.
    pub fn get(&self, target: &Target, key: ConfKey) -> Option<i32> {
        self.values.get(&(target.clone(), key)).copied()
    }
}

impl Sysctl for MemSysctl {
    fn read(&self, target: &Target, key: ConfKey) -> Result<i32, Error> {
        self.get(target, key).ok_or_else(|| Error::Sysctl {
            op: "read",
            path: target.path(Path::new(CONF_ROOT), key),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
    }
    fn write(&mut self, target: &Target, key: ConfKey, value: i32) -> Result<(), Error> {
        let path = target.path(Path::new(CONF_ROOT), key);
        if self
            .fail_writes
            .iter()
            .any(|(t, k)| t == target && *k == key)
        {
            return Err(Error::Sysctl {
                op: "write",
                path,
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            });
        }
        if !self.values.contains_key(&(target.clone(), key)) {
            return Err(Error::Sysctl {
                op: "open for writing",
                path,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        self.values.insert((target.clone(), key), value);
        self.log.push((target.clone(), key, value));
        Ok(())
    }
    fn exists(&self, target: &Target) -> bool {
        self.values.keys().any(|(t, _)| t == target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the /proc backend reads and writes the right files, including a VLAN name
    // with a dot, and never creates missing files.
    #[test]
    fn proc_backend_on_a_fake_root() {
        let dir = std::env::temp_dir().join(format!("arp-sysctl-test-{}", std::process::id()));
        let vlan = dir.join("eth0.100");
        std::fs::create_dir_all(&vlan).unwrap();
        std::fs::write(vlan.join("arp_ignore"), "3\n").unwrap();
        let mut be = ProcSysctl::with_root(&dir);
        let t = Target::iface("eth0.100").unwrap();
        assert_eq!(be.read(&t, ConfKey::ArpIgnore).unwrap(), 3);
        be.write(&t, ConfKey::ArpIgnore, 1).unwrap();
        assert_eq!(
            std::fs::read_to_string(vlan.join("arp_ignore")).unwrap(),
            "1\n"
        );
        assert!(be.exists(&t));
        assert!(!be.exists(&Target::iface("eth1").unwrap()));
        // Missing key: error, and no file is created.
        assert!(be.write(&t, ConfKey::ArpAnnounce, 2).is_err());
        assert!(!vlan.join("arp_announce").exists());
        std::fs::write(vlan.join("rp_filter"), "garbage").unwrap();
        assert!(matches!(
            be.read(&t, ConfKey::RpFilter),
            Err(Error::SysctlParse { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // Proves the real /proc tree is readable with the paths we build (read-only check).
    #[test]
    fn proc_backend_reads_real_proc() {
        let be = ProcSysctl::new();
        if be.exists(&Target::All) {
            let v = be.read(&Target::All, ConfKey::ArpIgnore).unwrap();
            assert!((0..=8).contains(&v));
        }
    }
}
