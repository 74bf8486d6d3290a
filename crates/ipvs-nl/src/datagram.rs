//! Splitting a received netlink datagram into its messages, for any netlink family: each
//! message a checked `netlink_packet_core::NetlinkBuffer` (netplat splits its rtnetlink and
//! nftables datagrams the same way, on the same buffer type).

use netlink_packet_core::{DecodeError, NetlinkBuffer};

/// The messages of one netlink datagram, in order, each as a checked [`NetlinkBuffer`]
/// (exactly `nlmsg_len` bytes, so its header accessors and payload cannot panic). Messages are
/// `NLMSG_ALIGN`ed (4 bytes) one after another. A message whose header is cut short or whose
/// `nlmsg_len` is below the header size or beyond the datagram ends the iteration with an
/// error; nothing after it can be located.
///
/// ```
/// use ipvs_nl::split_datagram;
/// // Two NLMSG_NOOP headers (16 bytes each), then 3 stray bytes.
/// let mut d = Vec::new();
/// for seq in [1u32, 2] {
///     d.extend_from_slice(&16u32.to_ne_bytes()); // nlmsg_len
///     d.extend_from_slice(&1u16.to_ne_bytes()); // NLMSG_NOOP
///     d.extend_from_slice(&0u16.to_ne_bytes()); // flags
///     d.extend_from_slice(&seq.to_ne_bytes());
///     d.extend_from_slice(&0u32.to_ne_bytes()); // port
/// }
/// d.extend_from_slice(&[0, 0, 0]);
/// let msgs: Vec<_> = split_datagram(&d).collect();
/// assert_eq!(msgs.len(), 3);
/// assert_eq!(msgs[1].as_ref().unwrap().sequence_number(), 2);
/// assert!(msgs[2].is_err());
/// ```
pub fn split_datagram(
    data: &[u8],
) -> impl Iterator<Item = Result<NetlinkBuffer<&[u8]>, DecodeError>> + '_ {
    let mut offset = 0usize;
    std::iter::from_fn(move || {
        let rest = data.get(offset..).filter(|r| !r.is_empty())?;
        match NetlinkBuffer::new_checked(rest) {
            Ok(b) => {
                let len = b.length() as usize;
                // NLMSG_ALIGN; the last message's padding may be missing.
                offset = offset.saturating_add((len + 3) & !3);
                Some(Ok(NetlinkBuffer::new(&rest[..len])))
            }
            Err(e) => {
                offset = data.len();
                Some(Err(e))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, seq: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&3u16.to_ne_bytes());
        h.extend_from_slice(&0u16.to_ne_bytes());
        h.extend_from_slice(&seq.to_ne_bytes());
        h.extend_from_slice(&0u32.to_ne_bytes());
        h
    }

    // Proves alignment between messages (a 21-byte message is followed 24 bytes on), a last
    // message without padding, and that a bad length ends the iteration with an error.
    #[test]
    fn aligned_messages_and_bad_lengths() {
        let mut d = header(21, 1);
        d.extend_from_slice(&[9, 9, 9, 9, 9, 0, 0, 0]);
        d.extend_from_slice(&header(17, 2));
        d.push(7);
        let m: Vec<_> = split_datagram(&d).map(|r| r.unwrap()).collect();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].length(), m[0].payload(), m[1].sequence_number()),
            (21, &[9u8; 5][..], 2)
        );
        assert_eq!(m[1].payload(), &[7]);

        for bad in [header(15, 1), header(40, 1), vec![16, 0, 0]] {
            let r: Vec<_> = split_datagram(&bad).collect();
            assert_eq!(r.len(), 1);
            assert!(r[0].is_err());
        }
        assert_eq!(split_datagram(&[]).count(), 0);
    }
}
