//! Link state by polling instead of netlink (keepalived's linkbeat): the interfaces of
//! `linkbeat_interfaces { IFNAME [MII|ETHTOOL|IOCTL] }`, and with `linkbeat_use_polling` (top
//! level: every instance's interface; in an instance, deprecated: its own) are read every second
//! ([`netplat::linkbeat::Linkbeat`]: MII, else ethtool, else the interface flags); the
//! instances see the state last polled, and netlink's link changes of those interfaces are not
//! used (keepalived `netlink_link_filter`: "Ignore interface if we are using linkbeat on it").
//! As keepalived's `init_interface_linkbeat`, an interface no instance tracks is not polled,
//! nor a VMAC/macvlan/ipvlan one (netlink works for those).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use conf_parse::{Config, LinkbeatType};
use netplat::linkbeat::{Linkbeat, LinkbeatKind};

/// keepalived's POLLING_DELAY.
pub(crate) const POLLING_DELAY: Duration = Duration::from_secs(1);

/// One polled interface.
#[derive(Debug)]
struct Polled {
    /// The method configured, and the one that works (found at the first poll).
    wanted: Option<LinkbeatKind>,
    kind: Option<LinkbeatKind>,
    /// None: not polled yet.
    up: Option<bool>,
}

/// The polled interfaces by name.
#[derive(Debug, Default)]
pub(crate) struct Linkbeats {
    sock: Option<Linkbeat>,
    ifs: BTreeMap<String, Polled>,
    next: Option<Instant>,
}

impl Linkbeats {
    /// The interfaces `config` polls (their state carried over from `old`), given the links
    /// there are now.
    pub(crate) fn from_config(
        config: &Config,
        links: &[netplat::Link],
        old: Option<Linkbeats>,
    ) -> Linkbeats {
        let mut wanted: BTreeMap<String, Option<LinkbeatKind>> = BTreeMap::new();
        let kind = |k: LinkbeatType| match k {
            LinkbeatType::Mii => LinkbeatKind::Mii,
            LinkbeatType::Ethtool => LinkbeatKind::Ethtool,
            LinkbeatType::Ioctl => LinkbeatKind::Ioctl,
        };
        for l in &config.linkbeat_interfaces {
            wanted.insert(l.name.clone(), l.kind.map(kind));
        }
        for ci in &config.vrrp_instances {
            if !(config.global.linkbeat_use_polling || ci.linkbeat_use_polling)
                || ci.use_vmac.is_some()
                || ci.use_ipvlan.is_some()
            {
                continue;
            }
            if let Some(i) = &ci.interface {
                wanted.entry(i.clone()).or_insert(None);
            }
        }
        let tracked = |name: &str| {
            config.vrrp_instances.iter().any(|ci| {
                ci.interface.as_deref() == Some(name)
                    || ci.track_interface.iter().any(|t| t.name == name)
            }) || config
                .sync_groups
                .iter()
                .any(|g| g.track_interface.iter().any(|t| t.name == name))
        };
        let mut old = old.unwrap_or_default();
        let mut ifs = BTreeMap::new();
        for (name, w) in wanted {
            if !tracked(&name) {
                log::info!("Turning off linkbeat for {name} since not used for tracking");
                continue;
            }
            let is_vlan = links.iter().any(|l| {
                l.name == name
                    && matches!(
                        l.kind.as_deref(),
                        Some("macvlan" | "macvtap" | "ipvlan" | "ipvtap")
                    )
            });
            if is_vlan {
                log::info!("Turning off linkbeat for {name} since netlink works for vmacs/ipvlans");
                continue;
            }
            let p = match old.ifs.remove(&name) {
                Some(p) if p.wanted == w => p,
                _ => Polled {
                    wanted: w,
                    kind: None,
                    up: None,
                },
            };
            ifs.insert(name, p);
        }
        if ifs.is_empty() {
            return Linkbeats::default();
        }
        let sock = match old.sock.take() {
            Some(s) => Some(s),
            None => match Linkbeat::new() {
                Ok(s) => Some(s),
                Err(e) => {
                    log::info!("open linkbeat init socket failed - {e}");
                    None
                }
            },
        };
        let mut lb = Linkbeats {
            sock,
            ifs,
            next: None,
        };
        lb.poll(links);
        lb
    }

    /// The state polled last for `name` (None: not polled; netlink's state counts).
    pub(crate) fn state(&self, name: &str) -> Option<bool> {
        self.sock.as_ref()?;
        self.ifs.get(name).and_then(|p| p.up)
    }

    /// When the next poll is due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next
    }

    /// Polls the interfaces (`links`: those that exist); whether a state changed. The next
    /// poll is due a second later.
    pub(crate) fn poll(&mut self, links: &[netplat::Link]) -> bool {
        let Some(sock) = &self.sock else {
            return false;
        };
        let mut changed = false;
        for (name, p) in &mut self.ifs {
            let up = if !links.iter().any(|l| l.name == *name) {
                p.kind = None;
                false
            } else if let Some(k) = p.kind {
                sock.read(name, k).unwrap_or(false)
            } else {
                let (k, up) = sock.probe(name, p.wanted);
                if let Some(w) = p.wanted.filter(|w| *w != k) {
                    log::info!(
                        "({name}): Configured linkbeat type {} not supported, using {}",
                        w.name(),
                        k.name()
                    );
                }
                p.kind = Some(k);
                up
            };
            if p.up.is_some_and(|was| was != up) {
                log::info!("Linkbeat reports {name} {}", if up { "up" } else { "down" });
                changed = true;
            }
            p.up = Some(up);
        }
        self.next = Some(Instant::now() + POLLING_DELAY);
        changed
    }
}
