//! `vrrp_script`s: which ones run (users and script security through the script runner),
//! started, kept or restarted when the configuration changes.

use std::collections::BTreeMap;

use conf_parse::{Config, VrrpScript};

use crate::config::script_policy;
use crate::runtime::{Env, Rt};
use crate::track;

/// `s` prepared by the script runner: its user (own, `script_user`, `keepalived_script`) and,
/// under `enable_script_security`, keepalived's check of its path.
fn prepare(
    config: &Config,
    s: &VrrpScript,
) -> Result<script_runner::Script, script_runner::ScriptError> {
    let own = s.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
    script_policy(&config.global).prepare(&s.script, own)
}

/// Scripts keepalived disables when it reads the configuration (unsafe under
/// `enable_script_security`, not found, not executable, unknown user), logged with their
/// location and why.
pub(crate) fn insecure_scripts(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for s in &config.vrrp_scripts {
        if let Err(e) = prepare(config, s) {
            log::error!(
                "{}:{}: vrrp_script {}: {e}; the script is not run and its tracking is ignored",
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
    /// Runs the `vrrp_script`s the instances track (not refused by [`insecure_scripts`]): an
    /// unchanged running script keeps running (and its up/down state), a changed or new one is
    /// (re)started with no result yet ([`Rt::scripts_init`]: its first run decides), one no
    /// longer tracked is stopped.
    pub(crate) fn sync_scripts(&mut self, config: &Config, env: &mut Env) {
        let mut wanted = BTreeMap::new();
        for s in &config.vrrp_scripts {
            let used = self
                .insts
                .iter()
                .any(|i| i.spec.track_scripts.iter().any(|t| t.name == s.name));
            if !used || self.insecure_scripts.contains(&s.name) {
                continue;
            }
            match prepare(config, s) {
                Ok(script) => {
                    wanted.insert(s.name.clone(), (s, (s.clone(), script)));
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
                .is_some_and(|w| env.scripts.get(&name).is_some_and(|r| r.0 == w.1));
            if !keep {
                if let Some((_, h)) = env.scripts.remove(&name) {
                    h.abort();
                }
                self.scripts_ok.remove(&name);
                self.scripts_init.remove(&name);
                self.metrics.forget_script(&name);
            }
        }
        for (name, (s, sig)) in wanted {
            if env.scripts.contains_key(&name) {
                continue;
            }
            // keepalived shows a script with no result yet as BAD (result rise - 1 < rise).
            self.scripts_ok.insert(name.clone(), false);
            self.scripts_init.insert(name.clone());
            let state = self.metrics.new_script_state(&name);
            let h = track::spawn_script(s.clone(), sig.1.clone(), env.tr_tx.clone(), state);
            env.scripts.insert(name, (sig, h));
        }
        self.metrics.set_scripts(&self.scripts_ok);
    }
}
