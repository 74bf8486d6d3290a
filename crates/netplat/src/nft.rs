//! nftables over netlink: `NFT_MSG_*` messages in `NFNL_MSG_BATCH_BEGIN`/`END` batches on a
//! `NETLINK_NETFILTER` socket, as `nft` (libnftnl) and keepalived build them.
//!
//! Only what a VIP firewall needs: tables, base and regular chains, named sets and their
//! elements, and rules made of `payload`, `meta`, `cmp`, `lookup`, `counter` and verdict
//! (`immediate`) expressions. A [`Batch`] is built without touching the kernel and committed
//! atomically by [`Nft::commit`], which waits for every message's acknowledgement and returns
//! the kernel's first refusal (the batch is then not applied at all).

use std::net::IpAddr;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use crate::{Error, Result};

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 0x2;
const NLA_F_NESTED: u16 = 0x8000;

const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;

const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;

// Attribute numbers (linux/netfilter/nf_tables.h).
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_DESC: u16 = 9;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_USERDATA: u16 = 13;
const NFTA_SET_DESC_CONCAT: u16 = 2;
const NFTA_SET_FIELD_LEN: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
const NFTA_META_SREG: u16 = 3;
const NFTA_LOOKUP_DREG: u16 = 3;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;

const NFT_REG_VERDICT: u32 = 0;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NFT_GOTO: i32 = -4;
const NFT_RETURN: i32 = -5;

/// `NFT_SET_CONSTANT`: the set's elements are fixed at creation.
pub const SET_CONSTANT: u32 = 0x2;
/// `NFT_SET_INTERVAL`: elements are ranges (`flags interval`).
pub const SET_INTERVAL: u32 = 0x4;
/// `NFT_SET_MAP`: a map (elements carry data).
pub const SET_MAP: u32 = 0x8;
/// `NFT_SET_CONCAT`: the key is a concatenation with per-field lengths.
pub const SET_CONCAT: u32 = 0x80;

/// nft's datatype numbers (what `nft list` shows a set's `type` as).
pub mod datatype {
    /// `ipv4_addr`.
    pub const IPV4_ADDR: u32 = 7;
    /// `ipv6_addr`.
    pub const IPV6_ADDR: u32 = 8;
    /// `iface_index`.
    pub const IFINDEX: u32 = 20;
    /// `icmpv6_type`.
    pub const ICMPV6_TYPE: u32 = 29;
    /// `ifname`.
    pub const IFNAME: u32 = 41;
    /// `inet_service` (a port).
    pub const INET_SERVICE: u32 = 13;
    /// `mark`.
    pub const MARK: u32 = 19;
    /// Bits per type in a concatenation.
    pub const CONCAT_BITS: u32 = 6;
}

/// An nftables address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NfFamily {
    /// `ip`.
    Ipv4,
    /// `ip6`.
    Ipv6,
}

impl NfFamily {
    fn proto(self) -> u8 {
        match self {
            NfFamily::Ipv4 => 2,
            NfFamily::Ipv6 => 10,
        }
    }
    /// The family of an address.
    pub fn of(a: &IpAddr) -> NfFamily {
        if a.is_ipv4() {
            NfFamily::Ipv4
        } else {
            NfFamily::Ipv6
        }
    }
    /// `ip` or `ip6`.
    pub fn name(self) -> &'static str {
        match self {
            NfFamily::Ipv4 => "ip",
            NfFamily::Ipv6 => "ip6",
        }
    }
}

/// A base chain's netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `input` (`NF_INET_LOCAL_IN`).
    Input,
    /// `output` (`NF_INET_LOCAL_OUT`).
    Output,
}

/// Where a `payload` expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadBase {
    /// The network (IP) header.
    Network,
    /// The transport header.
    Transport,
}

/// A `cmp` expression's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`.
    Eq,
    /// `<=`.
    Lte,
    /// `>=`.
    Gte,
}

