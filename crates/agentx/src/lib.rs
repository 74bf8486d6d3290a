//! AgentX (RFC 2741) PDU codec, sans IO: what a sub-agent sends to and receives from a master
//! agent (net-snmp's `snmpd` with `master agentx`).
//!
//! [`Header`] is the 20-byte fixed header (its flags say the byte order of everything that
//! follows); [`Pdu`] is a whole PDU as data ([`Pdu::parse`] from bytes, [`Pdu::emit`] to bytes).
//! Parsing never panics and never reads past the payload length the header gives; a buffer
//! that holds less than one PDU is [`Error::Truncated`] (read more), anything inconsistent is
//! [`Error::Malformed`] (the session cannot go on). Octet strings are bytes (a MAC address or
//! an `IpAddress` is not text).
//!
//! Covered: `Open`, `Close`, `Register`, `Unregister`, `Get`, `GetNext`, `GetBulk`, `Notify`,
//! `Ping`, `Response`; the set PDUs (`TestSet` ...) and the others are kept as
//! [`Pdu::Other`] with their raw payload (a read-only sub-agent answers them with an error).

#![forbid(unsafe_code)]

use std::fmt;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 20;
/// Largest payload accepted (net-snmp's own limit is far below).
pub const MAX_PAYLOAD: u32 = 1 << 20;

/// Header flag bits.
pub mod flags {
    /// `INSTANCE_REGISTRATION`.
    pub const INSTANCE_REGISTRATION: u8 = 0x01;
    /// `NEW_INDEX`.
    pub const NEW_INDEX: u8 = 0x02;
    /// `ANY_INDEX`.
    pub const ANY_INDEX: u8 = 0x04;
    /// `NON_DEFAULT_CONTEXT`: a context octet string precedes the PDU's fields.
    pub const NON_DEFAULT_CONTEXT: u8 = 0x08;
    /// `NETWORK_BYTE_ORDER`: multi-byte integers are big-endian.
    pub const NETWORK_BYTE_ORDER: u8 = 0x10;
}

/// PDU types.
pub mod pdu_type {
    /// agentx-Open-PDU.
    pub const OPEN: u8 = 1;
    /// agentx-Close-PDU.
    pub const CLOSE: u8 = 2;
    /// agentx-Register-PDU.
    pub const REGISTER: u8 = 3;
    /// agentx-Unregister-PDU.
    pub const UNREGISTER: u8 = 4;
    /// agentx-Get-PDU.
    pub const GET: u8 = 5;
    /// agentx-GetNext-PDU.
    pub const GET_NEXT: u8 = 6;
    /// agentx-GetBulk-PDU.
    pub const GET_BULK: u8 = 7;
    /// agentx-TestSet-PDU.
    pub const TEST_SET: u8 = 8;
    /// agentx-Notify-PDU.
    pub const NOTIFY: u8 = 12;
    /// agentx-Ping-PDU.
    pub const PING: u8 = 13;
    /// agentx-AddAgentCaps-PDU.
    pub const ADD_AGENT_CAPS: u8 = 16;
    /// agentx-RemoveAgentCaps-PDU.
    pub const REMOVE_AGENT_CAPS: u8 = 17;
    /// agentx-Response-PDU.
    pub const RESPONSE: u8 = 18;
}

/// Errors of the codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Fewer bytes than the header and its payload length say: read more.
    #[error("truncated PDU: {have} of {need} bytes")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Not a valid AgentX PDU.
    #[error("malformed AgentX PDU: {0}")]
    Malformed(&'static str),
}

type Result<T> = std::result::Result<T, Error>;

/// The fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Protocol version (1).
    pub version: u8,
    /// PDU type ([`pdu_type`]).
    pub pdu_type: u8,
    /// Flags ([`flags`]).
    pub flags: u8,
    /// Session id.
    pub session_id: u32,
    /// Transaction id.
    pub transaction_id: u32,
    /// Packet id.
    pub packet_id: u32,
    /// Payload length (a multiple of 4).
    pub payload_length: u32,
}

