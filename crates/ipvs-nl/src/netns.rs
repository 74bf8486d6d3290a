//! Network namespace selection: the netlink socket is created inside the target namespace on a
//! dedicated short-lived thread (a socket stays in the namespace it was created in), so the
//! caller's threads never change namespace. Uses nix's safe `setns`.

use crate::client::{open_socket, HandleOptions};
use crate::error::{Error, Op, Result};
use netlink_sys::Socket;
use std::os::fd::OwnedFd;
use std::path::Path;

/// The netlink socket, its port id, and the sockopt socket (see `crate::sockopt`), all made
/// inside the namespace at `path`.
pub(crate) fn open_socket_in(
    path: &Path,
    opts: &HandleOptions,
) -> Result<(Socket, u32, Option<OwnedFd>)> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        op: Op::Open,
        source,
    })?;
    let opts = opts.clone();
    let t = std::thread::Builder::new()
        .name("ipvs-nl-netns".into())
        .spawn(move || -> Result<(Socket, u32, Option<OwnedFd>)> {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                Error::Io {
                    op: Op::Open,
                    source: e.into(),
                }
            })?;
            let (sock, port) = open_socket(&opts)?;
            Ok((sock, port, crate::sockopt::info_socket()))
        })
        .map_err(|source| Error::Io {
            op: Op::Open,
            source,
        })?;
    t.join()
        .map_err(|_| Error::Task("netns thread panicked".into()))?
}
