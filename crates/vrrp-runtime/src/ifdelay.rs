//! `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`: a link change of a listed
//! interface is acted on only once it has lasted its delay (keepalived's
//! `update_interface_flags` debounce timers): a change reverted within the delay is dropped
//! ("Delay timer for IF cancelled"); an interface never seen up comes up at once; the delays
//! are capped below `(down_timer_adverts - 1) × advert_int` of the instances on the interface
//! (keepalived `check_debounce_timers`), and not used with `down_timer_adverts 1`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use conf_parse::Config;

/// One interface's delays and what was last acted on.
#[derive(Debug, Clone)]
struct Debounce {
    down: Duration,
    up: Duration,
    /// The link state the instances see (None: not seen yet).
    acted: Option<bool>,
    seen_up: bool,
    /// A change waiting for its delay: (new state, when it is acted on).
    pending: Option<(bool, Instant)>,
}

/// The debounce state of the interfaces with delays, by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct IfDelays {
    ifs: BTreeMap<String, Debounce>,
}

impl IfDelays {
    /// The delays of `config` (capped by its instances' timers); the state of interfaces kept
    /// in `old` carries over (reload).
    pub(crate) fn from_config(config: &Config, old: Option<&IfDelays>) -> IfDelays {
        let mut ifs = BTreeMap::new();
        for d in &config.interface_up_down_delays {
            let (mut down, mut up) = (d.down, d.up);
            for ci in config
                .vrrp_instances
                .iter()
                .filter(|ci| ci.interface.as_deref() == Some(d.name.as_str()))
            {
                let Ok(spec) = crate::config::instance_spec(config, ci) else {
                    continue;
                };
                let adv = spec.interval.to_duration();
                if spec.down_timer_adverts <= 1 {
                    log::info!(
                        "{}: cannot use debounce timers with down_timer_adverts = 1 - resetting",
                        ci.name
                    );
                    (down, up) = (Duration::ZERO, Duration::ZERO);
                    continue;
                }
                let cap = (adv * u32::from(spec.down_timer_adverts - 1)).saturating_sub(adv / 256);
                if down >= cap + adv / 256 || up >= cap + adv / 256 {
                    log::info!(
                        "{}: interface {} debounce timer(s) not less that {} * advert_int - resetting",
                        ci.name,
                        d.name,
                        spec.down_timer_adverts - 1
                    );
                    down = down.min(cap);
                    up = up.min(cap);
                }
            }
            let prev = old.and_then(|o| o.ifs.get(&d.name));
            ifs.insert(
                d.name.clone(),
                Debounce {
                    down,
                    up,
                    acted: prev.and_then(|p| p.acted),
                    seen_up: prev.is_some_and(|p| p.seen_up),
                    pending: prev.and_then(|p| p.pending),
                },
            );
        }
        IfDelays { ifs }
    }

    /// The state instances are to see for interface `name` whose link is `raw` now.
    pub(crate) fn effective(&mut self, name: &str, raw: bool, now: Instant) -> bool {
        let Some(d) = self.ifs.get_mut(name) else {
            return raw;
        };
        let Some(acted) = d.acted else {
            d.acted = Some(raw);
            d.seen_up |= raw;
            return raw;
        };
        if raw == acted {
            if d.pending.take().is_some() {
                log::info!("Delay timer for {name} cancelled");
            }
            return acted;
        }
        if d.pending.is_some_and(|(to, _)| to == raw) {
            return acted;
        }
        let delay = if raw { d.up } else { d.down };
        if d.seen_up && !delay.is_zero() {
            log::info!(
                "{name}: link change to {} delayed by {} s",
                if raw { "up" } else { "down" },
                delay.as_secs_f64()
            );
            d.pending = Some((raw, now + delay));
            return acted;
        }
        d.pending = None;
        d.acted = Some(raw);
        d.seen_up |= raw;
        raw
    }

    /// The next delayed change.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.ifs
            .values()
            .filter_map(|d| d.pending.map(|p| p.1))
            .min()
    }

    /// Acts on the delayed changes due at `now`; whether there was one.
    pub(crate) fn fire(&mut self, now: Instant) -> bool {
        let mut any = false;
        for (name, d) in &mut self.ifs {
            if let Some((to, _)) = d.pending.filter(|p| p.1 <= now) {
                log::info!(
                    "{name}: delayed link change to {} acted on",
                    if to { "up" } else { "down" }
                );
                d.pending = None;
                d.acted = Some(to);
                d.seen_up |= to;
                any = true;
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(down: u64, up: u64) -> IfDelays {
        let mut d = IfDelays::default();
        d.ifs.insert(
            "eth0".into(),
            Debounce {
                down: Duration::from_millis(down),
                up: Duration::from_millis(up),
                acted: None,
                seen_up: false,
                pending: None,
            },
        );
        d
    }

    #[test]
    fn a_change_acts_after_its_delay_and_a_short_flap_is_dropped() {
        let mut d = delays(1500, 500);
        let t = Instant::now();
        assert!(d.effective("eth0", true, t));
        // Down: still up until 1.5 s.
        assert!(d.effective("eth0", false, t));
        assert_eq!(d.next_deadline(), Some(t + Duration::from_millis(1500)));
        assert!(!d.fire(t + Duration::from_millis(1000)));
        assert!(d.fire(t + Duration::from_millis(1500)));
        assert!(!d.effective("eth0", false, t + Duration::from_millis(1500)));
        // Up for less than 0.5 s: never seen.
        let t2 = t + Duration::from_secs(3);
        assert!(!d.effective("eth0", true, t2));
        assert!(!d.effective("eth0", false, t2 + Duration::from_millis(200)));
        assert_eq!(d.next_deadline(), None);
        // Other interfaces are not delayed.
        assert!(!d.effective("eth1", false, t));
    }

    #[test]
    fn an_interface_never_up_comes_up_at_once() {
        let mut d = delays(1000, 1000);
        let t = Instant::now();
        assert!(!d.effective("eth0", false, t));
        assert!(d.effective("eth0", true, t));
        assert!(d.effective("eth0", false, t));
    }
}
