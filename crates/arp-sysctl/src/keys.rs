//! Typed IPv4 per-interface configuration keys (`/proc/sys/net/ipv4/conf/<target>/<key>`).
//!
//! Every key states how the kernel combines the `all` value with the per-interface value
//! when it *uses* the setting (the `IN_DEV_*` macros of `include/linux/inetdevice.h`):
//!
//! | key | rule | values |
//! |---|---|---|
//! | `arp_ignore` | max(all, iface) | 0-8, see [`ArpIgnore`] |
//! | `arp_announce` | max(all, iface) | 0-2, see [`ArpAnnounce`] |
//! | `arp_filter` | all OR iface | 0/1 |
//! | `arp_accept` | max(all, iface) (OR before Linux 6.2) | 0-2 |
//! | `arp_notify` | max(all, iface) | 0/1 |
//! | `rp_filter` | max(all, iface) | 0 off, 1 strict, 2 loose |
//! | `accept_local` | all OR iface | 0/1 |
//! | `proxy_arp` | all OR iface | 0/1 |
//! | `log_martians` | all OR iface | 0/1 |
//! | `src_valid_mark` | all OR iface | 0/1 |
//! | `route_localnet` | all OR iface | 0/1 |
//! | `send_redirects` | all OR iface | 0/1 |
//! | `promote_secondaries` | all OR iface | 0/1 |
//! | `drop_gratuitous_arp` | all OR iface | 0/1 |
//! | `accept_source_route` | all AND iface | 0/1 |
//! | `arp_evict_nocarrier` | all AND iface | 0/1 |
//! | `forwarding` | iface only (writing `all` copies to every interface) | 0/1 |
//!
//! `default` is only the template copied into interfaces created later; the kernel
//! never combines it at run time.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Error;

/// The root of the IPv4 per-interface configuration tree.
pub const CONF_ROOT: &str = "/proc/sys/net/ipv4/conf";

/// How the kernel combines `all` and the per-interface value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Combine {
    /// `max(all, iface)` (`IN_DEV_MAXCONF`).
    Max,
    /// `all || iface` (`IN_DEV_ORCONF`).
    Or,
    /// `all && iface` (`IN_DEV_ANDCONF`).
    And,
    /// Only the interface value counts (`IN_DEV_CONF_GET`).
    InterfaceOnly,
}

impl Combine {
    /// The value the kernel acts on for an interface, given the `all` value and the
    /// interface's own value. Boolean rules return 0 or 1.
    pub fn effective(self, all: i32, iface: i32) -> i32 {
        match self {
            Combine::Max => all.max(iface),
            Combine::Or => i32::from(all != 0 || iface != 0),
            Combine::And => i32::from(all != 0 && iface != 0),
            Combine::InterfaceOnly => iface,
        }
    }
}

