//! DNS_CHECK: one query over UDP (check_dns.c) and a small, panic-free DNS message codec.
//!
//! keepalived sends `<name> <type> IN` with RD set and a random id, ignores datagrams shorter
//! than a header, with another id or without QR, and is up when RCODE is 0. We also require the
//! reply to parse (a garbage reply with a matching id fails) and, with the
//! [`DnsCheck::expect_addrs`] extension, an A/AAAA answer with one of the expected addresses.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::checker::{ConnOpts, DnsCheck};
use crate::net::{timed, udp_connect};
use crate::result::{Failure, Phase, Status};
use crate::Error;

/// A record.
pub const TYPE_A: u16 = 1;
/// NS record.
pub const TYPE_NS: u16 = 2;
/// CNAME record.
pub const TYPE_CNAME: u16 = 5;
/// SOA record (keepalived's default query type).
pub const TYPE_SOA: u16 = 6;
/// MX record.
pub const TYPE_MX: u16 = 15;
/// TXT record.
pub const TYPE_TXT: u16 = 16;
/// AAAA record.
pub const TYPE_AAAA: u16 = 28;
/// RRSIG record.
pub const TYPE_RRSIG: u16 = 46;
/// DNSKEY record.
pub const TYPE_DNSKEY: u16 = 48;

const NAMES: [(&str, u16); 9] = [
    ("A", TYPE_A),
    ("NS", TYPE_NS),
    ("CNAME", TYPE_CNAME),
    ("SOA", TYPE_SOA),
    ("MX", TYPE_MX),
    ("TXT", TYPE_TXT),
    ("AAAA", TYPE_AAAA),
    ("RRSIG", TYPE_RRSIG),
    ("DNSKEY", TYPE_DNSKEY),
];

/// keepalived's `type` keyword values (case-insensitive) → type number.
pub fn qtype_from_name(name: &str) -> Option<u16> {
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
}

/// keepalived's name for a type number.
pub fn qtype_name(t: u16) -> Option<&'static str> {
    NAMES.iter().find(|(_, v)| *v == t).map(|(n, _)| *n)
}

fn invalid(what: &'static str, value: impl Into<String>) -> Error {
    Error::Invalid {
        what,
        value: value.into(),
    }
}

/// Encode a query: header (id, RD), one question `name qtype IN`. The name "" or "." is the root;
/// a trailing dot is allowed; empty labels, labels over 63 bytes and names over 255 are errors.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(12 + name.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let start = out.len();
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(invalid("DNS name", name));
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() - start > 255 {
        return Err(invalid("DNS name", name));
    }
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    Ok(out)
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Name, dotted, lower-case not enforced, no trailing dot ("" = root).
    pub name: String,
    /// Type.
    pub qtype: u16,
    /// Class.
    pub qclass: u16,
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// Raw RDATA.
    pub rdata: Vec<u8>,
}

impl Record {
    /// The address of an A/AAAA record.
    pub fn addr(&self) -> Option<IpAddr> {
        match (self.rtype, self.rdata.len()) {
            (TYPE_A, 4) => {
                let b: [u8; 4] = self.rdata.as_slice().try_into().ok()?;
                Some(IpAddr::V4(Ipv4Addr::from(b)))
            }
            (TYPE_AAAA, 16) => {
                let b: [u8; 16] = self.rdata.as_slice().try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => None,
        }
    }
}

/// A parsed message (authority and additional sections are skipped, not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Id.
    pub id: u16,
    /// Flags word.
    pub flags: u16,
    /// Questions.
    pub questions: Vec<Question>,
    /// Answers.
    pub answers: Vec<Record>,
}