/// A `meta` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// `iif`.
    Iif,
    /// `oif`.
    Oif,
    /// `iifname`.
    IifName,
    /// `oifname`.
    OifName,
    /// `l4proto`.
    L4Proto,
    /// `mark`.
    Mark,
    /// `oifkind` (the output interface's link kind, e.g. `"macvlan"`).
    OifKind,
}

/// A rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `goto CHAIN`.
    Goto(String),
    /// `return`.
    Return,
}

/// One expression of a rule. Registers are the 128-bit `NFT_REG_1`..`NFT_REG_4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Load `len` bytes at `offset` of `base` into register `dreg`.
    Payload {
        /// Header.
        base: PayloadBase,
        /// Byte offset.
        offset: u32,
        /// Bytes.
        len: u32,
        /// Destination register.
        dreg: u32,
    },
    /// Load a meta key into `dreg`.
    Meta {
        /// Key.
        key: MetaKey,
        /// Destination register.
        dreg: u32,
    },
    /// Compare register `sreg` with `data`; the rule stops here when false.
    Cmp {
        /// Source register.
        sreg: u32,
        /// Operator.
        op: CmpOp,
        /// Value (network order as in the packet).
        data: Vec<u8>,
    },
    /// `dreg = (sreg & mask) ^ xor` (`mask` and `xor` of the same length).
    Bitwise {
        /// Source register.
        sreg: u32,
        /// Destination register.
        dreg: u32,
        /// Mask.
        mask: Vec<u8>,
        /// Xor.
        xor: Vec<u8>,
    },
    /// Whether register `sreg` is in the named set.
    Lookup {
        /// Source register.
        sreg: u32,
        /// Set name.
        set: String,
    },
    /// Look register `sreg` up in the named map and load the data into `dreg`.
    MapLookup {
        /// Source register.
        sreg: u32,
        /// Destination register.
        dreg: u32,
        /// Map name.
        set: String,
    },
    /// Set a meta key from register `sreg` (`meta mark set ...`).
    MetaSet {
        /// Key.
        key: MetaKey,
        /// Source register.
        sreg: u32,
    },
    /// `dup to ADDR device DEV`: a copy of the packet to the address in `sreg_addr` through
    /// the interface whose index is in `sreg_dev`.
    Dup {
        /// Register with the address.
        sreg_addr: u32,
        /// Register with the interface index.
        sreg_dev: u32,
    },
    /// `counter`.
    Counter,
    /// The verdict.
    Verdict(Verdict),
}

/// Attribute writer.
#[derive(Default)]
struct Attrs {
    buf: Vec<u8>,
}

impl Attrs {
    fn put(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf
            .extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }
    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
    fn str(&mut self, ty: u16, s: &str) {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.put(ty, &d);
    }
    fn be32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_be_bytes());
    }
    fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Attrs)) {
        let mut inner = Attrs::default();
        f(&mut inner);
        self.put(ty | NLA_F_NESTED, &inner.buf);
    }
}

