//! Reading the pcap files of captures.

use super::*;

// ---------------------------------------------------------------------------------------------
// pcap

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// Original length on the wire.
    pub orig_len: u32,
    /// The captured bytes (from the link-layer header on).
    pub data: Vec<u8>,
}

/// A parsed classic pcap file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcap {
    /// Link type (1 = Ethernet).
    pub linktype: u32,
    /// The frames, in file order.
    pub packets: Vec<Packet>,
}

/// Parses a classic pcap file (either byte order, µs or ns timestamps). A truncated last
/// record (capture still running) is ignored.
pub fn read_pcap(path: &Path) -> Result<Pcap> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    parse_pcap(&bytes).map_err(|reason| LabError::Pcap {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses classic pcap bytes (see [`read_pcap`]).
pub fn parse_pcap(bytes: &[u8]) -> std::result::Result<Pcap, String> {
    let hdr = bytes.get(..24).ok_or("shorter than the 24-byte header")?;
    let magic = [hdr[0], hdr[1], hdr[2], hdr[3]];
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => return Err("pcapng, not classic pcap".into()),
        m => return Err(format!("bad magic {m:02x?}")),
    };
    let u32_at = |b: &[u8], off: usize| -> u32 {
        let a = [b[off], b[off + 1], b[off + 2], b[off + 3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let linktype = u32_at(hdr, 20);
    let mut packets = Vec::new();
    let mut off = 24;
    while let Some(rec) = bytes.get(off..off + 16) {
        let secs = u32_at(rec, 0);
        let frac = u32_at(rec, 4);
        let incl = u32_at(rec, 8) as usize;
        let orig_len = u32_at(rec, 12);
        let Some(data) = bytes.get(off + 16..off + 16 + incl) else {
            break;
        };
        let sub = if nanos {
            Duration::from_nanos(u64::from(frac))
        } else {
            Duration::from_micros(u64::from(frac))
        };
        packets.push(Packet {
            ts: Duration::from_secs(u64::from(secs)) + sub,
            orig_len,
            data: data.to_vec(),
        });
        off += 16 + incl;
    }
    Ok(Pcap { linktype, packets })
}