impl Header {
    /// Whether integers are big-endian.
    pub fn big_endian(&self) -> bool {
        self.flags & flags::NETWORK_BYTE_ORDER != 0
    }

    /// Reads the header at the start of `b` (which must hold at least [`HEADER_LEN`] bytes).
    pub fn parse(b: &[u8]) -> Result<Header> {
        let h = b.get(..HEADER_LEN).ok_or(Error::Truncated {
            have: b.len(),
            need: HEADER_LEN,
        })?;
        if h[0] != 1 {
            return Err(Error::Malformed("version is not 1"));
        }
        let be = h[2] & flags::NETWORK_BYTE_ORDER != 0;
        let u = |o: usize| u32_at(h, o, be);
        let payload_length = u(16)?;
        if payload_length % 4 != 0 {
            return Err(Error::Malformed("payload length not a multiple of 4"));
        }
        if payload_length > MAX_PAYLOAD {
            return Err(Error::Malformed("payload length too large"));
        }
        Ok(Header {
            version: h[0],
            pdu_type: h[1],
            flags: h[2],
            session_id: u(4)?,
            transaction_id: u(8)?,
            packet_id: u(12)?,
            payload_length,
        })
    }

    /// Total length of the PDU this header starts.
    pub fn pdu_len(&self) -> usize {
        HEADER_LEN + self.payload_length as usize
    }

    fn emit(&self, out: &mut Vec<u8>) {
        let be = self.big_endian();
        out.extend_from_slice(&[self.version, self.pdu_type, self.flags, 0]);
        for v in [
            self.session_id,
            self.transaction_id,
            self.packet_id,
            self.payload_length,
        ] {
            put_u32(out, v, be);
        }
    }
}

fn u32_at(b: &[u8], o: usize, be: bool) -> Result<u32> {
    let s = b
        .get(o..o + 4)
        .ok_or(Error::Malformed("field past the payload"))?;
    let a = [s[0], s[1], s[2], s[3]];
    Ok(if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

fn put_u32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put_u16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

/// An object identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// Whether `self` starts with `prefix`.
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Oid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Oid> {
        s.trim_start_matches('.')
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().map_err(|_| Error::Malformed("bad OID text")))
            .collect::<Result<Vec<u32>>>()
            .map(Oid)
    }
}

/// A cursor over a payload.
struct Rd<'a> {
    b: &'a [u8],
    o: usize,
    be: bool,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .o
            .checked_add(n)
            .ok_or(Error::Malformed("length overflow"))?;
        let s = self
            .b
            .get(self.o..end)
            .ok_or(Error::Malformed("field past the payload"))?;
        self.o = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        let a = [s[0], s[1]];
        Ok(if self.be {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        u32_at(s, 0, self.be)
    }
    fn u64(&mut self) -> Result<u64> {
        let hi = self.u32()?;
        let lo = self.u32()?;
        Ok(if self.be {
            (u64::from(hi) << 32) | u64::from(lo)
        } else {
            (u64::from(lo) << 32) | u64::from(hi)
        })
    }
    fn done(&self) -> bool {
        self.o >= self.b.len()
    }
    /// An OID and its `include` byte.
    fn oid(&mut self) -> Result<(Oid, bool)> {
        let n = self.u8()? as usize;
        let prefix = self.u8()?;
        let include = self.u8()? != 0;
        self.u8()?;
        if n > 128 {
            return Err(Error::Malformed("OID longer than 128 sub-identifiers"));
        }
        let mut v = Vec::with_capacity(n + 5);
        if prefix != 0 {
            v.extend_from_slice(&[1, 3, 6, 1, u32::from(prefix)]);
        }
        for _ in 0..n {
            v.push(self.u32()?);
        }
        Ok((Oid(v), include))
    }
    fn octets(&mut self) -> Result<Vec<u8>> {
        let n = self.u32()? as usize;
        if n > MAX_PAYLOAD as usize {
            return Err(Error::Malformed("octet string too long"));
        }
        let s = self.take(n)?.to_vec();
        self.take((4 - n % 4) % 4)?;
        Ok(s)
    }
}

