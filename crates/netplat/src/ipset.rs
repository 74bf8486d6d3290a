//! ipset over netlink (`NFNL_SUBSYS_IPSET` on a `NETLINK_NETFILTER` socket), the commands
//! keepalived's iptables firewall backend gives libipset: create a `hash:ip` or `hash:net,iface`
//! set, destroy it, add and delete an address (with an interface name for `hash:net,iface`).
//! One request, one acknowledgement; nothing is shelled out.

use std::net::IpAddr;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use crate::{Error, Result};

const NFNL_SUBSYS_IPSET: u16 = 6;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_F_NET_BYTEORDER: u16 = 0x4000;

/// `IPSET_PROTOCOL` (the kernel accepts 6 and 7).
const IPSET_PROTOCOL: u8 = 7;

// enum ipset_cmd
const IPSET_CMD_CREATE: u16 = 2;
const IPSET_CMD_DESTROY: u16 = 3;
const IPSET_CMD_ADD: u16 = 9;
const IPSET_CMD_DEL: u16 = 10;
const IPSET_CMD_HEADER: u16 = 12;
const IPSET_CMD_TYPE: u16 = 13;

// command-level attributes
const IPSET_ATTR_PROTOCOL: u16 = 1;
const IPSET_ATTR_SETNAME: u16 = 2;
const IPSET_ATTR_TYPENAME: u16 = 3;
const IPSET_ATTR_REVISION: u16 = 4;
const IPSET_ATTR_FAMILY: u16 = 5;
const IPSET_ATTR_DATA: u16 = 7;
// data attributes
const IPSET_ATTR_IP: u16 = 1;
const IPSET_ATTR_CIDR: u16 = 3;
const IPSET_ATTR_IFACE: u16 = 23;
const IPSET_ATTR_IPADDR_IPV4: u16 = 1;
const IPSET_ATTR_IPADDR_IPV6: u16 = 2;

/// `NFPROTO_IPV4`, `NFPROTO_IPV6`.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// The set types keepalived creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetType {
    /// `hash:ip` (the VIPs of a family).
    HashIp,
    /// `hash:net,iface` (link-local IPv6 VIPs with their interface; IGMP/MLD/ND of VMACs).
    HashNetIface,
}

impl SetType {
    fn name(self) -> &'static str {
        match self {
            SetType::HashIp => "hash:ip",
            SetType::HashNetIface => "hash:net,iface",
        }
    }
}

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
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
    fn str(&mut self, ty: u16, s: &str) {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.put(ty, &d);
    }
    fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Attrs)) {
        let mut inner = Attrs::default();
        f(&mut inner);
        self.put(ty | NLA_F_NESTED, &inner.buf);
    }
}

fn family(v6: bool) -> u8 {
    if v6 {
        NFPROTO_IPV6
    } else {
        NFPROTO_IPV4
    }
}

/// A `NETLINK_NETFILTER` socket for ipset commands.
pub struct Ipset {
    socket: Socket,
    seq: u32,
}

impl std::fmt::Debug for Ipset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipset").field("seq", &self.seq).finish()
    }
}

impl Ipset {
    /// Opens the socket in the current thread's network namespace.
    pub fn new() -> Result<Ipset> {
        let mut socket = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| Error::io("open NETLINK_NETFILTER socket (ipset)", e))?;
        socket
            .bind_auto()
            .map_err(|e| Error::io("bind ipset netlink socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io("connect ipset netlink socket", e))?;
        let sock = socket2::SockRef::from(&socket);
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| Error::io("ipset netlink socket timeout", e))?;
        Ok(Ipset { socket, seq: 1 })
    }

