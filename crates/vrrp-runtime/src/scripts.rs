//! `vrrp_script`s: which ones run (script security, users), started, kept or restarted when
//! the configuration changes.

use std::collections::BTreeMap;

use conf_parse::Config;

use crate::runtime::{Env, Rt};
use crate::track::{self};

/// Scripts refused by `enable_script_security` (logged with their location).
pub(crate) fn insecure_scripts(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if !config.global.enable_script_security {
        return out;
    }
    for s in &config.vrrp_scripts {
        if let Some(why) = track::insecure_reason(&s.script) {
            log::error!(
                "{}:{}: vrrp_script {}: refused by enable_script_security: {why}; \
                 the script is not run and its tracking is ignored",
                s.loc.0.file,
                s.loc.0.line,
                s.name
            );
            out.push(s.name.clone());
        }
    }
    out
}

impl Rt {
    /// Runs the `vrrp_script`s the instances track (not refused by script security): an
    /// unchanged running script keeps running (and its up/down state), a changed one is
    /// restarted from its `init_fail` state, one no longer tracked is stopped.
    pub(crate) fn sync_scripts(&mut self, config: &Config, env: &mut Env) {
        let default_user = config
            .global
            .script_user
            .as_ref()
            .map(|(u, g)| (u.as_str(), g.as_deref()));
        let mut wanted = BTreeMap::new();
        for s in &config.vrrp_scripts {
            let used = self
                .insts
                .iter()
                .any(|i| i.spec.track_scripts.iter().any(|t| t.name == s.name));
            if !used || self.insecure_scripts.contains(&s.name) {
                continue;
            }
            let own = s.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
            match track::run_as(own, default_user) {
                Ok(who) => {
                    wanted.insert(s.name.clone(), (s, who, (s.clone(), who)));
                }
                Err(e) => {
                    log::error!(
                        "{}:{}: vrrp_script {}: {e}; the script is not run and its tracking is ignored",
                        s.loc.0.file,
                        s.loc.0.line,
                        s.name
                    );
                    self.insecure_scripts.push(s.name.clone());
                }
            }
        }
        let running: Vec<String> = env.scripts.keys().cloned().collect();
        for name in running {
            let keep = wanted
                .get(&name)
                .is_some_and(|w| env.scripts.get(&name).is_some_and(|r| r.0 == w.2));
            if !keep {
                if let Some((_, h)) = env.scripts.remove(&name) {
                    h.abort();
                }
                self.scripts_ok.remove(&name);
            }
        }
        for (name, (s, who, sig)) in wanted {
            if env.scripts.contains_key(&name) {
                continue;
            }
            self.scripts_ok.insert(name.clone(), !s.init_fail);
            let h = track::spawn_script(s.clone(), who, env.tr_tx.clone());
            env.scripts.insert(name, (sig, h));
        }
    }
}