struct Wr {
    out: Vec<u8>,
    be: bool,
}

impl Wr {
    fn oid(&mut self, o: &Oid, include: bool) {
        // The internet prefix compression (1.3.6.1.X, X < 256) as net-snmp writes it.
        let (prefix, rest) = match o.0.as_slice() {
            [1, 3, 6, 1, p, rest @ ..] if (1..=255).contains(p) => (*p as u8, rest),
            all => (0, all),
        };
        self.out
            .extend_from_slice(&[rest.len() as u8, prefix, u8::from(include), 0]);
        for s in rest {
            put_u32(&mut self.out, *s, self.be);
        }
    }
    fn octets(&mut self, s: &[u8]) {
        put_u32(&mut self.out, s.len() as u32, self.be);
        self.out.extend_from_slice(s);
        self.out
            .extend(std::iter::repeat_n(0u8, (4 - s.len() % 4) % 4));
    }
}

/// A variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// INTEGER.
    Integer(i32),
    /// OCTET STRING.
    OctetString(Vec<u8>),
    /// NULL.
    Null,
    /// OBJECT IDENTIFIER.
    ObjectIdentifier(Oid),
    /// IpAddress (4 octets).
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 (Unsigned32).
    Gauge32(u32),
    /// TimeTicks.
    TimeTicks(u32),
    /// Opaque.
    Opaque(Vec<u8>),
    /// Counter64.
    Counter64(u64),
    /// noSuchObject.
    NoSuchObject,
    /// noSuchInstance.
    NoSuchInstance,
    /// endOfMibView.
    EndOfMibView,
}

impl Value {
    fn tag(&self) -> u16 {
        match self {
            Value::Integer(_) => 2,
            Value::OctetString(_) => 4,
            Value::Null => 5,
            Value::ObjectIdentifier(_) => 6,
            Value::IpAddress(_) => 64,
            Value::Counter32(_) => 65,
            Value::Gauge32(_) => 66,
            Value::TimeTicks(_) => 67,
            Value::Opaque(_) => 68,
            Value::Counter64(_) => 70,
            Value::NoSuchObject => 128,
            Value::NoSuchInstance => 129,
            Value::EndOfMibView => 130,
        }
    }
}

/// A variable binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    /// Name.
    pub name: Oid,
    /// Value.
    pub value: Value,
}

impl VarBind {
    fn parse(r: &mut Rd<'_>) -> Result<VarBind> {
        let tag = r.u16()?;
        r.u16()?;
        let (name, _) = r.oid()?;
        let value = match tag {
            2 => Value::Integer(r.u32()? as i32),
            4 => Value::OctetString(r.octets()?),
            5 => Value::Null,
            6 => Value::ObjectIdentifier(r.oid()?.0),
            64 => {
                let s = r.octets()?;
                Value::IpAddress(
                    s.as_slice()
                        .try_into()
                        .map_err(|_| Error::Malformed("IpAddress not 4 octets"))?,
                )
            }
            65 => Value::Counter32(r.u32()?),
            66 => Value::Gauge32(r.u32()?),
            67 => Value::TimeTicks(r.u32()?),
            68 => Value::Opaque(r.octets()?),
            70 => Value::Counter64(r.u64()?),
            128 => Value::NoSuchObject,
            129 => Value::NoSuchInstance,
            130 => Value::EndOfMibView,
            _ => return Err(Error::Malformed("unknown value type")),
        };
        Ok(VarBind { name, value })
    }