fn expr(a: &mut Attrs, e: &Expr) {
    a.nest(NFTA_LIST_ELEM, |a| match e {
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => {
            a.str(NFTA_EXPR_NAME, "payload");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(NFTA_PAYLOAD_DREG, *dreg);
                a.be32(
                    NFTA_PAYLOAD_BASE,
                    match base {
                        PayloadBase::Network => 1,
                        PayloadBase::Transport => 2,
                    },
                );
                a.be32(NFTA_PAYLOAD_OFFSET, *offset);
                a.be32(NFTA_PAYLOAD_LEN, *len);
            });
        }
        Expr::Meta { key, dreg } => {
            a.str(NFTA_EXPR_NAME, "meta");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(NFTA_META_DREG, *dreg);
                a.be32(
                    NFTA_META_KEY,
                    match key {
                        MetaKey::IifName => 6,
                        MetaKey::OifName => 7,
                        MetaKey::Iif => 4,
                        MetaKey::Oif => 5,
                        MetaKey::L4Proto => 16,
                        MetaKey::Mark => 3,
                        MetaKey::OifKind => 27,
                    },
                );
            });
        }
        Expr::MetaSet { key, sreg } => {
            a.str(NFTA_EXPR_NAME, "meta");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(
                    NFTA_META_KEY,
                    match key {
                        MetaKey::IifName => 6,
                        MetaKey::OifName => 7,
                        MetaKey::Iif => 4,
                        MetaKey::Oif => 5,
                        MetaKey::L4Proto => 16,
                        MetaKey::Mark => 3,
                        MetaKey::OifKind => 27,
                    },
                );
                a.be32(NFTA_META_SREG, *sreg);
            });
        }
        Expr::MapLookup { sreg, dreg, set } => {
            a.str(NFTA_EXPR_NAME, "lookup");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.str(NFTA_LOOKUP_SET, set);
                a.be32(NFTA_LOOKUP_SREG, *sreg);
                a.be32(NFTA_LOOKUP_DREG, *dreg);
            });
        }
        Expr::Cmp { sreg, op, data } => {
            a.str(NFTA_EXPR_NAME, "cmp");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(NFTA_CMP_SREG, *sreg);
                a.be32(
                    NFTA_CMP_OP,
                    match op {
                        CmpOp::Eq => 0,
                        CmpOp::Lte => 3,
                        CmpOp::Gte => 5,
                    },
                );
                a.nest(NFTA_CMP_DATA, |a| a.put(NFTA_DATA_VALUE, data));
            });
        }
        Expr::Bitwise {
            sreg,
            dreg,
            mask,
            xor,
        } => {
            a.str(NFTA_EXPR_NAME, "bitwise");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(NFTA_BITWISE_SREG, *sreg);
                a.be32(NFTA_BITWISE_DREG, *dreg);
                a.be32(
                    NFTA_BITWISE_LEN,
                    u32::try_from(mask.len()).unwrap_or(u32::MAX),
                );
                a.nest(NFTA_BITWISE_MASK, |a| a.put(NFTA_DATA_VALUE, mask));
                a.nest(NFTA_BITWISE_XOR, |a| a.put(NFTA_DATA_VALUE, xor));
            });
        }
        Expr::Lookup { sreg, set } => {
            a.str(NFTA_EXPR_NAME, "lookup");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(NFTA_LOOKUP_SREG, *sreg);
                a.str(NFTA_LOOKUP_SET, set);
            });
        }
        Expr::Dup {
            sreg_addr,
            sreg_dev,
        } => {
            a.str(NFTA_EXPR_NAME, "dup");
            a.nest(NFTA_EXPR_DATA, |a| {
                // NFTA_DUP_SREG_ADDR, NFTA_DUP_SREG_DEV.
                a.be32(1, *sreg_addr);
                a.be32(2, *sreg_dev);
            });
        }
        Expr::Counter => {
            a.str(NFTA_EXPR_NAME, "counter");
            a.nest(NFTA_EXPR_DATA, |_| {});
        }
        Expr::Verdict(v) => {
            a.str(NFTA_EXPR_NAME, "immediate");
            a.nest(NFTA_EXPR_DATA, |a| {
                a.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                a.nest(NFTA_IMMEDIATE_DATA, |a| {
                    a.nest(NFTA_DATA_VERDICT, |a| match v {
                        Verdict::Accept => a.be32(NFTA_VERDICT_CODE, NF_ACCEPT),
                        Verdict::Drop => a.be32(NFTA_VERDICT_CODE, NF_DROP),
                        Verdict::Goto(c) => {
                            a.put(NFTA_VERDICT_CODE, &NFT_GOTO.to_be_bytes());
                            a.str(NFTA_VERDICT_CHAIN, c);
                        }
                        Verdict::Return => a.put(NFTA_VERDICT_CODE, &NFT_RETURN.to_be_bytes()),
                    })
                });
            });
        }
    });
}

