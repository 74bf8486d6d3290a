//! Every keyword keepalived 2.2.7 knows, by block, with its shape (simple, `{}` block of
//! keywords, or `{}` block of values) and deprecation. Built from keepalived's
//! `install_keyword*()` calls (global_parser.c, vrrp_parser.c, check_*.c, bfd_parser.c,
//! track_file.c).

/// A keepalived release: when a keyword appeared (the registry's [`Kw::since`]) and the
/// compatibility level `keepalived -t --compat` judges a configuration at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release(pub u8, pub u8, pub u8);

impl Release {
    /// Debian's keepalived 2.2.7: the registry's baseline (a keyword with this `since` is in
    /// 2.2.7, perhaps from much earlier).
    pub const V2_2_7: Release = Release(2, 2, 7);
    /// Upstream 2.4.0 (`auth_hmac`).
    pub const V2_4_0: Release = Release(2, 4, 0);
    /// Upstream 2.4.3, the newest reference.
    pub const V2_4_3: Release = Release(2, 4, 3);
    /// The levels `--compat` accepts.
    pub const LEVELS: [Release; 2] = [Release::V2_2_7, Release::V2_4_3];

    /// Parses "2.2.7" / "2.4.3" (one of [`Release::LEVELS`]).
    pub fn parse_level(s: &str) -> Option<Release> {
        Release::LEVELS.into_iter().find(|r| r.to_string() == s)
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The shape of a keyword.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `keyword args...`
    Simple,
    /// `keyword args... { value lines }` (keepalived's `read_value_block`).
    Values,
    /// `keyword args... { keywords }`.
    Block(&'static [Kw]),
}

/// Deprecation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Current keyword.
    Current,
    /// Deprecated; keepalived reports it (with its line); use the named replacement.
    Deprecated(&'static str),
    /// Deprecated synonym keepalived accepts silently (or only logs); use the replacement.
    Alias(&'static str),
}

/// What keepalived-rs does with a keyword at run time: the registry's truth, from which the
/// man page, `keepalived -t`'s notes, `docs/keywords.md` and `/status` are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// It has its keepalived effect; the named tests (namespace lab, VM or the reference
    /// keepalived as peer/oracle) show that effect on the real system.
    Implemented(&'static [&'static str]),
    /// Recognized (and checked like keepalived checks it) but ignored at run time: the reason.
    NotYet(&'static str),
    /// Accepted and deliberately without effect in keepalived-rs: why (e.g. a keepalived build
    /// option or a tuning knob of keepalived's own implementation).
    NoEffect(&'static str),
    /// The enclosing block's status applies (used for the children of a block that is not
    /// implemented as a whole).
    Inherit,
}

impl Runtime {
    /// True for [`Runtime::Implemented`].
    pub fn is_implemented(&self) -> bool {
        matches!(self, Runtime::Implemented(_))
    }
}

/// One keyword.
#[derive(Debug, Clone, Copy)]
pub struct Kw {
    /// The keyword text.
    pub name: &'static str,
    /// Its shape.
    pub kind: Kind,
    /// Deprecation.
    pub status: Status,
    /// Its run-time status.
    pub runtime: Runtime,
    /// The keepalived release that introduced it ([`Release::V2_2_7`]: in 2.2.7 already).
    pub since: Release,
}

impl Kw {
    /// Implemented; `tests` show its effect on the real system.
    pub const fn imp(mut self, tests: &'static [&'static str]) -> Kw {
        self.runtime = Runtime::Implemented(tests);
        self
    }
    /// Not supported yet, with a one-line reason.
    pub const fn todo(mut self, why: &'static str) -> Kw {
        self.runtime = Runtime::NotYet(why);
        self
    }
    /// Accepted, no effect here, with why.
    pub const fn noop(mut self, why: &'static str) -> Kw {
        self.runtime = Runtime::NoEffect(why);
        self
    }
    /// Introduced by keepalived `r` (after 2.2.7): `keepalived -t --compat 2.2.7` reports it
    /// as the unknown keyword it is to 2.2.7.
    pub const fn since(mut self, r: Release) -> Kw {
        self.since = r;
        self
    }
    /// Whether a keepalived of release `level` knows this keyword.
    pub fn known_at(&self, level: Release) -> bool {
        self.since <= level
    }
}

pub(super) const fn s(name: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Simple,
        status: Status::Current,
        runtime: Runtime::Inherit,
        since: Release::V2_2_7,
    }
}
pub(super) const fn v(name: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Values,
        status: Status::Current,
        runtime: Runtime::Inherit,
        since: Release::V2_2_7,
    }
}
pub(super) const fn b(name: &'static str, sub: &'static [Kw]) -> Kw {
    Kw {
        name,
        kind: Kind::Block(sub),
        status: Status::Current,
        runtime: Runtime::Inherit,
        since: Release::V2_2_7,
    }
}
pub(super) const fn dep(name: &'static str, repl: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Simple,
        status: Status::Deprecated(repl),
        runtime: Runtime::Inherit,
        since: Release::V2_2_7,
    }
}
pub(super) const fn alias(name: &'static str, repl: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Simple,
        status: Status::Alias(repl),
        runtime: Runtime::Inherit,
        since: Release::V2_2_7,
    }
}

mod global;
mod lvs;
mod vrrp;

pub use global::GLOBAL_DEFS;
use global::SSL;
use lvs::BFD_INSTANCE;
pub use lvs::{CHECKERS, VIRTUAL_SERVER};
pub use vrrp::VRRP_INSTANCE;
use vrrp::{GARP_GROUP, SYNC_GROUP, TRACK_FILE, TRACK_GROUP, TRACK_PROCESS, VRRP_SCRIPT};

