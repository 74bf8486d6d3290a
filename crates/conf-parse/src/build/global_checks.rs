//! keepalived's value checks for `global_defs` keywords that the model keeps as statements
//! (process priorities, CPU affinity, umask, FIFOs, ...): the same located errors
//! `keepalived -t` 2.2.7 reports (`core/global_parser.c`).

use super::Builder;
use crate::model::*;

/// The `umask` bit names keepalived accepts.
const UMASK_BITS: &[&str] = &[
    "IRUSR", "IWUSR", "IXUSR", "IRGRP", "IWGRP", "IXGRP", "IROTH", "IWOTH", "IXOTH", "IRWXU",
    "IRWXG", "IRWXO",
];

fn online_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

impl Builder {
    /// Checks one `global_defs` statement kept untyped; reports what keepalived reports.
    pub(super) fn global_untyped_checks(&mut self, st: &Stmt) {
        let kw = st.keyword.as_ref();
        let first = st.args.first().map(String::as_str);
        match kw {
            "vrrp_rt_priority" | "checker_rt_priority" | "bfd_rt_priority" => {
                let process = kw.trim_end_matches("_rt_priority");
                let Some(a) = first else {
                    return self.invalid(
                        st,
                        format!("No {process} process real-time priority specified"),
                        None,
                    );
                };
                match a.parse::<i64>() {
                    Err(_) => self.invalid(
                        st,
                        format!("{process} process real-time priority '{a}' invalid"),
                        Some("a number in [1, 99]"),
                    ),
                    Ok(p) if p < 1 => self.fixup(
                        st,
                        format!("{process} process real-time priority {p} less than minimum 1 - setting to minimum"),
                    ),
                    Ok(p) if p > 99 => self.fixup(
                        st,
                        format!("{process} process real-time priority {p} greater than maximum 99 - setting to maximum"),
                    ),
                    Ok(_) => {}
                }
            }
            "vrrp_priority" | "checker_priority" | "bfd_priority" => {
                let process = kw.trim_end_matches("_priority");
                match first.map(str::parse::<i64>) {
                    None => {
                        self.invalid(st, format!("No {process} process priority specified"), None)
                    }
                    Some(Ok(-20..=19)) => {}
                    Some(_) => self.invalid(
                        st,
                        format!("Invalid {process} process priority specified"),
                        Some("a nice value in [-20, 19]"),
                    ),
                }
            }
            "vrrp_cpu_affinity" | "checker_cpu_affinity" | "bfd_cpu_affinity" => {
                let process = kw.trim_end_matches("_cpu_affinity");
                if st.args.is_empty() {
                    return self.invalid(st, format!("No {process} cpu_id set specified"), None);
                }
                let max = online_cpus();
                for a in &st.args {
                    match a.parse::<u64>() {
                        Ok(n) if n < max => {}
                        Ok(n) => {
                            self.invalid(
                                st,
                                format!("Invalid cpu_id:{n} specified for {process} process"),
                                None,
                            );
                            return;
                        }
                        Err(_) => {
                            self.invalid(
                                st,
                                format!("Invalid cpu_id:{a} specified for {process} process"),
                                None,
                            );
                            return;
                        }
                    }
                }
            }
            "max_auto_priority" => match first.map(str::parse::<i64>) {
                None | Some(Ok(-1..=99)) => {}
                Some(_) => {
                    let a = first.unwrap_or_default().to_string();
                    self.invalid(
                        st,
                        format!("max_auto_priority '{a}' must be in [0, 99] (or -1 to disable) - ignoring"),
                        None,
                    )
                }
            },
            "random_seed" => {
                if let Some(a) = first {
                    if a.parse::<u32>().is_err() {
                        self.invalid(st, format!("random_seed {a} invalid"), None);
                    }
                }
            }
            "vrrp_rx_bufs_multiplier" => {
                if let Some(a) = first {
                    if !a.parse::<u32>().is_ok_and(|n| n >= 1) {
                        self.invalid(st, format!("Invalid vrrp_rx_bufs_multiplier {a}"), None);
                    }
                }
            }
            "vrrp_rx_bufs_policy" => {
                for a in &st.args {
                    if !matches!(a.as_str(), "MTU" | "ADVERT" | "NO_SET")
                        && a.parse::<u32>().is_err()
                    {
                        self.invalid(st, format!("Invalid vrrp_rx_bufs_policy {a}"), None);
                        return;
                    }
                }
            }
            _ if kw.ends_with("_rcv_bufs") => {
                if let Some(a) = first {
                    if a.parse::<u32>().is_err() {
                        self.invalid(st, format!("{kw} size ({a}) invalid"), None);
                    }
                }
            }
            _ if kw.ends_with("_rlimit_rttime") || kw.ends_with("_rlimit_rtime") => {
                if let Some(a) = first {
                    if a.parse::<u32>().is_err() {
                        let process = kw.split('_').next().unwrap_or_default();
                        self.invalid(st, format!("Invalid {process} real-time limit - {a}"), None);
                    }
                }
            }
            "vrrp_min_garp"
                if first.is_some_and(|a| {
                    !matches!(
                        a.to_ascii_lowercase().as_str(),
                        "on" | "off" | "true" | "false" | "yes" | "no"
                    )
                }) =>
            {
                self.invalid(st, "Invalid value for vrrp_min_garp specified".into(), None)
            }
            "reload_time_file" if first.is_none() => {
                self.invalid(st, "reload_time_file invalid".into(), None)
            }
            "notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo" if first.is_none() => {
                let t = kw.trim_end_matches("notify_fifo");
                self.invalid(st, format!("No {t}notify_fifo name specified"), None)
            }
            "umask" => {
                let Some(a) = first else {
                    // keepalived reads the missing word: exit (null_strvec)
                    self.arg(st, 0);
                    return;
                };
                if a.starts_with(|c: char| c.is_ascii_digit()) {
                    if !u32::from_str_radix(a, 8).is_ok_and(|m| m <= 0o777) {
                        self.invalid(st, format!("invalid umask value {a}"), None);
                    }
                } else {
                    for w in st.args.iter().flat_map(|w| w.split('|')) {
                        if !w.is_empty() && !UMASK_BITS.contains(&w) {
                            self.invalid(st, format!("Unknown umask bit {w}"), None);
                            return;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