/// One message of a batch, before it gets its sequence number.
#[derive(Debug, Clone)]
struct Msg {
    ty: u16,
    flags: u16,
    family: u8,
    attrs: Vec<u8>,
    what: String,
}

/// A map element: key, key end of a range (interval maps), data.
pub type MapElem = (Vec<u8>, Option<Vec<u8>>, Vec<u8>);

/// A batch of nftables changes, applied all or nothing by [`Nft::commit`].
#[derive(Debug, Clone, Default)]
pub struct Batch {
    msgs: Vec<Msg>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Append `other`'s messages.
    pub fn extend(&mut self, other: Batch) {
        self.msgs.extend(other.msgs);
    }

    fn push(&mut self, ty: u16, flags: u16, family: NfFamily, a: Attrs, what: String) {
        self.msgs.push(Msg {
            ty,
            flags,
            family: family.proto(),
            attrs: a.buf,
            what,
        });
    }

    /// `add table FAMILY NAME`.
    pub fn add_table(&mut self, family: NfFamily, name: &str) {
        let mut a = Attrs::default();
        a.str(NFTA_TABLE_NAME, name);
        let what = format!("add table {} {name}", family.name());
        self.push(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, a, what);
    }

    /// `delete table FAMILY NAME`.
    pub fn del_table(&mut self, family: NfFamily, name: &str) {
        let mut a = Attrs::default();
        a.str(NFTA_TABLE_NAME, name);
        let what = format!("delete table {} {name}", family.name());
        self.push(NFT_MSG_DELTABLE, 0, family, a, what);
    }

    /// `add chain FAMILY TABLE NAME`, a base chain `{ type filter hook HOOK priority PRIO;
    /// policy accept; }` when `hook` is given.
    pub fn add_chain(
        &mut self,
        family: NfFamily,
        table: &str,
        name: &str,
        hook: Option<(Hook, i32)>,
    ) {
        let mut a = Attrs::default();
        a.str(NFTA_CHAIN_TABLE, table);
        a.str(NFTA_CHAIN_NAME, name);
        if let Some((h, prio)) = hook {
            a.nest(NFTA_CHAIN_HOOK, |a| {
                a.be32(
                    NFTA_HOOK_HOOKNUM,
                    match h {
                        Hook::Input => 1,
                        Hook::Output => 3,
                    },
                );
                a.put(NFTA_HOOK_PRIORITY, &prio.to_be_bytes());
            });
            a.be32(NFTA_CHAIN_POLICY, NF_ACCEPT);
            a.str(NFTA_CHAIN_TYPE, "filter");
        }
        let what = format!("add chain {} {table} {name}", family.name());
        self.push(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, a, what);
    }

    /// `add set FAMILY TABLE NAME { type KEY_TYPE; flags ...; }` (`id`: unique in the batch).
    #[allow(clippy::too_many_arguments)]
    pub fn add_set(
        &mut self,
        family: NfFamily,
        table: &str,
        name: &str,
        key_type: u32,
        key_len: u32,
        flags: u32,
        id: u32,
    ) {
        self.add_set_udata(family, table, name, key_type, key_len, flags, id, &[]);
    }

    /// [`Batch::add_set`] with nft's userdata TLVs (`userdata`: e.g. the key byte order, which
    /// decides how `nft list` shows an `iface_index` set's elements).
    #[allow(clippy::too_many_arguments)]
    pub fn add_set_udata(
        &mut self,
        family: NfFamily,
        table: &str,
        name: &str,
        key_type: u32,
        key_len: u32,
        flags: u32,
        id: u32,
        userdata: &[u8],
    ) {
        let mut a = Attrs::default();
        a.str(NFTA_SET_TABLE, table);
        a.str(NFTA_SET_NAME, name);
        if flags != 0 {
            a.be32(NFTA_SET_FLAGS, flags);
        }
        a.be32(NFTA_SET_KEY_TYPE, key_type);
        a.be32(NFTA_SET_KEY_LEN, key_len);
        a.be32(NFTA_SET_ID, id);
        if !userdata.is_empty() {
            a.put(NFTA_SET_USERDATA, userdata);
        }
        let what = format!("add set {} {table} {name}", family.name());
        self.push(NFT_MSG_NEWSET, NLM_F_CREATE, family, a, what);
    }