    fn emit(&self, w: &mut Wr) {
        put_u16(&mut w.out, self.value.tag(), w.be);
        put_u16(&mut w.out, 0, w.be);
        w.oid(&self.name, false);
        match &self.value {
            Value::Integer(i) => put_u32(&mut w.out, *i as u32, w.be),
            Value::OctetString(s) | Value::Opaque(s) => w.octets(s),
            Value::ObjectIdentifier(o) => w.oid(o, false),
            Value::IpAddress(a) => w.octets(a),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => {
                put_u32(&mut w.out, *v, w.be)
            }
            Value::Counter64(v) => {
                let (hi, lo) = ((*v >> 32) as u32, *v as u32);
                if w.be {
                    put_u32(&mut w.out, hi, true);
                    put_u32(&mut w.out, lo, true);
                } else {
                    put_u32(&mut w.out, lo, false);
                    put_u32(&mut w.out, hi, false);
                }
            }
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
        }
    }
}

/// A search range of `Get`/`GetNext`/`GetBulk`: from `start` (included if `include`) up to
/// `end` (excluded; empty: no bound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRange {
    /// Start.
    pub start: Oid,
    /// Whether `start` itself may be returned.
    pub include: bool,
    /// End (exclusive); empty: unbounded.
    pub end: Oid,
}

/// `Response` error codes (`res.error`).
pub mod res_error {
    /// noAgentXError.
    pub const NO_ERROR: u16 = 0;
    /// genErr.
    pub const GEN_ERR: u16 = 5;
    /// notWritable.
    pub const NOT_WRITABLE: u16 = 17;
    /// openFailed.
    pub const OPEN_FAILED: u16 = 256;
    /// notOpen.
    pub const NOT_OPEN: u16 = 257;
    /// duplicateRegistration.
    pub const DUPLICATE_REGISTRATION: u16 = 263;
    /// parseError.
    pub const PARSE_ERROR: u16 = 266;
    /// processingError.
    pub const PROCESSING_ERROR: u16 = 268;
}

/// A PDU's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// agentx-Open-PDU.
    Open {
        /// Default timeout in seconds (0: the master's).
        timeout: u8,
        /// Sub-agent identifier.
        id: Oid,
        /// Description.
        descr: Vec<u8>,
    },
    /// agentx-Close-PDU.
    Close {
        /// Reason (1 other, 2 parseError, 3 protocolError, 4 timeouts, 5 shutdown, 6 byManager).
        reason: u8,
    },
    /// agentx-Register-PDU / agentx-Unregister-PDU (`timeout` is 0 in the latter).
    Register {
        /// Unregister instead.
        unregister: bool,
        /// Timeout in seconds (0: the session's).
        timeout: u8,
        /// Priority (default 127).
        priority: u8,
        /// `range_subid` (0: none).
        range_subid: u8,
        /// Subtree.
        subtree: Oid,
        /// Upper bound of the range (`range_subid` != 0).
        upper_bound: Option<u32>,
    },
    /// agentx-Get-PDU.
    Get(Vec<SearchRange>),
    /// agentx-GetNext-PDU.
    GetNext(Vec<SearchRange>),
    /// agentx-GetBulk-PDU.
    GetBulk {
        /// Non-repeaters.
        non_repeaters: u16,
        /// Max repetitions.
        max_repetitions: u16,
        /// Ranges.
        ranges: Vec<SearchRange>,
    },
    /// agentx-Notify-PDU.
    Notify(Vec<VarBind>),
    /// agentx-Ping-PDU.
    Ping,
    /// agentx-AddAgentCaps-PDU.
    AddAgentCaps {
        /// Capabilities id.
        id: Oid,
        /// Description.
        descr: Vec<u8>,
    },
    /// agentx-RemoveAgentCaps-PDU.
    RemoveAgentCaps(Oid),
    /// agentx-Response-PDU.
    Response {
        /// sysUpTime (master to sub-agent; 0 from a sub-agent).
        sys_uptime: u32,
        /// Error ([`res_error`]).
        error: u16,
        /// Index of the failing varbind (1-based, 0: none).
        index: u16,
        /// Variables.
        varbinds: Vec<VarBind>,
    },
    /// Any other PDU, payload kept raw (after the context).
    Other(Vec<u8>),
}

