//! Notify scripts and SMTP alerts for real and virtual server state changes.

use super::*;

impl<K: Kernel> Director<K> {
    /// ipwrapper.c init_services, per virtual server in order: with `rs_init_notifies` its
    /// real servers added alive are notified UP (script, FIFO); then its quorum, which every
    /// virtual server starts without (check_data.c set_quorum_states runs before any real
    /// server is alive): reaching it notifies UP (quorum_up, FIFO, "Starting with quorum up"
    /// mail), missing it with a sorry server notifies DOWN ("Starting with quorum down").
    /// At a reload (`old`: the previous configuration) only what is new is: the real servers
    /// added (to kept or new virtual servers) and the new virtual servers' quorum.
    pub(super) fn init_notifies(&mut self, old: Option<&DirectorConfig>) {
        let mut old_index: std::collections::HashMap<&VsId, _> = std::collections::HashMap::new();
        for v in old.iter().flat_map(|o| o.virtual_servers.iter()) {
            old_index.entry(&v.id).or_insert(v);
        }
        let old_vs = |id: &VsId| old_index.get(id).copied();
        // The real servers of the old virtual server found first for each id (RsId names its
        // virtual server), as the scan of that virtual server's list it replaces.
        // Only needed for the real servers' notifications (rs_init_notifies).
        let rs_init = self.cfg.globals.rs_init_notifies;
        let old_rs: std::collections::HashSet<&RsId> = old_index
            .values()
            .filter(|_| rs_init)
            .flat_map(|v| v.real_servers.iter().map(|r| &r.id))
            .collect();
        let vss: Vec<(VsId, Vec<RsId>, bool, bool)> = self
            .cfg
            .virtual_servers
            .iter()
            .map(|v| {
                let before = old_vs(&v.id);
                // Only notified with rs_init_notifies: not collected otherwise.
                let alive = v
                    .real_servers
                    .iter()
                    .filter(|_| rs_init)
                    .filter(|rs| self.health.alive(rs))
                    .filter(|rs| before.is_none_or(|_| !old_rs.contains(&rs.id)))
                    .map(|rs| rs.id.clone())
                    .collect();
                (v.id.clone(), alive, v.sorry.is_some(), before.is_none())
            })
            .collect();
        for (vs, alive, sorry, new) in vss {
            if self.cfg.globals.rs_init_notifies {
                for id in &alive {
                    self.notify_rs(id, true);
                }
            }
            if !new {
                continue;
            }
            let up = self.health.quorum_up(&vs);
            if !up && !sorry {
                continue;
            }
            self.notify_vs(&vs, up);
            let Some(v) = self.find_vs(&vs) else {
                continue;
            };
            if let (true, Some(settings)) = (v.smtp_alert, self.cfg.globals.smtp.clone()) {
                let alert = smtp_alert::Alert::quorum_at_start(
                    &settings.router_id,
                    &vs.keepalived_fmt(),
                    up,
                    v.quorum,
                    v.hysteresis,
                    self.health.weight_sum(v),
                );
                let h = smtp_alert::spawn(settings, alert);
                self.track(h);
            }
        }
    }

    /// The real servers of `vs` alive, and all of them (sorry server excluded).
    fn rs_counts(&self, vs: &VsId) -> (u32, u32) {
        let Some(v) = self.find_vs(vs) else {
            return (0, 0);
        };
        let up = v
            .real_servers
            .iter()
            .filter(|rs| self.health.alive(rs))
            .count();
        (
            u32::try_from(up).unwrap_or(u32::MAX),
            u32::try_from(v.real_servers.len()).unwrap_or(u32::MAX),
        )
    }

    pub(super) fn notify_rs(&mut self, id: &RsId, alive: bool) {
        if !self.stopping {
            let (up, total) = self.rs_counts(&id.vs);
            self.emit(DirectorEvent::RealServerNotified {
                rs: id.clone(),
                alive,
                up,
                total,
            });
        }
        let Some(rs) = self.find_rs(id) else { return };
        let script = if alive {
            rs.notify_up.clone()
        } else {
            rs.notify_down.clone()
        };
        if let Some(s) = &script {
            let h = spawn_script(s);
            self.track(h);
        }
        let state = if alive { "UP" } else { "DOWN" };
        // ipwrapper.c notify_fifo_rs: "RS %s %s %s\n" with FMT_RS, FMT_VS.
        self.fifos.write(&format!(
            "RS {} {} {state}\n",
            id.keepalived_fmt(),
            id.vs.keepalived_fmt()
        ));
    }