    /// Sends one command and returns the payloads of the answers before the acknowledgement.
    fn request(&mut self, cmd: u16, flags: u16, a: Attrs, what: String) -> Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut out = Vec::with_capacity(20 + a.buf.len());
        let len = 20 + a.buf.len();
        out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
        out.extend_from_slice(&((NFNL_SUBSYS_IPSET << 8) | cmd).to_ne_bytes());
        out.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        // struct nfgenmsg: libipset sends AF_INET, version 0, res_id 0
        out.extend_from_slice(&[2, 0, 0, 0]);
        out.extend_from_slice(&a.buf);
        self.socket
            .send(&out, 0)
            .map_err(|e| Error::io(format!("{what}: netlink send"), e))?;
        let mut answers = Vec::new();
        loop {
            let (data, _) = self
                .socket
                .recv_from_full()
                .map_err(|e| Error::io(format!("{what}: netlink recv"), e))?;
            for m in crate::datagram::split_datagram(&data) {
                let m = m.map_err(|e| Error::Decode {
                    op: what.clone(),
                    detail: e.to_string(),
                })?;
                if m.sequence_number() != seq {
                    continue;
                }
                if m.message_type() == NLMSG_ERROR {
                    let code = m
                        .payload()
                        .get(0..4)
                        .and_then(|x| x.try_into().ok())
                        .map(i32::from_ne_bytes)
                        .unwrap_or(0);
                    if code != 0 {
                        return Err(Error::Kernel {
                            op: what,
                            errno: code.abs(),
                        });
                    }
                    return Ok(answers);
                }
                answers.push(m.payload().to_vec());
            }
        }
    }

    /// The newest revision of `ty` for `v6`'s family the kernel has (libipset asks the same
    /// with `IPSET_CMD_TYPE` before creating a set).
    fn revision(&mut self, ty: SetType, v6: bool) -> Result<u8> {
        let mut a = Attrs::default();
        a.put(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
        a.str(IPSET_ATTR_TYPENAME, ty.name());
        a.put(IPSET_ATTR_FAMILY, &[family(v6)]);
        let what = format!("ipset type {}", ty.name());
        let answers = self.request(IPSET_CMD_TYPE, 0, a, what.clone())?;
        for p in answers {
            // nfgenmsg, then attributes
            let mut off = 4usize;
            while let Some(h) = p.get(off..off + 4) {
                let len = u16::from_ne_bytes([h[0], h[1]]) as usize;
                let ty = u16::from_ne_bytes([h[2], h[3]]) & !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
                if len < 4 {
                    break;
                }
                if ty == IPSET_ATTR_REVISION {
                    if let Some(r) = p.get(off + 4) {
                        return Ok(*r);
                    }
                }
                off += (len + 3) & !3;
            }
        }
        Err(Error::Decode {
            op: what,
            detail: "no revision in the answer".into(),
        })
    }

    /// `ipset create NAME TYPE family inet|inet6` with the kernel's defaults; an existing set
    /// of the same type is left as it is (libipset's `IPSET_ENV_EXIST`, as keepalived sets it).
    pub fn create(&mut self, name: &str, ty: SetType, v6: bool) -> Result<()> {
        let rev = self.revision(ty, v6)?;
        let mut a = Attrs::default();
        a.put(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
        a.str(IPSET_ATTR_SETNAME, name);
        a.str(IPSET_ATTR_TYPENAME, ty.name());
        a.put(IPSET_ATTR_REVISION, &[rev]);
        a.put(IPSET_ATTR_FAMILY, &[family(v6)]);
        a.nest(IPSET_ATTR_DATA, |_| {});
        self.request(IPSET_CMD_CREATE, 0, a, format!("ipset create {name}"))
            .map(|_| ())
    }

    /// `ipset destroy NAME` (refused with `EBUSY`-like errors while a rule uses it).
    pub fn destroy(&mut self, name: &str) -> Result<()> {
        let mut a = Attrs::default();
        a.put(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
        a.str(IPSET_ATTR_SETNAME, name);
        self.request(IPSET_CMD_DESTROY, 0, a, format!("ipset destroy {name}"))
            .map(|_| ())
    }

    /// Whether set `name` exists (`IPSET_CMD_HEADER`).
    pub fn exists(&mut self, name: &str) -> bool {
        let mut a = Attrs::default();
        a.put(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
        a.str(IPSET_ATTR_SETNAME, name);
        self.request(IPSET_CMD_HEADER, 0, a, format!("ipset header {name}"))
            .is_ok()
    }

    fn adt(
        &mut self,
        cmd: u16,
        name: &str,
        ip: IpAddr,
        cidr: Option<u8>,
        iface: Option<&str>,
    ) -> Result<()> {
        let mut a = Attrs::default();
        a.put(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
        a.str(IPSET_ATTR_SETNAME, name);
        a.nest(IPSET_ATTR_DATA, |d| {
            d.nest(IPSET_ATTR_IP, |i| match ip {
                IpAddr::V4(x) => i.put(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, &x.octets()),
                IpAddr::V6(x) => i.put(IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, &x.octets()),
            });
            if let Some(c) = cidr {
                d.put(IPSET_ATTR_CIDR, &[c]);
            }
            if let Some(n) = iface {
                d.str(IPSET_ATTR_IFACE, n);
            }
        });
        let verb = if cmd == IPSET_CMD_ADD { "add" } else { "del" };
        let net = cidr.map(|c| format!("/{c}")).unwrap_or_default();
        // NLM_F_EXCL: an address already there (or already gone) is an error, as libipset
        // reports it without IPSET_ENV_EXIST.
        self.request(cmd, NLM_F_EXCL, a, format!("ipset {verb} {name} {ip}{net}"))
            .map(|_| ())
    }

    /// `ipset add NAME IP[,IFACE]`.
    pub fn add(&mut self, name: &str, ip: IpAddr, iface: Option<&str>) -> Result<()> {
        self.adt(IPSET_CMD_ADD, name, ip, None, iface)
    }

    /// `ipset del NAME IP[,IFACE]`.
    pub fn del(&mut self, name: &str, ip: IpAddr, iface: Option<&str>) -> Result<()> {
        self.adt(IPSET_CMD_DEL, name, ip, None, iface)
    }

    /// `ipset add NAME NET/CIDR,IFACE` (a `hash:net,iface` entry with its prefix length, `/0`
    /// included: keepalived's IGMP/MLD entry of a VMAC is `0.0.0.0/0,IFACE`).
    pub fn add_net(&mut self, name: &str, ip: IpAddr, cidr: u8, iface: &str) -> Result<()> {
        self.adt(IPSET_CMD_ADD, name, ip, Some(cidr), Some(iface))
    }

    /// `ipset del NAME NET/CIDR,IFACE`.
    pub fn del_net(&mut self, name: &str, ip: IpAddr, cidr: u8, iface: &str) -> Result<()> {
        self.adt(IPSET_CMD_DEL, name, ip, Some(cidr), Some(iface))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_nested_with_net_byteorder_address() {
        let mut a = Attrs::default();
        a.nest(IPSET_ATTR_DATA, |d| {
            d.nest(IPSET_ATTR_IP, |i| {
                i.put(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, &[10, 0, 0, 1])
            })
        });
        assert_eq!(
            a.buf,
            vec![16, 0, 7, 0x80, 12, 0, 1, 0x80, 8, 0, 1, 0x40, 10, 0, 0, 1]
        );
    }
}
