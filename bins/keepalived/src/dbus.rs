//! The D-Bus service of the VRRP worker (`global_defs { enable_dbus }`): keepalived's
//! `org.keepalived.Vrrp1` on the system bus (`DBUS_SYSTEM_BUS_ADDRESS`, else
//! `/run/dbus/system_bus_socket`), named `dbus_service_name` when set.
//!
//! Objects, as keepalived 2.2.7 registers them (`PREFIX` is `/org/keepalived/Vrrp1`, then
//! `/NET_NAMESPACE` and `/INSTANCE` when the configuration has `net_namespace` / `instance`):
//! * `PREFIX/Vrrp`, interface `org.keepalived.Vrrp1.Vrrp`: methods `PrintData`, `PrintStats`,
//!   `PrintStatsClear` (write `keepalived.data` / `keepalived.stats` as SIGUSR1 / SIGUSR2 do),
//!   `ReloadConfig` (SIGHUP to the parent); signals `VrrpStarted`, `VrrpReloaded`,
//!   `VrrpStopped`.
//! * `PREFIX/Instance/IFNAME/VRID/IPv4|IPv6` per `vrrp_instance` (characters of IFNAME other
//!   than letters and digits become `_`), interface `org.keepalived.Vrrp1.Instance`: method
//!   `SendGarp` (one round of gratuitous ARPs / NAs while the VIPs are set), properties `Name`
//!   and `State` (`(us)`: keepalived's state number and name), signal `VrrpStatusChange(u)` on
//!   every state change (98 when the instance stops).
//!
//! zbus carries the connection (authentication, marshalling, name ownership); the dispatch of
//! method calls is ours, so that every answer — introspection data, property values (keepalived
//! answers `Name` with a `(s)` structure), error names and texts, the `Peer` methods on any
//! path — is what keepalived's GDBus service gives. The name is requested after `VrrpStarted`
//! and the first `VrrpStatusChange` signals have been sent, as keepalived does (its GDBus
//! `on_bus_acquired` runs before the name is owned), and without flags (queued while another
//! connection owns it). If the bus goes away, the service connects again every second and
//! announces itself the same way; the VRRP instances never wait for the bus.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_lite::StreamExt;
use tokio::sync::{mpsc, oneshot};
use vrrp_runtime::{Metrics, State};
use zbus::message::{Header, Type as MsgType};
use zbus::zvariant::{StructureBuilder, Value};
use zbus::{Connection, Message, MessageStream};

use crate::{error, info};

/// keepalived's default service name.
pub const SERVICE_NAME: &str = "org.keepalived.Vrrp1";
/// The general interface.
pub const VRRP_INTERFACE: &str = "org.keepalived.Vrrp1.Vrrp";
/// The per-instance interface.
pub const INSTANCE_INTERFACE: &str = "org.keepalived.Vrrp1.Instance";
/// Root of the object paths.
pub const OBJECT_ROOT: &str = "/org/keepalived/Vrrp1";

/// keepalived's state number of a stopped instance (`VRRP_STATE_STOP`).
pub const STATE_STOP: u32 = 98;

const ERR_UNKNOWN_METHOD: &str = "org.freedesktop.DBus.Error.UnknownMethod";
const ERR_INVALID_ARGS: &str = "org.freedesktop.DBus.Error.InvalidArgs";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const INTROSPECTABLE: &str = "org.freedesktop.DBus.Introspectable";
const PEER: &str = "org.freedesktop.DBus.Peer";

/// One instance's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceObject {
    /// `vrrp_instance` name.
    pub name: String,
    /// Object path.
    pub path: String,
}

/// What the service exports for a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objects {
    /// The bus name to own.
    pub service: String,
    /// Path of the `Vrrp` object.
    pub vrrp_path: String,
    /// The instances' objects, in configuration order.
    pub instances: Vec<InstanceObject>,
}

