//! Building the demo lab: namespaces, directors, real servers and the client.

use super::*;

impl Demo {
    pub(super) fn build(&mut self) -> Result<()> {
        self.phase = "building the lab".into();
        let lab = Lab::new("demo")?;
        self.lab_name = lab.name().to_string();
        let dir = lab.dir().to_path_buf();
        self.event(format!(
            "lab {}: namespaces {}-{{da,db,rs1,rs2,client}} on bridge {}-br, temp dir {}",
            lab.name(),
            lab.name(),
            lab.name(),
            dir.display()
        ));
        // Real servers.
        for (name, addr) in REALSERVERS {
            self.interrupted()?;
            let h = lab.host(name)?;
            h.add_addr(&format!("{addr}{PREFIX}"))?;
            let state = dir.join(format!("{name}-lvs-realserver"));
            let rs = self.opts.realserver.to_string_lossy().into_owned();
            let out = h.run_ok(&[
                &rs,
                "--state-dir",
                &state.to_string_lossy(),
                "start",
                VIP,
                "--iface",
                "eth0",
            ])?;
            let _ = out;
            let www = dir.join(format!("{name}-www"));
            std::fs::create_dir_all(&www)
                .map_err(|e| DemoError::Setup(format!("{}: {e}", www.display())))?;
            for (f, body) in [
                (
                    "index.html",
                    format!("<h1>served by {name} ({addr})</h1>\n"),
                ),
                ("health", "ok\n".to_string()),
            ] {
                std::fs::write(www.join(f), body)
                    .map_err(|e| DemoError::Setup(format!("{}: {e}", www.display())))?;
            }
            let web = h.spawn(&[
                "python3",
                "-u",
                "-m",
                "http.server",
                "--directory",
                &www.to_string_lossy(),
                &PORT.to_string(),
            ])?;
            self.event(format!(
                "{name} {addr}: lvs-realserver start {VIP} --iface eth0 (VIP on lo, arp_ignore=1, arp_announce=2); web server pid {}",
                web.pid()
            ));
            self.web.push(Some(web));
            self.rs.push(h);
        }
        // Client.
        let client = lab.host(CLIENT.0)?;
        client.add_addr(&format!("{}{PREFIX}", CLIENT.1))?;
        // Directors.
        for (host, name, addr) in DIRECTORS {
            self.interrupted()?;
            let h = lab.host(host)?;
            h.add_addr(&format!("{addr}{PREFIX}"))?;
            let conf = self.opts.conf_dir.join(format!("{name}.conf"));
            let pid = |f: &str| {
                dir.join(format!("{host}-{f}.pid"))
                    .to_string_lossy()
                    .into_owned()
            };
            let ka = self.opts.keepalived.to_string_lossy().into_owned();
            let (p, what) = match &self.opts.director_cmd {
                Some(t) => {
                    let script = t
                        .replace("{conf}", &conf.to_string_lossy())
                        .replace("{dir}", &dir.to_string_lossy())
                        .replace("{name}", name);
                    (h.spawn_sh(&script)?, format!("sh -c '{script}'"))
                }
                None => (
                    h.spawn(&[
                        &ka,
                        "-n",
                        "-l",
                        "-D",
                        "-f",
                        &conf.to_string_lossy(),
                        "-p",
                        &pid("keepalived"),
                        "-r",
                        &pid("vrrp"),
                        "-c",
                        &pid("checkers"),
                    ])?,
                    format!("keepalived -n -l -D -f {}", conf.display()),
                ),
            };
            self.event(format!("{name} {addr}: {what} (pid {})", p.pid()));
            self.daemons.push(p);
            self.directors.push(h);
        }
        // Wait for the web servers before the client starts.
        for (i, (name, _)) in REALSERVERS.iter().enumerate() {
            self.wait(
                Duration::from_secs(60),
                &format!("{name}'s web server"),
                |d| {
                    d.web[i]
                        .as_ref()
                        .is_some_and(|w| w.output_so_far().contains("Serving HTTP"))
                },
            )?;
        }
        let exe =
            std::env::current_exe().map_err(|e| DemoError::Setup(format!("current_exe: {e}")))?;
        let c = client.spawn(&[
            &exe.to_string_lossy(),
            "client",
            VIP,
            &PORT.to_string(),
            &CLIENT_INTERVAL_MS.to_string(),
        ])?;
        self.event(format!(
            "client {}: GET http://{VIP}/ every {CLIENT_INTERVAL_MS} ms on a new connection",
            CLIENT.1
        ));
        self.client = Some(c);
        self.lab = Some(lab);
        Ok(())
    }
}
