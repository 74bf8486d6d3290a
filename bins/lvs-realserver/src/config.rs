//! `/etc/lvs-realserver.conf`: an alternative to command-line arguments for `start`.
//!
//! ```text
//! # comments and blank lines are ignored
//! mode = dr            # dr | tun
//! iface = eth0         # interface facing the director (optional)
//! label = lo:rs0       # IPv4 label (optional)
//! vip = 192.0.2.10     # one or more per line, repeatable
//! vip = 192.0.2.11 2001:db8::10
//! ```
//! Command-line options override the file.

use std::path::Path;

use arp_sysctl::{Error, Mode};

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/lvs-realserver.conf";

/// What the file says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileConfig {
    pub mode: Option<Mode>,
    pub iface: Option<String>,
    pub label: Option<String>,
    pub vips: Vec<String>,
}

/// Reads and parses a configuration file.
pub fn load(path: &Path) -> Result<FileConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::InvalidInput(format!(
            "no VIP given and cannot read config {}: {e}",
            path.display()
        ))
    })?;
    parse(&text).map_err(|m| Error::InvalidInput(format!("{}: {m}", path.display())))
}

/// Parses the text of a configuration file; errors name the line.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    let mut c = FileConfig::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let lineno = n + 1;
        let (key, value) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("line {lineno}: expected KEY = VALUE, got {line:?}"))?;
        if value.is_empty() {
            return Err(format!("line {lineno}: {key} has no value"));
        }
        match key {
            "mode" => {
                c.mode = Some(match value {
                    "dr" | "DR" => Mode::Dr,
                    "tun" | "TUN" => Mode::Tun,
                    other => {
                        return Err(format!(
                            "line {lineno}: mode must be dr or tun, not {other:?}"
                        ))
                    }
                })
            }
            "iface" | "interface" => c.iface = Some(value.to_string()),
            "label" => c.label = Some(value.to_string()),
            "vip" | "vips" => c.vips.extend(
                value
                    .split(|ch: char| ch.is_whitespace() || ch == ',')
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            other => return Err(format!("line {lineno}: unknown key {other:?}")),
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the documented format parses, including comments, repeated and multi-VIP lines.
    #[test]
    fn parses_documented_format() {
        let c = parse(
            "# real server\nmode = tun\niface = eth0.100  # vlan\n\nvip = 192.0.2.10\nvip = 192.0.2.11, 2001:db8::10\nlabel=lo:web\n",
        )
        .unwrap();
        assert_eq!(c.mode, Some(Mode::Tun));
        assert_eq!(c.iface.as_deref(), Some("eth0.100"));
        assert_eq!(c.label.as_deref(), Some("lo:web"));
        assert_eq!(c.vips, ["192.0.2.10", "192.0.2.11", "2001:db8::10"]);
    }

    // Proves mistakes are reported with their line number.
    #[test]
    fn errors_name_the_line() {
        assert!(parse("vip = 1.2.3.4\nbogus = 1\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(parse("mode = nat\n").unwrap_err().contains("dr or tun"));
        assert!(parse("just words\n").unwrap_err().contains("line 1"));
        assert!(parse("vip =\n").unwrap_err().contains("no value"));
    }
}