/// Top-level keywords.
pub static ROOT: &[Kw] = &[
    s("linkbeat_use_polling").imp(&["lab_linkbeat_polling_same_as_reference"]),
    s("net_namespace").imp(&["lab_top_level_namespace_instance_metrics_child_wait"]),
    s("net_namespace_ipvs").imp(&["vm_net_namespace_ipvs_as_reference"]),
    s("namespace_with_ipsets").noop(
        "keepalived reads it only to use ipsets in a namespace on Linux < 3.13 (ipsets know \
         namespaces since 3.13; its Debian 2.2.7 build has no ipsets at all): accepted, no effect",
    ),
    s("use_pid_dir").imp(&["lab_use_pid_dir_as_reference"]),
    s("instance").imp(&["lab_top_level_namespace_instance_metrics_child_wait"]),
    s("child_wait_time").imp(&["lab_top_level_namespace_instance_metrics_child_wait"]),
    b("global_defs", GLOBAL_DEFS).imp(&["lab_notify_scripts_and_fifo"]),
    b("track_group", TRACK_GROUP).imp(&[
        "lab_track_group_same_as_reference",
        "lab_static_restore_and_route_track_group_same_as_reference",
    ]),
    v("static_ipaddress").imp(&[
        "lab_interop_static_address_and_route_same_as_reference",
        "lab_static_restore_and_route_track_group_same_as_reference",
    ]),
    v("static_routes").imp(&[
        "lab_interop_static_address_and_route_same_as_reference",
        "lab_static_restore_and_route_track_group_same_as_reference",
    ]),
    v("static_rules").imp(&[
        "lab_interop_static_address_and_route_same_as_reference",
        "lab_static_restore_and_route_track_group_same_as_reference",
    ]),
    b("vrrp_sync_group", SYNC_GROUP).imp(&["lab_sync_group_moves_together"]),
    b("garp_group", GARP_GROUP).imp(&["lab_interop_garp_group_pacing_same_as_reference"]),
    v("linkbeat_interfaces").imp(&["lab_linkbeat_polling_same_as_reference"]),
    b("vrrp_instance", VRRP_INSTANCE).imp(&["lab_v2_election_and_link_down_failover"]),
    b("vrrp_script", VRRP_SCRIPT).imp(&["lab_track_script_moves_vip"]),
    b("vrrp_track_process", TRACK_PROCESS).imp(&["lab_track_process_fault"]),
    v("interface_up_down_delays").imp(&["lab_interface_up_down_delays_same_as_reference"]),
    b("SSL", SSL).imp(&["lab_ssl_block_client_certificate"]),
    v("virtual_server_group")
        .imp(&["vm_keywords_flags_persistence_groups_sorry_same_as_reference"]),
    b("virtual_server", VIRTUAL_SERVER).imp(&["vm_dr_failover_and_reference_table"]),
    b("bfd_instance", BFD_INSTANCE).imp(&[
        "lab_bfd_worker_with_frr_and_track_bfd_like_reference",
        "lab_bfd_worker_with_reference_keepalived_both_directions",
        "lab_bfd_link_down_and_veth_deleted_like_reference",
        "lab_bfd_hostile_packets_counted_no_state_change",
    ]),
    b("track_file", TRACK_FILE).imp(&["lab_track_file_fault"]),
    Kw {
        name: "vrrp_track_file",
        kind: Kind::Block(TRACK_FILE),
        status: Status::Alias("track_file"),
        runtime: Runtime::Inherit,
        since: Release::V2_2_7,
    },
];

/// Look a keyword up in a table.
pub fn find(table: &'static [Kw], name: &str) -> Option<&'static Kw> {
    table.iter().find(|k| k.name == name)
}

/// All distinct keyword names (for suggestions and the "every keyword" test).
pub fn all_names() -> Vec<&'static str> {
    fn walk(t: &'static [Kw], out: &mut Vec<&'static str>, depth: usize) {
        for k in t {
            out.push(k.name);
            if let Kind::Block(sub) = k.kind {
                if depth < 8 {
                    walk(sub, out, depth + 1);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(ROOT, &mut out, 0);
    out.sort_unstable();
    out.dedup();
    out
}

/// Levenshtein distance (small strings).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A "did you mean" suggestion for an unknown word at a level: a keyword glued to its
/// value (`auth_typePASS` → `auth_type PASS`), a misspelling, or a keyword that belongs
/// to another block.
pub fn suggest(table: &'static [Kw], word: &str) -> Option<String> {
    if word.len() > 200 {
        return None;
    }
    // glued keyword and value
    let mut best_glued: Option<&Kw> = None;
    for k in table {
        if word.len() > k.name.len()
            && word.starts_with(k.name)
            && best_glued.is_none_or(|b| k.name.len() > b.name.len())
        {
            best_glued = Some(k);
        }
    }
    if let Some(k) = best_glued {
        return Some(format!(
            "did you mean `{} {}`?",
            k.name,
            &word[k.name.len()..]
        ));
    }
    let lw = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for k in table {
        let d = distance(&lw, &k.name.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k.name));
        }
    }
    if let Some((d, name)) = best {
        let limit = (word.chars().count() / 4).clamp(1, 3);
        if d <= limit {
            return Some(format!("did you mean `{name}`?"));
        }
    }
    None
}