/// A whole PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// Header (its `pdu_type` and `payload_length` are recomputed by [`Pdu::emit`]).
    pub header: Header,
    /// Context (`NON_DEFAULT_CONTEXT`).
    pub context: Option<Vec<u8>>,
    /// Body.
    pub body: Body,
}

fn ranges(r: &mut Rd<'_>) -> Result<Vec<SearchRange>> {
    let mut v = Vec::new();
    while !r.done() {
        let (start, include) = r.oid()?;
        let (end, _) = r.oid()?;
        v.push(SearchRange {
            start,
            include,
            end,
        });
    }
    Ok(v)
}

fn varbinds(r: &mut Rd<'_>) -> Result<Vec<VarBind>> {
    let mut v = Vec::new();
    while !r.done() {
        v.push(VarBind::parse(r)?);
    }
    Ok(v)
}

impl Pdu {
    /// A PDU with a fresh header (network byte order) for `body`.
    pub fn new(session_id: u32, transaction_id: u32, packet_id: u32, body: Body) -> Pdu {
        Pdu {
            header: Header {
                version: 1,
                pdu_type: 0,
                flags: flags::NETWORK_BYTE_ORDER,
                session_id,
                transaction_id,
                packet_id,
                payload_length: 0,
            },
            context: None,
            body,
        }
    }