    /// `add element` (`add`) or `delete element` of the keys (raw, in the set's key form).
    pub fn set_elems(
        &mut self,
        family: NfFamily,
        table: &str,
        set: &str,
        add: bool,
        keys: &[Vec<u8>],
    ) {
        if keys.is_empty() {
            return;
        }
        let mut a = Attrs::default();
        a.str(NFTA_SET_ELEM_LIST_TABLE, table);
        a.str(NFTA_SET_ELEM_LIST_SET, set);
        a.nest(NFTA_SET_ELEM_LIST_ELEMENTS, |a| {
            for k in keys {
                a.nest(NFTA_LIST_ELEM, |a| {
                    a.nest(NFTA_SET_ELEM_KEY, |a| a.put(NFTA_DATA_VALUE, k));
                });
            }
        });
        let verb = if add { "add" } else { "delete" };
        let what = format!("{verb} element {} {table} {set}", family.name());
        if add {
            self.push(
                NFT_MSG_NEWSETELEM,
                NLM_F_CREATE | NLM_F_EXCL,
                family,
                a,
                what,
            );
        } else {
            self.push(NFT_MSG_DELSETELEM, 0, family, a, what);
        }
    }

    /// `add map FAMILY TABLE NAME { type KEY : DATA; flags ...; }` as keepalived's
    /// `setup_set` builds it: `fields` are the concatenation's field lengths (with
    /// [`SET_CONCAT`]), `userdata` nft's TLVs (key and data byte orders), `id` unique in the
    /// batch.
    #[allow(clippy::too_many_arguments)]
    pub fn add_map(
        &mut self,
        family: NfFamily,
        table: &str,
        name: &str,
        key: (u32, u32),
        data: (u32, u32),
        flags: u32,
        fields: &[u32],
        userdata: &[u8],
        id: u32,
    ) {
        let mut a = Attrs::default();
        a.str(NFTA_SET_TABLE, table);
        a.str(NFTA_SET_NAME, name);
        a.be32(NFTA_SET_FLAGS, flags | SET_MAP);
        a.be32(NFTA_SET_KEY_TYPE, key.0);
        a.be32(NFTA_SET_KEY_LEN, key.1);
        a.be32(NFTA_SET_DATA_TYPE, data.0);
        a.be32(NFTA_SET_DATA_LEN, data.1);
        if !fields.is_empty() {
            a.nest(NFTA_SET_DESC, |a| {
                a.nest(NFTA_SET_DESC_CONCAT, |a| {
                    for f in fields {
                        a.nest(NFTA_LIST_ELEM, |a| a.be32(NFTA_SET_FIELD_LEN, *f));
                    }
                });
            });
        }
        a.be32(NFTA_SET_ID, id);
        if !userdata.is_empty() {
            a.put(NFTA_SET_USERDATA, userdata);
        }
        let what = format!("add map {} {table} {name}", family.name());
        self.push(NFT_MSG_NEWSET, NLM_F_CREATE, family, a, what);
    }