    /// ipwrapper.c do_vs_notifies: the quorum script, the FIFO line and (at stop only when
    /// called) nothing else; the mail is sent by the caller.
    pub(super) fn notify_vs(&mut self, vs: &VsId, up: bool) {
        if !self.stopping {
            let (alive, total) = self.rs_counts(vs);
            self.emit(DirectorEvent::QuorumNotified {
                vs: vs.clone(),
                up,
                stopping: false,
                alive,
                total,
            });
        }
        let script = self.find_vs(vs).and_then(|v| {
            if up {
                v.quorum_up.clone()
            } else {
                v.quorum_down.clone()
            }
        });
        if let Some(s) = &script {
            let h = spawn_script(s);
            self.track(h);
        }
        // ipwrapper.c notify_fifo_vs: "VS %s %s\n" with FMT_VS.
        self.fifos.write(&format!(
            "VS {} {}\n",
            vs.keepalived_fmt(),
            if up { "UP" } else { "DOWN" }
        ));
    }

    /// A checker of `id` changed state: keepalived's checkers mail `Realserver ... - UP|DOWN`
    /// (the real server's state) with a body naming the check (check_tcp.c, check_http.c, ...;
    /// FILE_CHECK sends none).
    pub(super) fn mail_rs(&self, id: &RsId, idx: usize, up: bool) {
        let Some(settings) = self.cfg.globals.smtp.clone() else {
            return;
        };
        let Some(rs) = self.find_rs(id) else { return };
        if !rs.smtp_alert {
            return;
        }
        let Some(kind) = rs.checks.get(idx).map(|c| &c.checker.kind) else {
            return;
        };
        let Some(body) = checker_mail_body(kind, up) else {
            return;
        };
        let alert = smtp_alert::Alert::real_server(
            &settings.router_id,
            &id.keepalived_fmt(),
            &id.vs.keepalived_fmt(),
            self.health.alive(rs),
            body,
        );
        smtp_alert::spawn(settings, alert);
    }
}

/// Runs a notify/quorum script in the background through the script runner (its user, script
/// security, own process group; no time limit, as keepalived's `notify_exec`). A script refused
/// by the runner is logged and not run.
fn spawn_script(s: &NotifyScript) -> tokio::task::JoinHandle<()> {
    let cmd = s.command.clone();
    let script = match s.prepare() {
        Ok(p) => p,
        Err(e) => {
            log::error!("script `{cmd}` not run: {e}");
            return tokio::spawn(async {});
        }
    };
    tokio::spawn(async move {
        match script.run(&[], None).await {
            script_runner::Outcome::Exited(0) => {}
            script_runner::Outcome::Failed(e) => log::error!("script `{cmd}` could not start: {e}"),
            o => log::warn!("script `{cmd}` {o}"),
        }
    })
}

/// keepalived's body of a real server mail for a checker going up or down (`None`: that
/// checker sends no mail, as FILE_CHECK).
fn checker_mail_body(kind: &hc::CheckKind, up: bool) -> Option<&'static str> {
    use hc::CheckKind as K;
    Some(match (kind, up) {
        (K::Tcp, true) => "=> TCP CHECK succeed on service <=",
        (K::Tcp, false) => "=> TCP CHECK failed on service <=",
        (K::Http(_) | K::Ssl(_), true) => "=> CHECK succeed on service <=",
        (K::Http(_) | K::Ssl(_), false) => "=> CHECK failed on service : HTTP request failed <=",
        (K::Smtp(_), true) => "=> CHECK succeed on service <=",
        (K::Smtp(_), false) => "=> CHECK failed on service <=",
        (K::Misc(_), true) => "=> MISC CHECK succeeded on service <=",
        (K::Misc(_), false) => "=> MISC CHECK failed on service <=",
        (K::Dns(_), true) => "=> DNS_CHECK: succeed on service <=",
        (K::Dns(_), false) => "=> DNS_CHECK: failed on service <=",
        (K::Udp(_), true) => "=> UDP CHECK succeed on service <=",
        (K::Udp(_), false) => "=> UDP CHECK failed on service <=",
        (K::Ping, true) => "=> ICMP CHECK succeed on service <=",
        (K::Ping, false) => "=> ICMP CHECK failed on service <=",
        _ => return None,
    })
}