impl Message {
    /// QR bit.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// RCODE.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, Error> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| invalid("DNS message", "truncated"))?;
        self.pos += 1;
        Ok(b)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| invalid("DNS message", "length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| invalid("DNS message", "truncated"))?;
        self.pos = end;
        Ok(s)
    }
    /// A possibly compressed name; compression pointers must point backwards (no loops).
    fn name(&mut self) -> Result<String, Error> {
        let mut labels: Vec<String> = Vec::new();
        let mut pos = self.pos;
        let mut jumped = false;
        let mut total = 0usize;
        loop {
            let len = *self
                .buf
                .get(pos)
                .ok_or_else(|| invalid("DNS name", "truncated"))?;
            match len & 0xc0 {
                0x00 => {
                    pos += 1;
                    if len == 0 {
                        break;
                    }
                    let l = usize::from(len);
                    let s = self
                        .buf
                        .get(pos..pos + l)
                        .ok_or_else(|| invalid("DNS name", "truncated"))?;
                    total += l + 1;
                    if total > 255 {
                        return Err(invalid("DNS name", "longer than 255"));
                    }
                    labels.push(String::from_utf8_lossy(s).into_owned());
                    pos += l;
                }
                0xc0 => {
                    let lo = *self
                        .buf
                        .get(pos + 1)
                        .ok_or_else(|| invalid("DNS name", "truncated"))?;
                    let target = usize::from(len & 0x3f) << 8 | usize::from(lo);
                    if target >= pos {
                        return Err(invalid("DNS name", "forward compression pointer"));
                    }
                    if !jumped {
                        self.pos = pos + 2;
                        jumped = true;
                    }
                    pos = target;
                }
                _ => return Err(invalid("DNS name", "reserved label type")),
            }
        }
        if !jumped {
            self.pos = pos;
        }
        Ok(labels.join("."))
    }
    fn record(&mut self) -> Result<Record, Error> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        let rdata = self.bytes(len)?.to_vec();
        Ok(Record {
            name,
            rtype,
            class,
            ttl,
            rdata,
        })
    }
}

/// Parse a DNS message. Never panics on any input; counts are bounded by the data present.
pub fn parse_message(buf: &[u8]) -> Result<Message, Error> {
    let mut r = Reader { buf, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let qd = r.u16()?;
    let an = r.u16()?;
    let _ns = r.u16()?;
    let _ar = r.u16()?;
    let mut questions = Vec::new();
    for _ in 0..qd {
        let name = r.name()?;
        let qtype = r.u16()?;
        let qclass = r.u16()?;
        questions.push(Question {
            name,
            qtype,
            qclass,
        });
    }
    let mut answers = Vec::new();
    for _ in 0..an {
        answers.push(r.record()?);
    }
    Ok(Message {
        id,
        flags,
        questions,
        answers,
    })
}

fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (h.finish() & 0xffff) as u16
}

/// Judge a reply to `query` for `d` (None: not a reply to us, keep waiting).
pub fn judge_reply(query_id: u16, d: &DnsCheck, reply: &[u8]) -> Option<Status> {
    if reply.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([reply[0], reply[1]]);
    let flags = u16::from_be_bytes([reply[2], reply[3]]);
    if id != query_id || flags & 0x8000 == 0 {
        return None;
    }
    let rcode = (flags & 0xf) as u8;
    if rcode != 0 {
        return Some(Status::Down(Failure::DnsRcode(rcode)));
    }
    let msg = match parse_message(reply) {
        Ok(m) => m,
        Err(e) => return Some(Status::Down(Failure::Protocol(e.to_string()))),
    };
    let want_name = d.name.strip_suffix('.').unwrap_or(&d.name);
    if let Some(q) = msg.questions.first() {
        if q.qtype != d.qtype || !q.name.eq_ignore_ascii_case(want_name) {
            return Some(Status::Down(Failure::DnsAnswer(format!(
                "reply is for {} type {}",
                q.name, q.qtype
            ))));
        }
    }
    if !d.expect_addrs.is_empty() {
        let got: Vec<IpAddr> = msg.answers.iter().filter_map(Record::addr).collect();
        if !got.iter().any(|a| d.expect_addrs.contains(a)) {
            return Some(Status::Down(Failure::DnsAnswer(format!(
                "answers {got:?} contain none of {:?}",
                d.expect_addrs
            ))));
        }
    }
    Some(Status::Up)
}

