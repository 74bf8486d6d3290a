//! The IPVS generic netlink payload (`GenlFamily`) and the netlink framing helpers used by the
//! client: request encoding and reply-datagram splitting. Both are pure functions so they are
//! golden-byte tested and fuzzed without a kernel.

use crate::attr::CmdAttr;
use crate::consts::*;
use netlink_packet_core::{
    DecodeError, Emitable, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NlasIterator, ParseableParametrized, NLM_F_REQUEST,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

/// IPVS generic netlink commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    /// A command number this crate does not know (kept, never an error).
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(c: IpvsCmd) -> u8 {
        match c {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(c) => c,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(c: u8) -> IpvsCmd {
        match c {
            IPVS_CMD_NEW_SERVICE => IpvsCmd::NewService,
            IPVS_CMD_SET_SERVICE => IpvsCmd::SetService,
            IPVS_CMD_DEL_SERVICE => IpvsCmd::DelService,
            IPVS_CMD_GET_SERVICE => IpvsCmd::GetService,
            IPVS_CMD_NEW_DEST => IpvsCmd::NewDest,
            IPVS_CMD_SET_DEST => IpvsCmd::SetDest,
            IPVS_CMD_DEL_DEST => IpvsCmd::DelDest,
            IPVS_CMD_GET_DEST => IpvsCmd::GetDest,
            IPVS_CMD_NEW_DAEMON => IpvsCmd::NewDaemon,
            IPVS_CMD_DEL_DAEMON => IpvsCmd::DelDaemon,
            IPVS_CMD_GET_DAEMON => IpvsCmd::GetDaemon,
            IPVS_CMD_SET_CONFIG => IpvsCmd::SetConfig,
            IPVS_CMD_GET_CONFIG => IpvsCmd::GetConfig,
            IPVS_CMD_SET_INFO => IpvsCmd::SetInfo,
            IPVS_CMD_GET_INFO => IpvsCmd::GetInfo,
            IPVS_CMD_ZERO => IpvsCmd::Zero,
            IPVS_CMD_FLUSH => IpvsCmd::Flush,
            other => IpvsCmd::Other(other),
        }
    }
}

/// One IPVS generic netlink payload: a command and its first-level attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<CmdAttr>,
}

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<CmdAttr>) -> Self {
        Self { cmd, attrs }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }
    fn command(&self) -> u8 {
        self.cmd.into()
    }
    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let info = cmd == IpvsCmd::SetInfo;
        let mut attrs = Vec::new();
        for nla in NlasIterator::new(buf) {
            let nla = nla?;
            attrs.push(CmdAttr::parse_with(&nla, info)?);
        }
        Ok(Self { cmd, attrs })
    }
}

/// Append one complete netlink request (nlmsghdr + genlmsghdr + attributes) to `out`.
pub fn encode_request(family: u16, flags: u16, seq: u32, msg: IpvsMessage, out: &mut Vec<u8>) {
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(family);
    let mut nl = NetlinkMessage::from(genl);
    nl.header.flags = NLM_F_REQUEST | flags;
    nl.header.sequence_number = seq;
    nl.finalize();
    let start = out.len();
    let len = nl.buffer_len();
    out.resize(start + len, 0);
    nl.serialize(&mut out[start..start + len]);
    // netlink messages are 4-byte aligned when concatenated
    let aligned = (out.len() + 3) & !3;
    out.resize(aligned, 0);
}

/// One message of a reply datagram, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// An IPVS payload (dump entry or GET reply).
    Data(IpvsMessage),
    /// `NLMSG_ERROR` with code 0.
    Ack,
    /// `NLMSG_ERROR` with a negative errno (`errno` is positive here).
    Error(i32),
    /// `NLMSG_DONE` (end of a dump).
    Done,
    /// `NLMSG_NOOP`, `NLMSG_OVERRUN`, or a message of another family.
    Ignored(u16),
}

/// One decoded message, or the decode error (with the header when it was readable).
pub type DecodedMessage = Result<(NetlinkHeader, Reply), (Option<NetlinkHeader>, DecodeError)>;

/// Split one received datagram into messages. Never panics; each message decodes independently
/// (a malformed one is an `Err` carrying its header when the header itself was readable).
pub fn decode_datagram(buf: &[u8], family: u16) -> Vec<DecodedMessage> {
    crate::split_datagram(buf)
        .map(|m| match m {
            Ok(one) => decode_one(one, family),
            Err(e) => Err((None, e)),
        })
        .collect()
}

fn decode_one(buf: NetlinkBuffer<&[u8]>, family: u16) -> DecodedMessage {
    let mut header = NetlinkHeader::default();
    header.length = buf.length();
    header.message_type = buf.message_type();
    header.flags = buf.flags();
    header.sequence_number = buf.sequence_number();
    header.port_number = buf.port_number();
    let one: &[u8] = buf.into_inner();
    let mt = header.message_type;
    if mt != family && mt >= 16 {
        return Ok((header, Reply::Ignored(mt)));
    }
    match NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(one) {
        Ok(m) => {
            let reply = match m.payload {
                NetlinkPayload::InnerMessage(g) => Reply::Data(g.payload),
                NetlinkPayload::Error(e) => match e.code {
                    None => Reply::Ack,
                    Some(c) => Reply::Error(c.get().checked_neg().unwrap_or(i32::MAX)),
                },
                NetlinkPayload::Done(_) => Reply::Done,
                _ => Reply::Ignored(mt),
            };
            Ok((header, reply))
        }
        Err(e) => Err((Some(header), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::SvcAttr;

    // Proves: the request framing matches the kernel ABI byte for byte (nlmsghdr with
    // REQUEST|ACK, genl cmd/version, one nested service attribute without NLA_F_NESTED).
    #[test]
    fn encode_del_service_golden() {
        let msg = IpvsMessage::new(
            IpvsCmd::DelService,
            vec![CmdAttr::Service(vec![SvcAttr::Af(2), SvcAttr::Fwmark(7)])],
        );
        let mut out = Vec::new();
        encode_request(0x1d, netlink_packet_core::NLM_F_ACK, 42, msg, &mut out);
        let expect: Vec<u8> = [
            &40u32.to_ne_bytes()[..],
            &0x1du16.to_ne_bytes(),
            &5u16.to_ne_bytes(), // REQUEST | ACK
            &42u32.to_ne_bytes(),
            &0u32.to_ne_bytes(),
            &[3, 1, 0, 0],             // DEL_SERVICE, version 1
            &[20, 0, 1, 0],            // nest SERVICE len 20
            &[6, 0, 1, 0, 2, 0, 0, 0], // AF=2 (+pad)
            &[8, 0, 5, 0, 7, 0, 0, 0], // FWMARK=7
        ]
        .concat();
        assert_eq!(out, expect);
    }

    // Proves: garbage and truncated datagrams decode to errors, not panics.
    #[test]
    fn decode_garbage_is_error() {
        assert!(decode_datagram(&[1, 2, 3], 0x1d)[0].is_err());
        let mut bad = vec![0u8; 20];
        bad[0] = 200; // length beyond the buffer
        assert!(decode_datagram(&bad, 0x1d)[0].is_err());
    }
}
