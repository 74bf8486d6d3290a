//! The daemon's view of a configuration: conf-parse's model plus the few facts the process
//! shell needs (which workers, instance name, namespace, child_wait_time, metrics address).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use conf_parse::{Config, Diagnostic, ParseOptions, Parsed, Severity, VsKey};

/// keepalived's default `child_wait_time` (seconds).
pub const DEFAULT_CHILD_WAIT: Duration = conf_parse::DEFAULT_CHILD_WAIT_TIME;

/// A parsed, accepted configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file it came from.
    pub file: PathBuf,
    /// conf-parse's result (model and diagnostics).
    pub parsed: Arc<Parsed>,
}

/// Why a configuration was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file cannot be read (keepalived: KEEPALIVED_EXIT_NO_CONFIG).
    #[error("Config files missing '{0}'.")]
    Missing(String),
    /// The file has errors (diagnostics with severity error).
    #[error("{count} configuration error(s) in {file}")]
    Invalid {
        /// The file.
        file: String,
        /// Number of errors.
        count: usize,
        /// All diagnostics (errors and warnings), located.
        diagnostics: Vec<Diagnostic>,
    },
}

/// Options taken from the command line.
pub fn parse_options(
    config_id: Option<&str>,
    all_config: bool,
    compat: Option<conf_parse::keywords::Release>,
) -> ParseOptions {
    let mut o = ParseOptions {
        compat,
        ..ParseOptions::default()
    };
    if let Some(id) = config_id {
        o.config_id = Some(id.to_string());
    }
    o.all_config = all_config;
    o
}

/// `-x/--snmp` and `-A/--snmp-agent-socket` of this process's command line.
static SNMP_CLI: std::sync::Mutex<(bool, Option<String>)> = std::sync::Mutex::new((false, None));

/// Records `-x` (`all`) and `-A` (`socket`): every configuration loaded from now on has them
/// applied, as keepalived applies them to its global data before reading the file: `-x`
/// turns on enable_snmp_vrrp, enable_snmp_rfcv2, enable_snmp_rfcv3 and enable_snmp_checker,
/// `-A` sets the master agent socket (a `snmp_socket` in the file is then ignored).
pub fn set_snmp_cli(all: bool, socket: Option<String>) {
    *SNMP_CLI.lock().unwrap_or_else(|p| p.into_inner()) = (all, socket);
}

fn apply_snmp_cli(config: &mut Config) {
    let (all, socket) = SNMP_CLI.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let g = &mut config.global.snmp;
    if all {
        g.vrrp = true;
        g.rfcv2 = true;
        g.rfcv3 = true;
        g.checker = true;
    }
    if socket.is_some() {
        g.socket = socket;
    }
}

/// Read and check a configuration file.
pub fn load(file: &Path, opts: &ParseOptions) -> Result<Loaded, LoadError> {
    if std::fs::File::open(file).is_err() {
        return Err(LoadError::Missing(file.display().to_string()));
    }
    let mut parsed = conf_parse::parse_file(file, opts);
    apply_snmp_cli(&mut parsed.config);
    let count = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if count > 0 {
        return Err(LoadError::Invalid {
            file: file.display().to_string(),
            count,
            diagnostics: parsed.diagnostics,
        });
    }
    Ok(Loaded {
        file: file.to_path_buf(),
        parsed: Arc::new(parsed),
    })
}

impl Loaded {
    /// The model.
    pub fn config(&self) -> &Config {
        &self.parsed.config
    }

    /// keepalived's `running_vrrp()` condition: any vrrp_instance.
    pub fn has_vrrp(&self) -> bool {
        !self.config().vrrp_instances.is_empty()
    }

    /// keepalived's `running_checker()` condition: any virtual_server.
    pub fn has_checker(&self) -> bool {
        !self.config().virtual_servers.is_empty()
    }

    /// Top-level `instance NAME`.
    pub fn instance(&self) -> Option<String> {
        self.config().global.instance.clone()
    }

    /// Top-level `net_namespace NAME`.
    pub fn namespace(&self) -> Option<String> {
        self.config().global.net_namespace.clone()
    }

    /// Top-level `child_wait_time SECS` (default 5 s).
    pub fn child_wait_time(&self) -> Duration {
        self.config().global.child_wait_time
    }

    /// keepalived-rs extension `global_defs { metrics_listen ADDR }`.
    pub fn metrics_listen(&self) -> Option<SocketAddr> {
        self.config().global.metrics_listen
    }

    /// Names of the VRRP instances.
    pub fn vrrp_names(&self) -> Vec<String> {
        self.config()
            .vrrp_instances
            .iter()
            .map(|v| v.name.clone())
            .collect()
    }

    /// Names of the virtual servers, keepalived style (`IP:PORT`, `FWM n`, `group NAME`).
    pub fn virtual_server_names(&self) -> Vec<String> {
        self.config()
            .virtual_servers
            .iter()
            .map(|v| match &v.key {
                VsKey::Addr(ip, port) if ip.is_ipv6() => format!("[{ip}]:{port}"),
                VsKey::Addr(ip, port) => format!("{ip}:{port}"),
                VsKey::Fwmark(m) => format!("FWM {m}"),
                VsKey::Group(g) => format!("group {g}"),
                #[allow(unreachable_patterns)]
                _ => "virtual_server".to_string(),
            })
            .collect()
    }

    /// Warnings to log after a successful load.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.parsed.diagnostics.iter().filter(|d| d.counts())
    }

    /// The keyword registry's notes (keywords used that are not implemented), to log at
    /// start and reload.
    pub fn notes(&self) -> impl Iterator<Item = &Diagnostic> {
        self.parsed.notes()
    }
}
