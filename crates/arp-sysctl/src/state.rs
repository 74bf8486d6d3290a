//! What `start` changed, saved so that `stop` can restore exactly the originals.
//!
//! One JSON file, `<state dir>/state.json`, written atomically (temporary file, fsync,
//! rename). The default directory is `/run/lvs-realserver` (tmpfs: it disappears at reboot,
//! together with the addresses and sysctl values it describes).

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// Current state file format version.
pub const STATE_VERSION: u32 = 1;
/// File name inside the state directory.
pub const STATE_FILE: &str = "state.json";
/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/run/lvs-realserver";

/// LVS forwarding method of the real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Direct routing: VIPs on `lo`, ARP for them suppressed.
    Dr,
    /// IP-in-IP tunnelling: VIPs on `tunl0`, reverse-path filter relaxed.
    Tun,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        })
    }
}

/// A VIP we added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedVip {
    /// The address.
    pub addr: IpAddr,
    /// 32 or 128.
    pub prefix_len: u8,
    /// Device it lives on (`lo` or `tunl0`).
    pub dev: String,
    /// IPv4 label, if any.
    pub label: Option<String>,
}

/// A sysctl we manage: its value before we touched it and the value we set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSysctl {
    /// `all`, `default` or an interface name.
    pub target: String,
    /// Key name (`arp_ignore`).
    pub key: String,
    /// Value found before `start` (restored by `stop`).
    pub original: i32,
    /// Value `start` set (compared by `status`).
    pub applied: i32,
}

/// A link we brought up or created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedLink {
    /// Interface name.
    pub name: String,
    /// We created it (so `stop` deletes it).
    pub created: bool,
    /// It was administratively up before (so `stop` leaves it up).
    pub was_up: bool,
}

/// Everything `start` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Mode used.
    pub mode: Mode,
    /// The `--iface` given, if any.
    pub iface: Option<String>,
    /// VIPs added.
    pub vips: Vec<SavedVip>,
    /// Sysctls managed.
    pub sysctls: Vec<SavedSysctl>,
    /// Links managed.
    pub links: Vec<SavedLink>,
}

impl State {
    /// An empty state for `mode`.
    pub fn new(mode: Mode, iface: Option<String>) -> Self {
        State {
            version: STATE_VERSION,
            mode,
            iface,
            vips: Vec::new(),
            sysctls: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Path of the state file in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Loads the state from `dir`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<State>, Error> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::State {
                    path,
                    detail: e.to_string(),
                })
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| Error::State {
            path: path.clone(),
            detail: format!("corrupt: {e}"),
        })?;
        if state.version != STATE_VERSION {
            return Err(Error::State {
                path,
                detail: format!(
                    "version {} is not supported (expected {STATE_VERSION})",
                    state.version
                ),
            });
        }
        Ok(Some(state))
    }

    /// Saves atomically to `dir` (created with mode 0755 if needed).
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        let path = Self::path(dir);
        let err = |detail: String| Error::State {
            path: path.clone(),
            detail,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(format!("create directory: {e}")))?;
        let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
        let json =
            serde_json::to_string_pretty(self).map_err(|e| err(format!("serialize: {e}")))?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| err(format!("create: {e}")))?;
        f.write_all(json.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .and_then(|_| f.sync_all())
            .map_err(|e| err(format!("write: {e}")))?;
        std::fs::rename(&tmp, &path).map_err(|e| err(format!("rename: {e}")))?;
        Ok(())
    }

    /// Removes the state file (no error when absent).
    pub fn remove(dir: &Path) -> Result<(), Error> {
        let path = Self::path(dir);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::State {
                path,
                detail: e.to_string(),
            }),
        }
    }

    /// The saved entry for a sysctl, if managed.
    pub fn sysctl(&self, target: &str, key: &str) -> Option<&SavedSysctl> {
        self.sysctls
            .iter()
            .find(|s| s.target == target && s.key == key)
    }

    /// The saved entry for a VIP, if managed.
    pub fn vip(&self, addr: IpAddr) -> Option<&SavedVip> {
        self.vips.iter().find(|v| v.addr == addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a state file survives a save/load round trip byte-for-byte in meaning, and
    // that a missing file is "no state" while a corrupt one is an error.
    #[test]
    fn roundtrip_and_corruption() {
        let dir = std::env::temp_dir().join(format!("arp-sysctl-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(State::load(&dir).unwrap(), None);
        let mut s = State::new(Mode::Dr, Some("eth0.100".into()));
        s.vips.push(SavedVip {
            addr: "192.0.2.10".parse().unwrap(),
            prefix_len: 32,
            dev: "lo".into(),
            label: Some("lo:rs0".into()),
        });
        s.vips.push(SavedVip {
            addr: "fd00::10".parse().unwrap(),
            prefix_len: 128,
            dev: "lo".into(),
            label: None,
        });
        s.sysctls.push(SavedSysctl {
            target: "all".into(),
            key: "arp_ignore".into(),
            original: 3,
            applied: 1,
        });
        s.links.push(SavedLink {
            name: "tunl0".into(),
            created: true,
            was_up: false,
        });
        s.save(&dir).unwrap();
        let back = State::load(&dir).unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(back.sysctl("all", "arp_ignore").unwrap().original, 3);
        std::fs::write(State::path(&dir), "{not json").unwrap();
        assert!(matches!(State::load(&dir), Err(Error::State { .. })));
        State::remove(&dir).unwrap();
        State::remove(&dir).unwrap();
        assert_eq!(State::load(&dir).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