    /// `add element` (`add`) or `delete element` of a map: (key, key end of a range, data).
    pub fn map_elems(
        &mut self,
        family: NfFamily,
        table: &str,
        set: &str,
        add: bool,
        elems: &[MapElem],
    ) {
        if elems.is_empty() {
            return;
        }
        let mut a = Attrs::default();
        a.str(NFTA_SET_ELEM_LIST_TABLE, table);
        a.str(NFTA_SET_ELEM_LIST_SET, set);
        a.nest(NFTA_SET_ELEM_LIST_ELEMENTS, |a| {
            for (k, end, d) in elems {
                a.nest(NFTA_LIST_ELEM, |a| {
                    a.nest(NFTA_SET_ELEM_KEY, |a| a.put(NFTA_DATA_VALUE, k));
                    if let Some(e) = end {
                        a.nest(NFTA_SET_ELEM_KEY_END, |a| a.put(NFTA_DATA_VALUE, e));
                    }
                    if add {
                        a.nest(NFTA_SET_ELEM_DATA, |a| a.put(NFTA_DATA_VALUE, d));
                    }
                });
            }
        });
        let verb = if add { "add" } else { "delete" };
        let what = format!("{verb} element {} {table} {set}", family.name());
        if add {
            self.push(NFT_MSG_NEWSETELEM, NLM_F_CREATE, family, a, what);
        } else {
            self.push(NFT_MSG_DELSETELEM, 0, family, a, what);
        }
    }

    /// `add rule FAMILY TABLE CHAIN EXPRS` (appended).
    pub fn add_rule(&mut self, family: NfFamily, table: &str, chain: &str, exprs: &[Expr]) {
        let mut a = Attrs::default();
        a.str(NFTA_RULE_TABLE, table);
        a.str(NFTA_RULE_CHAIN, chain);
        a.nest(NFTA_RULE_EXPRESSIONS, |a| {
            for e in exprs {
                expr(a, e);
            }
        });
        let what = format!("add rule {} {table} {chain}", family.name());
        self.push(
            NFT_MSG_NEWRULE,
            NLM_F_CREATE | NLM_F_APPEND,
            family,
            a,
            what,
        );
    }
}

/// A `NETLINK_NETFILTER` socket for nftables batches.
pub struct Nft {
    socket: Socket,
    seq: u32,
}

impl std::fmt::Debug for Nft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nft").field("seq", &self.seq).finish()
    }
}

fn header(out: &mut Vec<u8>, len: usize, ty: u16, flags: u16, seq: u32) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
}

/// `struct nfgenmsg`: family, version 0, resource id (big endian).
fn nfgen(out: &mut Vec<u8>, family: u8, res_id: u16) {
    out.push(family);
    out.push(0);
    out.extend_from_slice(&res_id.to_be_bytes());
}