macro_rules! conf_keys {
    ($( $(#[$doc:meta])* $var:ident = $name:literal, $rule:ident, $min:literal..=$max:literal; )*) => {
        /// A key under `/proc/sys/net/ipv4/conf/<target>/`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ConfKey {
            $( $(#[$doc])* $var, )*
        }

        impl ConfKey {
            /// Every key this crate knows.
            pub const ALL: &'static [ConfKey] = &[$(ConfKey::$var,)*];

            /// The file name under the interface directory.
            pub fn name(self) -> &'static str {
                match self { $(ConfKey::$var => $name,)* }
            }

            /// How the kernel combines `all` and the interface value.
            pub fn combine(self) -> Combine {
                match self { $(ConfKey::$var => Combine::$rule,)* }
            }

            /// The range of values the kernel gives a meaning to (it may accept others).
            pub fn range(self) -> (i32, i32) {
                match self { $(ConfKey::$var => ($min, $max),)* }
            }

            /// Parses a key name such as `"arp_ignore"`.
            pub fn from_name(s: &str) -> Option<ConfKey> {
                match s { $($name => Some(ConfKey::$var),)* _ => None }
            }
        }
    };
}

conf_keys! {
    /// Which ARP requests get a reply (see [`ArpIgnore`]).
    ArpIgnore = "arp_ignore", Max, 0..=8;
    /// Which source address is put in our ARP requests (see [`ArpAnnounce`]).
    ArpAnnounce = "arp_announce", Max, 0..=2;
    /// Reply to ARP only when the route back to the sender leaves via this interface.
    ArpFilter = "arp_filter", Or, 0..=1;
    /// Create neighbour entries from gratuitous ARP (2 = only for addresses in our subnets).
    ArpAccept = "arp_accept", Max, 0..=2;
    /// Send gratuitous ARP when the device comes up or its address changes.
    ArpNotify = "arp_notify", Max, 0..=1;
    /// Reverse path filter: 0 off, 1 strict (RFC 3704), 2 loose.
    RpFilter = "rp_filter", Max, 0..=2;
    /// Accept packets whose source is one of our own addresses.
    AcceptLocal = "accept_local", Or, 0..=1;
    /// Answer ARP on behalf of other hosts we route to.
    ProxyArp = "proxy_arp", Or, 0..=1;
    /// Log packets with impossible addresses.
    LogMartians = "log_martians", Or, 0..=1;
    /// Use the packet mark in the reverse-path lookup.
    SrcValidMark = "src_valid_mark", Or, 0..=1;
    /// Route 127/8 addresses off-box.
    RouteLocalnet = "route_localnet", Or, 0..=1;
    /// Send ICMP redirects.
    SendRedirects = "send_redirects", Or, 0..=1;
    /// Promote a secondary address when the primary is removed.
    PromoteSecondaries = "promote_secondaries", Or, 0..=1;
    /// Drop gratuitous ARP frames.
    DropGratuitousArp = "drop_gratuitous_arp", Or, 0..=1;
    /// Accept source-routed packets.
    AcceptSourceRoute = "accept_source_route", And, 0..=1;
    /// Flush the ARP cache on carrier loss.
    ArpEvictNocarrier = "arp_evict_nocarrier", And, 0..=1;
    /// IP forwarding on this interface.
    Forwarding = "forwarding", InterfaceOnly, 0..=1;
}

impl fmt::Display for ConfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `arp_ignore` values (Documentation/networking/ip-sysctl.rst, `arp_ignore()` in
/// net/ipv4/arp.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArpIgnore {
    /// 0: reply for any local target address, configured on any interface.
    ReplyAny,
    /// 1: reply only if the target address is configured on the incoming interface
    /// (what an LVS-DR real server needs: the VIP on `lo` is never answered).
    ReplyIfOnIncomingInterface,
    /// 2: as 1, and the sender's address must be in the target address's subnet.
    ReplyIfOnIncomingInterfaceAndSubnet,
    /// 3: do not reply for addresses of scope host; global and link ones are answered.
    NoReplyForHostScope,
    /// 4-7: reserved; the kernel replies.
    Reserved(u8),
    /// 8: do not reply at all.
    NeverReply,
}

impl ArpIgnore {
    /// Decodes a raw value; `None` outside 0-8.
    pub fn from_value(v: i32) -> Option<Self> {
        Some(match v {
            0 => ArpIgnore::ReplyAny,
            1 => ArpIgnore::ReplyIfOnIncomingInterface,
            2 => ArpIgnore::ReplyIfOnIncomingInterfaceAndSubnet,
            3 => ArpIgnore::NoReplyForHostScope,
            4..=7 => ArpIgnore::Reserved(v as u8),
            8 => ArpIgnore::NeverReply,
            _ => return None,
        })
    }
    /// The raw value.
    pub fn value(self) -> i32 {
        match self {
            ArpIgnore::ReplyAny => 0,
            ArpIgnore::ReplyIfOnIncomingInterface => 1,
            ArpIgnore::ReplyIfOnIncomingInterfaceAndSubnet => 2,
            ArpIgnore::NoReplyForHostScope => 3,
            ArpIgnore::Reserved(n) => i32::from(n),
            ArpIgnore::NeverReply => 8,
        }
    }
    /// One-line meaning, for `status` output.
    pub fn meaning(self) -> &'static str {
        match self {
            ArpIgnore::ReplyAny => "reply for any local address on any interface",
            ArpIgnore::ReplyIfOnIncomingInterface => {
                "reply only if the target address is on the incoming interface"
            }
            ArpIgnore::ReplyIfOnIncomingInterfaceAndSubnet => {
                "reply only if the target is on the incoming interface and the sender in its subnet"
            }
            ArpIgnore::NoReplyForHostScope => "do not reply for scope-host addresses",
            ArpIgnore::Reserved(_) => "reserved (replies like 0)",
            ArpIgnore::NeverReply => "never reply",
        }
    }
}

/// `arp_announce` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArpAnnounce {
    /// 0: use any local address as the ARP source, even one on another interface (a VIP
    /// on `lo` leaks into the LAN's ARP caches).
    Any,
    /// 1: try to avoid addresses not in the target's subnet on the outgoing interface.
    AvoidOtherSubnets,
    /// 2: always use the best local address of the outgoing interface for the target
    /// (what an LVS-DR real server needs).
    BestLocal,
}