/// keepalived's `set_valid_path`: every character but ASCII letters and digits becomes `_`.
fn valid_path(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

impl Objects {
    /// The objects of `cfg` (instances that cannot run have none, as in keepalived, where
    /// they refuse the start).
    pub fn of(cfg: &conf_parse::Config) -> Objects {
        let mut prefix = OBJECT_ROOT.to_string();
        for part in [&cfg.global.net_namespace, &cfg.global.instance]
            .into_iter()
            .flatten()
        {
            prefix.push('/');
            prefix.push_str(&valid_path(part));
        }
        // keepalived 2.4: an instance without an interface is named `dbus_no_interface_name`,
        // else "none".
        let no_if = cfg
            .global
            .dbus_no_interface_name
            .as_deref()
            .unwrap_or("none");
        let instances = vrrp_runtime::plan::desired(cfg)
            .identities()
            .into_iter()
            .map(|id| InstanceObject {
                path: format!(
                    "{prefix}/Instance/{}/{}/{}",
                    valid_path(if id.ifname.is_empty() {
                        no_if
                    } else {
                        &id.ifname
                    }),
                    id.vrid,
                    if id.ipv6 { "IPv6" } else { "IPv4" }
                ),
                name: id.name,
            })
            .collect();
        Objects {
            service: cfg
                .global
                .dbus_service_name
                .clone()
                .unwrap_or_else(|| SERVICE_NAME.to_string()),
            vrrp_path: format!("{prefix}/Vrrp"),
            instances,
        }
    }

    fn all_paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.vrrp_path.as_str())
            .chain(self.instances.iter().map(|i| i.path.as_str()))
    }

    fn instance_at(&self, path: &str) -> Option<&InstanceObject> {
        self.instances.iter().find(|i| i.path == path)
    }

    fn instance_named(&self, name: &str) -> Option<&InstanceObject> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The names of the nodes directly below `path`, in registration order.
    fn children(&self, path: &str) -> Vec<&str> {
        let base = if path == "/" {
            String::from("/")
        } else {
            format!("{path}/")
        };
        let mut out: Vec<&str> = Vec::new();
        for p in self.all_paths() {
            if let Some(rest) = p.strip_prefix(base.as_str()) {
                let first = rest.split('/').next().unwrap_or("");
                if !first.is_empty() && !out.contains(&first) {
                    out.push(first);
                }
            }
        }
        out
    }
}

/// keepalived's number and name of a state. `None`: not reported yet (`Init`).
pub fn state_code(s: Option<State>) -> (u32, &'static str) {
    match s {
        None => (0, "Init"),
        Some(State::Backup) => (1, "Backup"),
        Some(State::Master) => (2, "Master"),
        Some(State::Fault) => (3, "Fault"),
        Some(State::Initialize) => (STATE_STOP, "Stop"),
    }
}

/// What the service asks of the VRRP worker.
#[derive(Debug)]
pub enum Request {
    /// `PrintData`: write `keepalived.data`.
    PrintData(oneshot::Sender<()>),
    /// `PrintStats` / `PrintStatsClear`: write `keepalived.stats` (and clear the counters).
    PrintStats {
        /// Clear the counters after writing.
        clear: bool,
        /// Done.
        done: oneshot::Sender<()>,
    },
    /// `SendGarp` on an instance: answered with whether the instance runs.
    SendGarp {
        /// Instance name.
        instance: String,
        /// Whether it was found.
        done: oneshot::Sender<bool>,
    },
}

enum Event {
    Transition(String, u32),
    Reload(Objects),
    Stop(oneshot::Sender<()>),
}

/// The running service.
#[derive(Debug)]
pub struct Service {
    tx: mpsc::UnboundedSender<Event>,
}

impl Service {
    /// Starts the service (a task on the current tokio runtime). `requests` carries what the
    /// worker must do for method calls; `metrics` gives the instances' states.
    pub fn start(
        objects: Objects,
        metrics: std::sync::Arc<Metrics>,
        requests: mpsc::UnboundedSender<Request>,
    ) -> Service {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(objects, metrics, requests, rx));
        Service { tx }
    }

    /// A callback for the runtime's transitions (never blocks).
    pub fn transition_sender(&self) -> impl Fn(&str, State) + Send + Sync + 'static {
        let tx = self.tx.clone();
        move |name: &str, s: State| {
            let _ = tx.send(Event::Transition(name.to_string(), state_code(Some(s)).0));
        }
    }

    /// The configuration was reloaded: new objects, `VrrpReloaded`.
    pub fn reloaded(&self, objects: Objects) {
        let _ = self.tx.send(Event::Reload(objects));
    }

    /// `VrrpStopped`, then the name is released (bounded wait).
    pub async fn stop(self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Event::Stop(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
    }
}

/// How a connection ended.
enum Ended {
    Stop(oneshot::Sender<()>),
    Lost,
}

