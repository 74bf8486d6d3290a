//! The demo scenario, its verdict and the summary.

use super::*;

impl Demo {
    pub(super) fn scenario(&mut self) -> Result<()> {
        // 1. Election and balancing.
        self.phase = "1/4 election, IPVS table, balancing".into();
        self.event(format!("== {}", self.phase));
        let up = self.wait_cond(Duration::from_secs(40), |d| {
            d.snap.holders == [0] && d.snap.table.len() == 2
        })?;
        self.check(
            "master_elected",
            up,
            if up {
                format!("director-a holds {VIP} and its IPVS table has both real servers")
            } else {
                format!(
                    "after 40 s: VIP on {}, table {}",
                    holders_text(&self.snap.holders),
                    table_text(&self.snap.table)
                )
            },
        );
        // Balancing is judged from the moment the VIP and the table are up.
        let t_start = now_ms();
        let both = self.wait_cond(Duration::from_secs(15), |d| {
            d.answers_since(t_start).0.len() == 2
        })?;
        self.observe(Duration::from_secs(3))?;
        let (m, fails) = self.answers_since(t_start);
        self.check(
            "both_served",
            both,
            format!(
                "replies since the VIP came up: {} failed {fails}",
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );

        // 2. Fail the master.
        self.phase = "2/4 director-a link down: failover".into();
        self.event(format!("== {}", self.phase));
        let t_fail = now_ms();
        self.directors[0].link_down("eth0")?;
        let t_down = now_ms();
        self.event(format!(
            "director-a: ip link set eth0 down (took {} ms)",
            t_down.saturating_sub(t_fail)
        ));
        let took = self.wait_cond(Duration::from_secs(30), |d| {
            d.snap.holders == [1]
                && d.samples
                    .iter()
                    .any(|s| s.t > t_fail + 200 && s.server.is_some())
        })?;
        self.observe(Duration::from_secs(2))?;
        let outage = largest_gap(&self.samples, t_fail, now_ms());
        self.check(
            "failover",
            took,
            if took {
                format!(
                    "director-b holds {VIP}; the client was answered again {} after director-a's link was down",
                    outage.map_or("-".to_string(), |(_, end)| format!("{} ms", end.saturating_sub(t_down)))
                )
            } else {
                format!("after 30 s VIP on {}", holders_text(&self.snap.holders))
            },
        );
        // The backup takes over at most Master_Down_Interval after the last advert it heard,
        // which was at or before the link went down; the client adds its poll period, the
        // gratuitous ARP and the retry of a request in flight (connect timeout 250 ms).
        let allowance = if std::env::var_os("KRS_IN_VM").is_some() {
            1000
        } else {
            500
        };
        let bound = self.mdi_ms + allowance;
        match outage {
            Some((gap, _)) => {
                let ok = took && gap <= bound;
                self.check(
                    "outage_within_bound",
                    ok,
                    format!(
                        "client-visible outage {gap} ms; Master_Down_Interval {} ms + {allowance} ms allowance (poll, GARP, retry{}) = {bound} ms",
                        self.mdi_ms,
                        if allowance > 500 { ", emulated VM" } else { "" }
                    ),
                );
                println!("OUTAGE_MS {gap} MDI_MS {} BOUND_MS {bound}", self.mdi_ms);
            }
            None => self.check(
                "outage_within_bound",
                false,
                "no successful reply around the failure".into(),
            ),
        }

        // 3. Bring director-a back (it preempts).
        self.phase = "3/4 director-a link up: it takes the VIP back".into();
        self.event(format!("== {}", self.phase));
        let t_back = now_ms();
        self.directors[0].link_up("eth0")?;
        self.event("director-a: ip link set eth0 up");
        let back = self.wait_cond(Duration::from_secs(30), |d| {
            d.snap.holders == [0]
                && d.samples
                    .iter()
                    .any(|s| s.t > t_back + 200 && s.server.is_some())
        })?;
        self.observe(Duration::from_secs(2))?;
        let gap_back = largest_gap(&self.samples, t_back, now_ms());
        self.check(
            "failback",
            back,
            format!(
                "VIP on {} (priority 150 preempts); largest reply gap {} ms",
                holders_text(&self.snap.holders),
                gap_back.map_or("-".into(), |(g, _)| g.to_string())
            ),
        );

        // 4. Stop rs1's web server: its HTTP_GET check fails and it leaves the table.
        self.phase = "4/4 rs1's web server stopped: health check removes it".into();
        self.event(format!("== {}", self.phase));
        let t_stop = now_ms();
        if let Some(w) = self.web[0].take() {
            w.kill();
        }
        self.event("rs1: web server killed");
        let rs1 = REALSERVERS[0].1;
        let gone = self.wait_cond(Duration::from_secs(30), |d| {
            !d.snap.table.is_empty()
                && !d
                    .snap
                    .table
                    .iter()
                    .any(|(a, _)| a.starts_with(&format!("{rs1}:")))
        })?;
        let t_gone = now_ms();
        self.observe(Duration::from_secs(2))?;
        let (m, _) = self.answers_since(t_gone + 500);
        self.check(
            "rs1_removed",
            gone && !m.contains_key("rs1") && m.contains_key("rs2"),
            format!(
                "table {} {} ms after the stop; replies since: {}",
                table_text(&self.snap.table),
                t_gone.saturating_sub(t_stop),
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        Ok(())
    }

    /// Tears down, checks nothing is left, prints the summary; returns the exit status.
    pub(super) fn finish(&mut self, outcome: Result<()>) -> ExitCode {
        let interrupted = matches!(outcome, Err(DemoError::Interrupted));
        if let Err(e) = &outcome {
            if !interrupted {
                self.event(format!("error: {e}"));
                self.dump_logs();
            }
        }
        self.phase = "teardown".into();
        self.event("== teardown");
        // Graceful: client, daemons (they remove their VIPs and IPVS services), real servers.
        if let Some(c) = self.client.take() {
            c.kill();
        }
        // keepalived: SIGTERM to the daemon (parent) only, as an operator would, in parallel on
        // both directors; it stops its workers, which release the VIP and the IPVS services.
        let daemons: Vec<Proc> = self.daemons.drain(..).collect();
        let t_stop = Instant::now();
        for d in &daemons {
            let _ = if self.opts.director_cmd.is_some() {
                d.signal_group(Signal::SIGTERM)
            } else {
                d.signal(Signal::SIGTERM)
            };
        }
        for (i, d) in daemons.into_iter().enumerate() {
            let grace = Duration::from_secs(15).saturating_sub(t_stop.elapsed());
            let st = match d.wait_timeout(grace) {
                Ok(Some(st)) => format!("{st}"),
                _ => {
                    let out = d.output_so_far();
                    let lines: Vec<&str> = out.lines().collect();
                    eprintln!(
                        "--- {} did not stop within 15 s of SIGTERM; its last output:",
                        DIRECTORS[i].1
                    );
                    for l in &lines[lines.len().saturating_sub(25)..] {
                        eprintln!("    {l}");
                    }
                    d.kill();
                    format!("still running after {} s: SIGKILLed", 15)
                }
            };
            let msg = format!(
                "{}: director stopped after {:.1} s ({st})",
                DIRECTORS[i].1,
                t_stop.elapsed().as_secs_f64()
            );
            self.event(msg);
        }
        if let Some(lab) = &self.lab {
            for (name, _) in REALSERVERS {
                let state = lab.dir().join(format!("{name}-lvs-realserver"));
                if let Some(h) = lab.get(name) {
                    let _ = h.run(&[
                        &self.opts.realserver.to_string_lossy(),
                        "--state-dir",
                        &state.to_string_lossy(),
                        "stop",
                    ]);
                }
            }
        }
        self.directors.clear();
        self.rs.clear();
        self.web.clear();
        drop(self.lab.take());
        if !self.lab_name.is_empty() {
            let left = leftovers(&self.lab_name);
            let clean = left.is_empty();
            self.check(
                "nothing_left_behind",
                clean,
                if clean {
                    format!(
                        "no namespace, process, marker or temp dir of {} remains",
                        self.lab_name
                    )
                } else {
                    left.join("; ")
                },
            );
        }
        if interrupted {
            println!("krs-demo: interrupted; lab removed");
            // 128 + the signal, like a shell reports a process killed by it.
            let sig = self.stop.load(Ordering::SeqCst).clamp(1, 127);
            return ExitCode::from(u8::try_from(128 + sig).unwrap_or(130));
        }
        self.summary(outcome.is_ok())
    }

    pub(super) fn dump_logs(&self) {
        for (i, d) in self.daemons.iter().enumerate() {
            let out = d.output_so_far();
            eprintln!("--- {} keepalived output (last 30 lines):", DIRECTORS[i].1);
            let lines: Vec<&str> = out.lines().collect();
            for l in &lines[lines.len().saturating_sub(30)..] {
                eprintln!("    {l}");
            }
        }
    }

    pub(super) fn summary(&self, completed: bool) -> ExitCode {
        let failed = self.checks.iter().filter(|c| !c.pass).count() + usize::from(!completed);
        println!();
        println!("┌──────────────────────┬────────┬──────────────────────────────────────────────");
        println!("│ check                │ result │ detail");
        println!("├──────────────────────┼────────┼──────────────────────────────────────────────");
        for c in &self.checks {
            println!(
                "│ {:<20} │ {:<6} │ {}",
                c.name,
                if c.pass { "pass" } else { "FAIL" },
                c.detail
            );
        }
        if !completed {
            println!(
                "│ {:<20} │ {:<6} │ the scenario stopped early (see the error above)",
                "scenario_completed", "FAIL"
            );
        }
        println!("└──────────────────────┴────────┴──────────────────────────────────────────────");
        for c in &self.checks {
            println!(
                "RESULT {} {} {}",
                c.name,
                if c.pass { "pass" } else { "fail" },
                c.detail
            );
        }
        if !completed {
            println!("RESULT scenario_completed fail the scenario stopped early");
        }
        let passed = self.checks.iter().filter(|c| c.pass).count();
        println!("RESULT summary passed={passed} failed={failed}");
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}