impl ArpAnnounce {
    /// Decodes a raw value; `None` outside 0-2.
    pub fn from_value(v: i32) -> Option<Self> {
        Some(match v {
            0 => ArpAnnounce::Any,
            1 => ArpAnnounce::AvoidOtherSubnets,
            2 => ArpAnnounce::BestLocal,
            _ => return None,
        })
    }
    /// The raw value.
    pub fn value(self) -> i32 {
        match self {
            ArpAnnounce::Any => 0,
            ArpAnnounce::AvoidOtherSubnets => 1,
            ArpAnnounce::BestLocal => 2,
        }
    }
    /// One-line meaning.
    pub fn meaning(self) -> &'static str {
        match self {
            ArpAnnounce::Any => "any local address may be the ARP source",
            ArpAnnounce::AvoidOtherSubnets => "avoid sources outside the target's subnet",
            ArpAnnounce::BestLocal => "always the best address of the outgoing interface",
        }
    }
}

/// Which directory under [`CONF_ROOT`] a key lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Target {
    /// `all`: combined with every interface (see [`Combine`]).
    All,
    /// `default`: template for interfaces created later.
    Default,
    /// One interface. The name is kept verbatim, dots included (`eth0.100`).
    Iface(String),
}

impl Target {
    /// A per-interface target, validated like the kernel's `dev_valid_name()`
    /// (1-15 bytes, no `/`, `:` or whitespace, not `.`/`..`), and not `all`/`default`
    /// which would be ambiguous.
    pub fn iface(name: &str) -> Result<Target, Error> {
        let bad = name.is_empty()
            || name.len() > 15
            || name == "."
            || name == ".."
            || name == "all"
            || name == "default"
            || name
                .chars()
                .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0');
        if bad {
            return Err(Error::InvalidInput(format!(
                "{name:?} is not a valid interface name"
            )));
        }
        Ok(Target::Iface(name.to_string()))
    }

    /// Parses the directory name (`all`, `default` or an interface).
    pub fn parse(s: &str) -> Result<Target, Error> {
        match s {
            "all" => Ok(Target::All),
            "default" => Ok(Target::Default),
            other => Target::iface(other),
        }
    }

    /// The directory name under [`CONF_ROOT`].
    pub fn dir_name(&self) -> &str {
        match self {
            Target::All => "all",
            Target::Default => "default",
            Target::Iface(n) => n,
        }
    }

    /// `ROOT/<target>/<key>`; the interface name is used as is (`eth0.100` stays
    /// `eth0.100` in the path).
    pub fn path(&self, root: &Path, key: ConfKey) -> PathBuf {
        root.join(self.dir_name()).join(key.name())
    }