async fn run(
    mut objects: Objects,
    metrics: std::sync::Arc<Metrics>,
    requests: mpsc::UnboundedSender<Request>,
    mut rx: mpsc::UnboundedReceiver<Event>,
) {
    let mut logged_failure = false;
    loop {
        let conn = match connect().await {
            Ok(c) => c,
            Err(e) => {
                if !logged_failure {
                    error!("DBus: cannot connect to the system bus: {e} (retrying every second)");
                    logged_failure = true;
                }
                // Wait a second, taking reloads and stop meanwhile.
                let sleep = tokio::time::sleep(Duration::from_secs(1));
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        _ = &mut sleep => break,
                        ev = rx.recv() => match ev {
                            None => return,
                            Some(Event::Stop(done)) => { let _ = done.send(()); return; }
                            Some(Event::Reload(o)) => objects = o,
                            Some(Event::Transition(..)) => {}
                        }
                    }
                }
                continue;
            }
        };
        logged_failure = false;
        match serve(&conn, &mut objects, &metrics, &requests, &mut rx).await {
            Ended::Stop(done) => {
                let _ = emit(
                    &conn,
                    &objects.vrrp_path,
                    VRRP_INTERFACE,
                    "VrrpStopped",
                    &(),
                )
                .await;
                let _ = conn.release_name(objects.service.as_str()).await;
                let _ = done.send(());
                return;
            }
            Ended::Lost => {
                error!("DBus: lost the connection to the system bus, connecting again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn connect() -> zbus::Result<Connection> {
    zbus::connection::Builder::system()?.build().await
}

async fn emit<B>(conn: &Connection, path: &str, iface: &str, member: &str, body: &B) -> bool
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    match conn
        .emit_signal(Option::<&str>::None, path, iface, member, body)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            info!("Emitting DBus signal {iface}.{member} on {path} failed: {e}");
            false
        }
    }
}

async fn announce(conn: &Connection, objects: &Objects, metrics: &Metrics) {
    info!("Acquired DBus bus {}", objects.service);
    emit(conn, &objects.vrrp_path, VRRP_INTERFACE, "VrrpStarted", &()).await;
    let st = metrics.statuses();
    // Instances that have not reported a state yet announce it when they enter it.
    for i in &objects.instances {
        if let Some(s) = st.get(&i.name) {
            let (code, _) = state_code(Some(s.state));
            emit(
                conn,
                &i.path,
                INSTANCE_INTERFACE,
                "VrrpStatusChange",
                &(code,),
            )
            .await;
        }
    }
}

async fn serve(
    conn: &Connection,
    objects: &mut Objects,
    metrics: &std::sync::Arc<Metrics>,
    requests: &mpsc::UnboundedSender<Request>,
    rx: &mut mpsc::UnboundedReceiver<Event>,
) -> Ended {
    let mut stream = MessageStream::from(conn);
    // Transitions from before the connection: the announcement carries the current states
    // (keepalived drops the signals of changes made while it has no connection).
    while let Ok(ev) = rx.try_recv() {
        match ev {
            Event::Transition(..) => {}
            Event::Reload(o) => *objects = o,
            Event::Stop(done) => return Ended::Stop(done),
        }
    }
    announce(conn, objects, metrics).await;
    match conn.request_name(objects.service.as_str()).await {
        Ok(()) => info!("Acquired the name {} on the system bus", objects.service),
        Err(e) => error!("DBus: cannot own the name {}: {e}", objects.service),
    }
    loop {
        tokio::select! {
            m = stream.next() => match m {
                None => return Ended::Lost,
                Some(Err(e)) => {
                    info!("DBus: bad message: {e}");
                }
                Some(Ok(msg)) => {
                    if msg.message_type() == MsgType::MethodCall {
                        dispatch(conn, &msg, objects, metrics, requests).await;
                    }
                }
            },
            ev = rx.recv() => match ev {
                None => return Ended::Lost,
                Some(Event::Stop(done)) => return Ended::Stop(done),
                Some(Event::Transition(name, code)) => {
                    if let Some(i) = objects.instance_named(&name) {
                        emit(conn, &i.path, INSTANCE_INTERFACE, "VrrpStatusChange", &(code,)).await;
                    }
                }
                Some(Event::Reload(o)) => {
                    if o.service != objects.service {
                        let _ = conn.release_name(objects.service.as_str()).await;
                        if let Err(e) = conn.request_name(o.service.as_str()).await {
                            error!("DBus: cannot own the name {}: {e}", o.service);
                        }
                    }
                    *objects = o;
                    emit(conn, &objects.vrrp_path, VRRP_INTERFACE, "VrrpReloaded", &()).await;
                }
            }
        }
    }
}