pub(crate) async fn check_dns(co: &ConnOpts, dst: SocketAddr, d: &DnsCheck) -> Status {
    let id = random_id();
    let query = match build_query(id, &d.name, d.qtype) {
        Ok(q) => q,
        Err(e) => return Status::Down(Failure::Protocol(e.to_string())),
    };
    let sock = match udp_connect(co, dst) {
        Ok(s) => s,
        Err(f) => return Status::Down(f),
    };
    let r = timed(co.connect_timeout, Phase::Receive, async {
        sock.send(&query)
            .await
            .map_err(|e| Failure::from_io(Phase::Send, &e))?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = sock
                .recv(&mut buf)
                .await
                .map_err(|e| Failure::from_io(Phase::Receive, &e))?;
            if let Some(s) = judge_reply(id, d, &buf[..n]) {
                return Ok(s);
            }
        }
    })
    .await;
    match r {
        Ok(s) => s,
        Err(f) => Status::Down(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Proves query encoding: header, labels, root name, type/class; invalid names rejected.
    #[test]
    fn query_encoding() {
        let q = build_query(0x1234, "www.example.test", TYPE_A).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x03www\x07example\x04test\x00\x00\x01\x00\x01");
        let root = build_query(1, "", TYPE_SOA).unwrap();
        assert_eq!(&root[12..], &[0, 0, 6, 0, 1]);
        assert_eq!(build_query(1, ".", TYPE_SOA).unwrap(), root);
        assert_eq!(
            build_query(1, "a.b.", TYPE_A).unwrap(),
            build_query(1, "a.b", TYPE_A).unwrap()
        );
        assert!(build_query(1, "a..b", TYPE_A).is_err());
        assert!(build_query(1, &"x".repeat(64), TYPE_A).is_err());
        assert!(build_query(1, &["abcdefgh"; 40].join("."), TYPE_A).is_err());
        assert_eq!(qtype_from_name("aaaa"), Some(TYPE_AAAA));
        assert_eq!(qtype_from_name("PTR"), None);
        assert_eq!(qtype_name(TYPE_SOA), Some("SOA"));
    }

    fn reply(id: u16, flags: u16, answers: &[(u16, &[u8])]) -> Vec<u8> {
        let mut m = build_query(id, "example.test", TYPE_A).unwrap();
        m[2..4].copy_from_slice(&flags.to_be_bytes());
        m[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for (t, rdata) in answers {
            m.extend_from_slice(&[0xc0, 12]); // pointer to the question name
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    // Proves parsing of a compressed answer and the verdicts: right address up, wrong address
    // down, NXDOMAIN down, other ids / queries ignored, truncated garbage down.
    #[test]
    fn reply_judgement() {
        let d = DnsCheck {
            qtype: TYPE_A,
            name: "example.test".into(),
            expect_addrs: vec!["10.0.0.5".parse().unwrap()],
        };
        let ok = reply(7, 0x8180, &[(TYPE_A, &[10, 0, 0, 5])]);
        let m = parse_message(&ok).unwrap();
        assert_eq!(m.answers[0].name, "example.test");
        assert_eq!(m.answers[0].addr(), Some("10.0.0.5".parse().unwrap()));
        assert_eq!(judge_reply(7, &d, &ok), Some(Status::Up));
        let wrong = reply(7, 0x8180, &[(TYPE_A, &[10, 0, 0, 6])]);
        assert!(matches!(
            judge_reply(7, &d, &wrong),
            Some(Status::Down(Failure::DnsAnswer(_)))
        ));
        let nx = reply(7, 0x8183, &[]);
        assert_eq!(
            judge_reply(7, &d, &nx),
            Some(Status::Down(Failure::DnsRcode(3)))
        );
        assert_eq!(judge_reply(8, &d, &ok), None);
        assert_eq!(judge_reply(7, &d, &reply(7, 0x0100, &[])), None);
        assert_eq!(judge_reply(7, &d, &ok[..5]), None);
        let mut trunc = ok.clone();
        trunc.truncate(ok.len() - 2);
        assert!(matches!(
            judge_reply(7, &d, &trunc),
            Some(Status::Down(Failure::Protocol(_)))
        ));
        // Without expectation, keepalived semantics: NOERROR is enough.
        let plain = DnsCheck {
            expect_addrs: vec![],
            ..d.clone()
        };
        assert_eq!(
            judge_reply(7, &plain, &reply(7, 0x8180, &[])),
            Some(Status::Up)
        );
    }

    // Proves compression loops are rejected instead of spinning.
    #[test]
    fn compression_loop_rejected() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(parse_message(&m).is_err());
    }

    proptest! {
        // Proves arbitrary bytes never panic the parser or the judge.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_message(&bytes);
            let d = DnsCheck::default();
            let id = if bytes.len() >= 2 { u16::from_be_bytes([bytes[0], bytes[1]]) } else { 0 };
            let _ = judge_reply(id, &d, &bytes);
        }

        // Proves any valid name round-trips through build_query/parse_message.
        #[test]
        fn query_roundtrip(labels in proptest::collection::vec("[a-z0-9-]{1,20}", 0..6), t in any::<u16>(), id in any::<u16>()) {
            let name = labels.join(".");
            let q = build_query(id, &name, t).unwrap();
            let m = parse_message(&q).unwrap();
            prop_assert_eq!(m.id, id);
            prop_assert_eq!(&m.questions[0].name, &name);
            prop_assert_eq!(m.questions[0].qtype, t);
        }
    }
}