    /// The `sysctl(8)` dotted name: dots inside an interface name become `/`
    /// (`net.ipv4.conf.eth0/100.arp_ignore`), as `sysctl` maps `/` back to `.`.
    pub fn sysctl_name(&self, key: ConfKey) -> String {
        format!(
            "net.ipv4.conf.{}.{}",
            self.dir_name().replace('.', "/"),
            key.name()
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// Describes a raw value of `key` for humans ("1 (reply only if ...)").
pub fn describe_value(key: ConfKey, v: i32) -> String {
    let meaning = match key {
        ConfKey::ArpIgnore => ArpIgnore::from_value(v).map(ArpIgnore::meaning),
        ConfKey::ArpAnnounce => ArpAnnounce::from_value(v).map(ArpAnnounce::meaning),
        ConfKey::RpFilter => match v {
            0 => Some("no source validation"),
            1 => Some("strict reverse path"),
            2 => Some("loose reverse path"),
            _ => None,
        },
        _ => None,
    };
    match meaning {
        Some(m) => format!("{v} ({m})"),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves that a VLAN interface keeps its dot in the /proc path while the sysctl(8)
    // dotted form encodes it as '/'.
    #[test]
    fn vlan_paths_keep_the_dot() {
        let t = Target::iface("eth0.100").unwrap();
        assert_eq!(
            t.path(Path::new(CONF_ROOT), ConfKey::ArpIgnore),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/arp_ignore")
        );
        assert_eq!(
            t.sysctl_name(ConfKey::ArpIgnore),
            "net.ipv4.conf.eth0/100.arp_ignore"
        );
        assert_eq!(
            Target::All.sysctl_name(ConfKey::RpFilter),
            "net.ipv4.conf.all.rp_filter"
        );
    }

    // Proves that names the kernel would refuse, or that would escape the conf dir, are rejected.
    #[test]
    fn bad_interface_names_rejected() {
        for bad in [
            "",
            "a/b",
            "..",
            ".",
            "lo:0",
            "sixteen-chars-xx",
            "all",
            "default",
            "a b",
        ] {
            assert!(Target::iface(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Target::iface("fifteen-chars-x").is_ok());
        assert_eq!(Target::parse("all").unwrap(), Target::All);
        assert_eq!(Target::parse("default").unwrap(), Target::Default);
    }

    // Proves the combination rules follow include/linux/inetdevice.h.
    #[test]
    fn combine_rules() {
        assert_eq!(ConfKey::ArpIgnore.combine().effective(1, 3), 3);
        assert_eq!(ConfKey::ArpIgnore.combine().effective(8, 0), 8);
        assert_eq!(ConfKey::ArpAnnounce.combine().effective(2, 0), 2);
        assert_eq!(ConfKey::RpFilter.combine().effective(0, 2), 2);
        assert_eq!(ConfKey::ArpFilter.combine().effective(0, 1), 1);
        assert_eq!(ConfKey::AcceptLocal.combine().effective(1, 0), 1);
        assert_eq!(ConfKey::AcceptSourceRoute.combine().effective(1, 0), 0);
        assert_eq!(ConfKey::Forwarding.combine().effective(1, 0), 0);
    }

    // Proves every key name round-trips and the value meanings cover 0-8 / 0-2.
    #[test]
    fn key_names_and_meanings() {
        for k in ConfKey::ALL {
            assert_eq!(ConfKey::from_name(k.name()), Some(*k));
        }
        for v in 0..=8 {
            assert_eq!(ArpIgnore::from_value(v).unwrap().value(), v);
        }
        assert!(ArpIgnore::from_value(9).is_none());
        for v in 0..=2 {
            assert_eq!(ArpAnnounce::from_value(v).unwrap().value(), v);
        }
        assert!(ArpAnnounce::from_value(3).is_none());
        assert!(describe_value(ConfKey::ArpIgnore, 1).contains("incoming interface"));
    }
}