/// The answer to a method call.
enum Answer {
    /// An empty reply.
    Empty,
    /// A reply with one value of signature `s`.
    Str(String),
    /// A reply with one variant.
    Variant(Value<'static>),
    /// A reply `a{sv}`.
    Dict(BTreeMap<String, Value<'static>>),
    /// An error reply.
    Error(&'static str, String),
    /// Answered elsewhere (a task waiting for the worker).
    Later,
}

fn unknown_method(s: String) -> Answer {
    Answer::Error(ERR_UNKNOWN_METHOD, s)
}

fn invalid_args(s: String) -> Answer {
    Answer::Error(ERR_INVALID_ARGS, s)
}

/// The signature of a message's body as D-Bus writes it (no enclosing parentheses).
fn body_signature(msg: &Message) -> String {
    msg.body().signature().to_string_no_parens()
}

fn machine_id() -> Option<String> {
    ["/var/lib/dbus/machine-id", "/etc/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn instance_value(name: &str, metrics: &Metrics, prop: &str) -> Option<Value<'static>> {
    match prop {
        "Name" => StructureBuilder::new()
            .add_field(name.to_string())
            .build()
            .ok()
            .map(Value::from),
        "State" => {
            let st = metrics.statuses();
            let (code, text) = state_code(st.get(name).map(|s| s.state));
            StructureBuilder::new()
                .add_field(code)
                .add_field(text.to_string())
                .build()
                .ok()
                .map(Value::from)
        }
        _ => None,
    }
}

const INSTANCE_PROPERTIES: [&str; 2] = ["Name", "State"];

async fn dispatch(
    conn: &Connection,
    msg: &Message,
    objects: &Objects,
    metrics: &std::sync::Arc<Metrics>,
    requests: &mpsc::UnboundedSender<Request>,
) {
    let hdr = msg.header();
    let answer = answer(conn, msg, &hdr, objects, metrics, requests);
    send(conn, msg, answer).await;
}

async fn send(conn: &Connection, msg: &Message, answer: Answer) {
    let hdr = msg.header();
    let hdr = &hdr;
    let r = match answer {
        Answer::Later => return,
        Answer::Empty => conn.reply(hdr, &()).await,
        Answer::Str(s) => conn.reply(hdr, &(s,)).await,
        Answer::Variant(v) => conn.reply(hdr, &v).await,
        Answer::Dict(d) => conn.reply(hdr, &(d,)).await,
        Answer::Error(name, text) => conn.reply_error(hdr, name, &(text,)).await,
    };
    if let Err(e) = r {
        info!("DBus: cannot send a reply: {e}");
    }
}

/// GDBus's dispatch: the `Peer` methods on any path; on a registered object the standard
/// interfaces, then its own; elsewhere introspection of the child nodes only.
fn answer(
    conn: &Connection,
    msg: &Message,
    hdr: &Header<'_>,
    objects: &Objects,
    metrics: &std::sync::Arc<Metrics>,
    requests: &mpsc::UnboundedSender<Request>,
) -> Answer {
    let (Some(path), Some(member)) = (hdr.path(), hdr.member()) else {
        return Answer::Later;
    };
    let path = path.as_str();
    let member = member.as_str();
    let Some(iface) = hdr.interface().map(|i| i.as_str().to_string()) else {
        return unknown_method(format!("Object does not exist at path “{path}”"));
    };
    let sig = body_signature(msg);
    if iface == PEER && sig.is_empty() {
        match member {
            "Ping" => return Answer::Empty,
            "GetMachineId" => {
                return match machine_id() {
                    Some(id) => Answer::Str(id),
                    None => Answer::Error(
                        "org.freedesktop.DBus.Error.Failed",
                        "Unable to load the machine id".into(),
                    ),
                }
            }
            _ => {}
        }
    }
    let is_vrrp = path == objects.vrrp_path;
    let inst = objects.instance_at(path);
    if !is_vrrp && inst.is_none() {
        if iface == INTROSPECTABLE && member == "Introspect" && sig.is_empty() {
            return Answer::Str(introspect(objects, path, None));
        }
        return unknown_method(format!("Object does not exist at path “{path}”"));
    }
    let own = if is_vrrp {
        VRRP_INTERFACE
    } else {
        INSTANCE_INTERFACE
    };
    match (iface.as_str(), member, sig.as_str()) {
        (INTROSPECTABLE, "Introspect", "") => {
            return Answer::Str(introspect(objects, path, Some(own)));
        }
        (PROPERTIES, "Get", "ss") => {
            let Ok((i, p)) = msg.body().deserialize::<(String, String)>() else {
                return invalid_args("Invalid arguments".into());
            };
            if i != own {
                return invalid_args(format!("No such interface “{i}”"));
            }
            return match inst.and_then(|o| instance_value(&o.name, metrics, &p)) {
                Some(v) => Answer::Variant(v),
                None => invalid_args(format!("No such property “{p}”")),
            };
        }
        (PROPERTIES, "GetAll", "s") => {
            let Ok((i,)) = msg.body().deserialize::<(String,)>() else {
                return invalid_args("Invalid arguments".into());
            };
            if i != own {
                return invalid_args(format!("No such interface “{i}”"));
            }
            let mut d = BTreeMap::new();
            if let Some(o) = inst {
                for p in INSTANCE_PROPERTIES {
                    if let Some(v) = instance_value(&o.name, metrics, p) {
                        d.insert(p.to_string(), v);
                    }
                }
            }
            return Answer::Dict(d);
        }
        (PROPERTIES, "Set", "ssv") => {
            let Ok((i, p, _)) = msg.body().deserialize::<(String, String, Value<'_>)>() else {
                return invalid_args("Invalid arguments".into());
            };
            if i != own {
                return invalid_args(format!("No such interface “{i}”"));
            }
            if inst.is_some() && INSTANCE_PROPERTIES.contains(&p.as_str()) {
                return invalid_args(format!("Property “{p}” is not writable"));
            }
            return invalid_args(format!("No such property “{p}”"));
        }
        _ => {}
    }
    if iface != own {
        return unknown_method(format!(
            "No such interface “{iface}” on object at path {path}"
        ));
    }
    let known = if is_vrrp {
        ["PrintData", "PrintStats", "PrintStatsClear", "ReloadConfig"].contains(&member)
    } else {
        member == "SendGarp"
    };
    if !known {
        return unknown_method(format!("No such method “{member}”"));
    }
    if !sig.is_empty() {
        return invalid_args(format!(
            "Type of message, “({sig})”, does not match expected type “()”"
        ));
    }
    match member {
        "ReloadConfig" => {
            // keepalived answers first, then signals its parent.
            let conn = conn.clone();
            let msg = msg.clone();
            tokio::spawn(async move {
                send(&conn, &msg, Answer::Empty).await;
                let _ = nix::sys::signal::kill(
                    nix::unistd::getppid(),
                    nix::sys::signal::Signal::SIGHUP,
                );
            });
            Answer::Later
        }
        "PrintData" | "PrintStats" | "PrintStatsClear" => {
            let (tx, rx) = oneshot::channel();
            let req = match member {
                "PrintData" => {
                    info!("Printing VRRP data on DBus request");
                    Request::PrintData(tx)
                }
                "PrintStats" => {
                    info!("Printing VRRP stats on DBus request");
                    Request::PrintStats {
                        clear: false,
                        done: tx,
                    }
                }
                _ => {
                    info!("Printing and clearing VRRP stats on DBus request");
                    Request::PrintStats {
                        clear: true,
                        done: tx,
                    }
                }
            };
            let _ = requests.send(req);
            later(conn, msg, async move {
                let _ = rx.await;
                Answer::Empty
            })
        }
        _ => {
            // SendGarp
            let Some(o) = inst else {
                return unknown_method(format!("Object does not exist at path “{path}”"));
            };
            let (tx, rx) = oneshot::channel();
            let _ = requests.send(Request::SendGarp {
                instance: o.name.clone(),
                done: tx,
            });
            let what = path
                .rsplitn(4, '/')
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("/");
            later(conn, msg, async move {
                match rx.await {
                    Ok(true) => Answer::Empty,
                    _ => invalid_args(format!("Instance '{what}' not found")),
                }
            })
        }
    }
}

/// Answers from a task once `f` has the answer (the worker may take a while: the service
/// goes on meanwhile).
fn later(
    conn: &Connection,
    msg: &Message,
    f: impl std::future::Future<Output = Answer> + Send + 'static,
) -> Answer {
    let conn = conn.clone();
    let msg = msg.clone();
    tokio::spawn(async move {
        let a = match tokio::time::timeout(Duration::from_secs(10), f).await {
            Ok(a) => a,
            Err(_) => Answer::Error(
                "org.freedesktop.DBus.Error.Failed",
                "the VRRP worker did not answer".into(),
            ),
        };
        send(&conn, &msg, a).await;
    });
    Answer::Later
}

const INTROSPECT_HEAD: &str = "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n                      \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<!-- keepalived-rs -->\n<node>\n";

const STANDARD_INTERFACES: &str = r#"  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="out"/>
    </method>
    <method name="GetAll">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" name="properties" direction="out"/>
    </method>
    <method name="Set">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg type="s" name="xml_data" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
"#;

const VRRP_XML: &str = r#"  <interface name="org.keepalived.Vrrp1.Vrrp">
    <method name="PrintData">
    </method>
    <method name="PrintStats">
    </method>
    <method name="PrintStatsClear">
    </method>
    <method name="ReloadConfig">
    </method>
    <signal name="VrrpStarted">
    </signal>
    <signal name="VrrpReloaded">
    </signal>
    <signal name="VrrpStopped">
    </signal>
  </interface>
"#;

const INSTANCE_XML: &str = r#"  <interface name="org.keepalived.Vrrp1.Instance">
    <method name="SendGarp">
    </method>
    <signal name="VrrpStatusChange">
      <arg type="u" name="status">
      </arg>
    </signal>
    <property type="s" name="Name" access="read">
    </property>
    <property type="(us)" name="State" access="read">
    </property>
  </interface>
"#;

/// Introspection data of `path` (`own`: the interface of the object registered there).
fn introspect(objects: &Objects, path: &str, own: Option<&str>) -> String {
    let mut s = String::from(INTROSPECT_HEAD);
    if let Some(own) = own {
        s.push_str(STANDARD_INTERFACES);
        s.push_str(if own == VRRP_INTERFACE {
            VRRP_XML
        } else {
            INSTANCE_XML
        });
    }
    for c in objects.children(path) {
        s.push_str(&format!("  <node name=\"{c}\"/>\n"));
    }
    s.push_str("</node>\n");
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> conf_parse::Config {
        let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config
    }

    // Proves the object paths are keepalived's: interface (non-alphanumerics as `_`), VRID,
    // family from the VIPs, the Vrrp object, and the child nodes each level introspects.
    #[test]
    fn object_paths_and_children() {
        let c = parse(
            "global_defs {\n enable_dbus\n}\nvrrp_instance A {\n interface eth0.5\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\nvrrp_instance B {\n interface eth0.5\n virtual_router_id 52\n priority 100\n virtual_ipaddress {\n  fd00::1/64\n }\n}\n",
        );
        let o = Objects::of(&c);
        assert_eq!(o.service, SERVICE_NAME);
        assert_eq!(o.vrrp_path, "/org/keepalived/Vrrp1/Vrrp");
        let paths: Vec<&str> = o.instances.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/org/keepalived/Vrrp1/Instance/eth0_5/51/IPv4",
                "/org/keepalived/Vrrp1/Instance/eth0_5/52/IPv6"
            ]
        );
        assert_eq!(o.children("/"), ["org"]);
        assert_eq!(o.children("/org/keepalived/Vrrp1"), ["Vrrp", "Instance"]);
        assert_eq!(
            o.children("/org/keepalived/Vrrp1/Instance/eth0_5"),
            ["51", "52"]
        );
        assert!(o.children("/nonexistent").is_empty());
        let x = introspect(&o, "/org/keepalived/Vrrp1/Instance/eth0_5", None);
        assert!(x.contains("<node name=\"51\"/>") && !x.contains("<interface"));
    }

    // Proves dbus_service_name, net_namespace and instance shape the name and paths.
    #[test]
    fn service_name_and_prefix() {
        let c = parse(
            "net_namespace blue\ninstance one\nglobal_defs {\n enable_dbus\n dbus_service_name org.example.K\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
        );
        let o = Objects::of(&c);
        assert_eq!(o.service, "org.example.K");
        assert_eq!(o.vrrp_path, "/org/keepalived/Vrrp1/blue/one/Vrrp");
        assert_eq!(
            o.instances[0].path,
            "/org/keepalived/Vrrp1/blue/one/Instance/eth0/1/IPv4"
        );
    }

    // Proves the state numbers and names are keepalived's (VRRP_STATE_*).
    #[test]
    fn state_numbers() {
        assert_eq!(state_code(None), (0, "Init"));
        assert_eq!(state_code(Some(State::Backup)), (1, "Backup"));
        assert_eq!(state_code(Some(State::Master)), (2, "Master"));
        assert_eq!(state_code(Some(State::Fault)), (3, "Fault"));
        assert_eq!(state_code(Some(State::Initialize)), (98, "Stop"));
    }
}