    /// Parses one PDU at the start of `b`; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Pdu, usize)> {
        let header = Header::parse(b)?;
        let need = header.pdu_len();
        let payload = b.get(HEADER_LEN..need).ok_or(Error::Truncated {
            have: b.len(),
            need,
        })?;
        let mut r = Rd {
            b: payload,
            o: 0,
            be: header.big_endian(),
        };
        let t = header.pdu_type;
        // RFC 2741 leaves the flag unused on Open, Close and Response; net-snmp writes (and
        // reads) an empty context on a Response that has it set, so it is honoured there too.
        let has_context = header.flags & flags::NON_DEFAULT_CONTEXT != 0
            && !matches!(t, pdu_type::OPEN | pdu_type::CLOSE);
        let context = if has_context { Some(r.octets()?) } else { None };
        let body = match t {
            pdu_type::OPEN => {
                let timeout = r.u8()?;
                r.take(3)?;
                let (id, _) = r.oid()?;
                let descr = r.octets()?;
                Body::Open { timeout, id, descr }
            }
            pdu_type::CLOSE => {
                let reason = r.u8()?;
                r.take(3)?;
                Body::Close { reason }
            }
            pdu_type::REGISTER | pdu_type::UNREGISTER => {
                let timeout = r.u8()?;
                let priority = r.u8()?;
                let range_subid = r.u8()?;
                r.u8()?;
                let (subtree, _) = r.oid()?;
                let upper_bound = if range_subid != 0 {
                    Some(r.u32()?)
                } else {
                    None
                };
                Body::Register {
                    unregister: t == pdu_type::UNREGISTER,
                    timeout,
                    priority,
                    range_subid,
                    subtree,
                    upper_bound,
                }
            }
            pdu_type::GET => Body::Get(ranges(&mut r)?),
            pdu_type::GET_NEXT => Body::GetNext(ranges(&mut r)?),
            pdu_type::GET_BULK => {
                let non_repeaters = r.u16()?;
                let max_repetitions = r.u16()?;
                Body::GetBulk {
                    non_repeaters,
                    max_repetitions,
                    ranges: ranges(&mut r)?,
                }
            }
            pdu_type::NOTIFY => Body::Notify(varbinds(&mut r)?),
            pdu_type::PING => Body::Ping,
            pdu_type::ADD_AGENT_CAPS => {
                let (id, _) = r.oid()?;
                let descr = r.octets()?;
                Body::AddAgentCaps { id, descr }
            }
            pdu_type::REMOVE_AGENT_CAPS => Body::RemoveAgentCaps(r.oid()?.0),
            pdu_type::RESPONSE => {
                let sys_uptime = r.u32()?;
                let error = r.u16()?;
                let index = r.u16()?;
                Body::Response {
                    sys_uptime,
                    error,
                    index,
                    varbinds: varbinds(&mut r)?,
                }
            }
            _ => Body::Other(payload.get(r.o..).unwrap_or_default().to_vec()),
        };
        Ok((
            Pdu {
                header,
                context,
                body,
            },
            need,
        ))
    }

    /// The PDU's type number.
    pub fn pdu_type(&self) -> u8 {
        match &self.body {
            Body::Open { .. } => pdu_type::OPEN,
            Body::Close { .. } => pdu_type::CLOSE,
            Body::Register { unregister, .. } => {
                if *unregister {
                    pdu_type::UNREGISTER
                } else {
                    pdu_type::REGISTER
                }
            }
            Body::Get(_) => pdu_type::GET,
            Body::GetNext(_) => pdu_type::GET_NEXT,
            Body::GetBulk { .. } => pdu_type::GET_BULK,
            Body::Notify(_) => pdu_type::NOTIFY,
            Body::Ping => pdu_type::PING,
            Body::AddAgentCaps { .. } => pdu_type::ADD_AGENT_CAPS,
            Body::RemoveAgentCaps(_) => pdu_type::REMOVE_AGENT_CAPS,
            Body::Response { .. } => pdu_type::RESPONSE,
            Body::Other(_) => self.header.pdu_type,
        }
    }

    /// The PDU as bytes, in the byte order its header's flags say.
    pub fn emit(&self) -> Vec<u8> {
        let be = self.header.big_endian();
        let mut w = Wr {
            out: Vec::new(),
            be,
        };
        if let Some(c) = &self.context {
            w.octets(c);
        }
        match &self.body {
            Body::Open { timeout, id, descr } => {
                w.out.extend_from_slice(&[*timeout, 0, 0, 0]);
                w.oid(id, false);
                w.octets(descr);
            }
            Body::Close { reason } => w.out.extend_from_slice(&[*reason, 0, 0, 0]),
            Body::Register {
                timeout,
                priority,
                range_subid,
                subtree,
                upper_bound,
                ..
            } => {
                w.out
                    .extend_from_slice(&[*timeout, *priority, *range_subid, 0]);
                w.oid(subtree, false);
                if let Some(u) = upper_bound {
                    put_u32(&mut w.out, *u, be);
                }
            }
            Body::Get(r) | Body::GetNext(r) => {
                for s in r {
                    w.oid(&s.start, s.include);
                    w.oid(&s.end, false);
                }
            }
            Body::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges,
            } => {
                put_u16(&mut w.out, *non_repeaters, be);
                put_u16(&mut w.out, *max_repetitions, be);
                for s in ranges {
                    w.oid(&s.start, s.include);
                    w.oid(&s.end, false);
                }
            }
            Body::Notify(v) => {
                for vb in v {
                    vb.emit(&mut w);
                }
            }
            Body::Ping => {}
            Body::AddAgentCaps { id, descr } => {
                w.oid(id, false);
                w.octets(descr);
            }
            Body::RemoveAgentCaps(id) => w.oid(id, false),
            Body::Response {
                sys_uptime,
                error,
                index,
                varbinds,
            } => {
                put_u32(&mut w.out, *sys_uptime, be);
                put_u16(&mut w.out, *error, be);
                put_u16(&mut w.out, *index, be);
                for vb in varbinds {
                    vb.emit(&mut w);
                }
            }
            Body::Other(raw) => w.out.extend_from_slice(raw),
        }
        let mut h = self.header;
        h.pdu_type = self.pdu_type();
        h.payload_length = w.out.len() as u32;
        if self.context.is_some() {
            h.flags |= flags::NON_DEFAULT_CONTEXT;
        }
        let mut out = Vec::with_capacity(HEADER_LEN + w.out.len());
        h.emit(&mut out);
        out.extend_from_slice(&w.out);
        out
    }
}

#[cfg(test)]
mod tests;