impl Nft {
    /// Opens a netfilter netlink socket in the current thread's network namespace.
    pub fn new() -> Result<Nft> {
        let mut socket = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| Error::io("open NETLINK_NETFILTER socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| Error::io("bind netfilter netlink socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io("connect netfilter netlink socket", e))?;
        // A lost answer must not block the caller for good.
        let sock = socket2::SockRef::from(&socket);
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| Error::io("netfilter netlink socket timeout", e))?;
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(1);
        Ok(Nft { socket, seq })
    }

    /// The batch in wire form, and the sequence numbers of its messages.
    fn encode(&mut self, batch: &Batch) -> (Vec<u8>, Vec<(u32, String)>) {
        let mut out = Vec::new();
        let mut seqs = Vec::new();
        self.seq = self.seq.wrapping_add(1);
        header(&mut out, 20, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, self.seq);
        nfgen(&mut out, 0, NFNL_SUBSYS_NFTABLES);
        for m in &batch.msgs {
            self.seq = self.seq.wrapping_add(1);
            let ty = (NFNL_SUBSYS_NFTABLES << 8) | m.ty;
            let flags = NLM_F_REQUEST | NLM_F_ACK | m.flags;
            header(&mut out, 20 + m.attrs.len(), ty, flags, self.seq);
            nfgen(&mut out, m.family, 0);
            out.extend_from_slice(&m.attrs);
            seqs.push((self.seq, m.what.clone()));
        }
        self.seq = self.seq.wrapping_add(1);
        header(&mut out, 20, NFNL_MSG_BATCH_END, NLM_F_REQUEST, self.seq);
        nfgen(&mut out, 0, NFNL_SUBSYS_NFTABLES);
        (out, seqs)
    }

    /// Applies `batch` atomically: every message is acknowledged, or the first refusal is
    /// returned (as [`Error::Kernel`] naming that message) and nothing was changed.
    pub fn commit(&mut self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let (buf, seqs) = self.encode(batch);
        self.socket
            .send(&buf, 0)
            .map_err(|e| Error::io("nftables batch: netlink send", e))?;
        let mut pending: std::collections::HashSet<u32> = seqs.iter().map(|s| s.0).collect();
        let mut first_err: Option<Error> = None;
        while !pending.is_empty() {
            let data = match self.socket.recv_from_full() {
                Ok((d, _)) => d,
                // After a refusal the kernel does not acknowledge the rest of the batch.
                Err(_) if first_err.is_some() => break,
                Err(e) => return Err(Error::io("nftables batch: netlink recv", e)),
            };
            for m in crate::datagram::split_datagram(&data) {
                let m = m.map_err(|e| Error::Decode {
                    op: "nftables batch".into(),
                    detail: e.to_string(),
                })?;
                let b = m.into_inner();
                let (Some(ty), Some(seq)) = (
                    b.get(4..6)
                        .and_then(|x| x.try_into().ok())
                        .map(u16::from_ne_bytes),
                    b.get(8..12)
                        .and_then(|x| x.try_into().ok())
                        .map(u32::from_ne_bytes),
                ) else {
                    continue;
                };
                if ty != NLMSG_ERROR || !pending.remove(&seq) {
                    continue;
                }
                let code = b
                    .get(16..20)
                    .and_then(|x| x.try_into().ok())
                    .map(i32::from_ne_bytes)
                    .unwrap_or(0);
                if code != 0 && first_err.is_none() {
                    let what = seqs
                        .iter()
                        .find(|s| s.0 == seq)
                        .map(|s| s.1.clone())
                        .unwrap_or_default();
                    first_err = Some(Error::Kernel {
                        op: what,
                        errno: code.abs(),
                    });
                    // The rest of the batch is refused too; whatever is already queued is
                    // read without waiting.
                    let _ = self.socket.set_non_blocking(true);
                }
            }
        }
        let _ = self.socket.set_non_blocking(false);
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nested() {
        let mut a = Attrs::default();
        a.str(NFTA_TABLE_NAME, "keepalived");
        // 4 + 11 = 15 → padded to 16.
        assert_eq!(a.buf.len(), 16);
        assert_eq!(&a.buf[0..2], &15u16.to_ne_bytes());
        let mut b = Attrs::default();
        b.nest(NFTA_CHAIN_HOOK, |x| x.be32(NFTA_HOOK_HOOKNUM, 3));
        assert_eq!(
            &b.buf[2..4],
            &(NFTA_CHAIN_HOOK | NLA_F_NESTED).to_ne_bytes()
        );
        assert_eq!(&b.buf[8..12], &[0, 0, 0, 3][..]);
    }

    #[test]
    fn batch_is_framed_by_begin_and_end() {
        let mut nft = Nft {
            socket: Socket::new(NETLINK_NETFILTER).expect("socket"),
            seq: 100,
        };
        let mut b = Batch::new();
        b.add_table(NfFamily::Ipv4, "keepalived");
        let (buf, seqs) = nft.encode(&b);
        assert_eq!(seqs.len(), 1);
        assert_eq!(&buf[4..6], &NFNL_MSG_BATCH_BEGIN.to_ne_bytes());
        assert_eq!(&buf[18..20], &[0, 10]);
        let t = &buf[20 + 4..20 + 6];
        assert_eq!(t, &(NFNL_SUBSYS_NFTABLES << 8).to_ne_bytes());
        assert_eq!(buf[36], 2, "NFPROTO_IPV4");
        let end = buf.len() - 20;
        assert_eq!(&buf[end + 4..end + 6], &NFNL_MSG_BATCH_END.to_ne_bytes());
    }
}
