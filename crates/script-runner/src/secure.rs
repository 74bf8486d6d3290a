//! Who a script runs as and whether it may run: keepalived's `get_default_script_user`,
//! `set_uid_gid`, `find_path`, `check_script_secure` and `check_security` (lib/notify.c).

use std::os::unix::fs::MetadataExt;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

use crate::ScriptError;

/// Uid and gid a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Identity {
    /// Our effective ids (what a script runs as when no user applies).
    pub fn ours() -> Identity {
        Identity {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        }
    }
}

/// Why a path component lets someone other than root replace the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsafe {
    /// Owned by this uid, not root.
    Owner(u32),
    /// Writable by everyone (a directory without the sticky bit, or a file).
    WorldWritable(u32),
    /// Writable by this group, not root's (a directory without the sticky bit, or a file).
    GroupWritable(u32, u32),
}

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Unsafe::Owner(uid) => write!(f, "is owned by uid {uid}, not root"),
            Unsafe::WorldWritable(mode) => {
                write!(f, "is world-writable (mode {:04o}", mode & 0o7777)?;
                if mode & 0o170000 == 0o040000 {
                    write!(f, ", no sticky bit")?;
                }
                write!(f, ")")
            }
            Unsafe::GroupWritable(gid, mode) => {
                write!(f, "is writable by group {gid} (mode {:04o}", mode & 0o7777)?;
                if mode & 0o170000 == 0o040000 {
                    write!(f, ", no sticky bit")?;
                }
                write!(f, ")")
            }
        }
    }
}

pub(crate) fn lookup_user(user: &str, group: Option<&str>) -> Result<Identity, ScriptError> {
    use nix::unistd::{Group, User};
    let u = match User::from_name(user) {
        Ok(Some(u)) => u,
        Ok(None) => return Err(ScriptError::NoUser(user.to_string())),
        Err(e) => {
            return Err(ScriptError::Lookup {
                name: user.to_string(),
                err: e.to_string(),
            })
        }
    };
    let gid = match group {
        Some(g) => match Group::from_name(g) {
            Ok(Some(g)) => g.gid,
            Ok(None) => return Err(ScriptError::NoGroup(g.to_string())),
            Err(e) => {
                return Err(ScriptError::Lookup {
                    name: g.to_string(),
                    err: e.to_string(),
                })
            }
        },
        None => u.gid,
    };
    Ok(Identity {
        uid: u.uid.as_raw(),
        gid: gid.as_raw(),
    })
}

/// keepalived's choice of user: the script's own `user [group]`, else `script_user`, else the
/// `keepalived_script` user if it exists, else ourselves — but not ourselves under
/// `enable_script_security` ("Unable to set default user keepalived_script"). A named user or
/// group that does not exist is an error (the script must not run as someone else).
pub(crate) fn resolve_user(
    own: Option<(&str, Option<&str>)>,
    script_user: Option<(&str, Option<&str>)>,
    security: bool,
) -> Result<Identity, ScriptError> {
    if let Some((u, g)) = own.or(script_user) {
        return lookup_user(u, g);
    }
    match lookup_user("keepalived_script", None) {
        Ok(id) => Ok(id),
        Err(_) if security => Err(ScriptError::NoDefaultUser),
        Err(_) => Ok(Identity::ours()),
    }
}

/// keepalived's `is_executable` for a script run as `who`.
fn is_executable(md: &std::fs::Metadata, who: Identity) -> bool {
    let m = md.mode();
    (who.uid == 0 && m & 0o111 != 0)
        || (who.uid == md.uid() && m & 0o100 != 0)
        || (who.uid != md.uid()
            && ((who.gid == md.gid() && m & 0o010 != 0) || (who.gid != md.gid() && m & 0o001 != 0)))
}

/// keepalived's `find_path`: a bare name searched in `PATH` (or `/bin:/usr/bin`), the first
/// regular file `who` may execute.
fn find_path(name: &str, who: Identity) -> Result<PathBuf, ScriptError> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let mut denied = false;
    for dir in std::env::split_paths(&path) {
        let cand = if dir.as_os_str().is_empty() {
            PathBuf::from(name)
        } else {
            dir.join(name)
        };
        if let Ok(md) = std::fs::metadata(&cand) {
            if md.is_file() && is_executable(&md, who) {
                return Ok(cand);
            }
            denied = true;
        }
    }
    Err(if denied {
        ScriptError::PathPermission(name.to_string())
    } else {
        ScriptError::NotInPath(name.to_string())
    })
}

/// keepalived's `check_security`: every prefix of `path` ending at a `/` must be a directory,
/// the whole a regular file or symbolic link (not followed), each owned by root and — a
/// directory without the sticky bit, or a file — writable neither by a group other than root's
/// nor by everyone. The error names the first unsafe component.
pub fn check_path(path: &str) -> Result<(), ScriptError> {
    let mut from = 0;
    loop {
        let (comp, last) = match path[from..].find('/') {
            Some(i) if from + i == 0 => ("/", false),
            Some(i) => (&path[..from + i], false),
            None => (path, true),
        };
        if let Some(i) = path[from..].find('/') {
            from += i + 1;
        }
        let md = std::fs::symlink_metadata(comp).map_err(|e| ScriptError::NotFound {
            path: path.into(),
            err: format!("{comp}: {e}"),
        })?;
        let ft = md.file_type();
        if (!last && !ft.is_dir()) || (last && !ft.is_file() && !ft.is_symlink()) {
            return Err(ScriptError::WrongType {
                path: path.into(),
                component: comp.into(),
            });
        }
        let mode = md.mode();
        let why = if md.uid() != 0 {
            Some(Unsafe::Owner(md.uid()))
        } else if (ft.is_dir() && mode & 0o1000 == 0) || ft.is_file() {
            if mode & 0o002 != 0 {
                Some(Unsafe::WorldWritable(mode))
            } else if md.gid() != 0 && mode & 0o020 != 0 {
                Some(Unsafe::GroupWritable(md.gid(), mode))
            } else {
                None
            }
        } else {
            None
        };
        if let Some(why) = why {
            return Err(ScriptError::Insecure {
                path: path.into(),
                component: comp.into(),
                why,
            });
        }
        if last {
            return Ok(());
        }
    }
}

/// What [`check`] found: the program to execute and whether it runs through `/bin/sh -c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub program: PathBuf,
    pub shell: bool,
}

/// keepalived's `check_script_secure` for a script run as `who`. `argv[0]` may be replaced by
/// the path a bare name resolves to. What runs is the path with its symbolic links resolved,
/// or with `keep_symlinks` (`use_symlink_paths`) the path as written ([`clean_path`]). Refused (always): not found, not executable by `who`.
/// When `who` is root (uid or gid 0) or the file is set-uid/gid root, the resolved path (what
/// is executed) is checked ([`check_path`]): unsafe is refused under `security`, else
/// logged.
pub(crate) fn check(
    argv: &mut [String],
    who: Identity,
    security: bool,
    keep_symlinks: bool,
) -> Result<Checked, ScriptError> {
    let Some(argv0) = argv.first_mut() else {
        return Err(ScriptError::Empty);
    };
    // "</file": a file test run by the shell, nothing executed.
    if let Some(rest) = argv0.strip_prefix('<') {
        if rest.trim_start_matches([' ', '\t']).starts_with('/') {
            return Ok(Checked {
                program: "/bin/sh".into(),
                shell: true,
            });
        }
    }
    if !argv0.contains('/') {
        let found = find_path(argv0, who)?;
        log::warn!(
            "WARNING - script `{argv0}` resolved by path search to `{}`. Please specify full path.",
            found.display()
        );
        *argv0 = found.to_string_lossy().into_owned();
    }
    let real = std::fs::canonicalize(&*argv0).map_err(|e| ScriptError::NotFound {
        path: argv0.clone(),
        err: e.to_string(),
    })?;
    let md = std::fs::metadata(&real).map_err(|e| ScriptError::NotFound {
        path: argv0.clone(),
        err: e.to_string(),
    })?;
    if !md.is_file() || !is_executable(&md, who) {
        return Err(ScriptError::NotExecutable {
            path: argv0.clone(),
            uid: who.uid,
            gid: who.gid,
        });
    }
    let m = md.mode();
    let protect = who.uid == 0
        || who.gid == 0
        || (md.uid() == 0 && m & 0o100 != 0 && m & 0o4000 != 0)
        || (md.gid() == 0 && m & 0o010 != 0 && m & 0o2000 != 0);
    if protect {
        // keepalived 2.2.7 walks the path it executes: the resolved one (2.4 also walks the
        // path as written, which refuses every script under a symlinked /bin).
        match check_path(&real.to_string_lossy()) {
            Ok(()) => {}
            Err(e) if security => return Err(e),
            Err(ScriptError::Insecure { component, why, .. }) => log::warn!(
                "Unsafe permissions found for script '{argv0}' (run as uid:gid {}:{}): \
                 {component} {why}; enable_script_security would refuse it",
                who.uid,
                who.gid
            ),
            Err(e) => log::warn!(
                "script '{argv0}' (run as uid:gid {}:{}): {e}",
                who.uid,
                who.gid
            ),
        }
    }
    let program = if keep_symlinks {
        PathBuf::from(clean_path(argv0))
    } else {
        real
    };
    Ok(Checked {
        program,
        shell: false,
    })
}

/// keepalived 2.4.3's `clean_path` (lib/notify.c), lexical: a leading `./` or `../` is dropped
/// (leaving the path rooted), leading `/../`, `/./` and `//` are skipped, and inside the path
/// `//` and `/./` are removed and `/../` removes the element before it. Symbolic links are
/// not followed.
pub(crate) fn clean_path(p: &str) -> String {
    let mut ip = p;
    if ip.starts_with("./") {
        ip = &ip[1..];
    } else if ip.starts_with("../") {
        ip = &ip[2..];
    }
    loop {
        if ip.starts_with("/../") {
            ip = &ip[3..];
        } else if ip.starts_with("/./") {
            ip = &ip[2..];
        } else if ip.starts_with("//") {
            ip = &ip[1..];
        } else {
            break;
        }
    }
    let parts: Vec<&str> = ip.trim_start_matches('/').split('/').collect();
    let last = parts.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::new();
    for (i, c) in parts.iter().enumerate() {
        // The last element is kept as it is (keepalived copies what follows the last '/').
        if i == last {
            out.push(c);
        } else if c.is_empty() || *c == "." {
            continue;
        } else if *c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("krs-sr-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    // Proves the path walk names the unsafe component and why: a world-writable directory
    // without the sticky bit, a group-writable file of a non-root group, a file owned by
    // another user; /bin/sh and a root-owned file in a 0755 directory under sticky /tmp pass.
    #[test]
    fn path_walk_names_the_component() {
        let sh = std::fs::canonicalize("/bin/sh").expect("sh");
        assert!(check_path(sh.to_str().expect("utf8")).is_ok());
        if !nix::unistd::geteuid().is_root() {
            return; // ownership checks need files owned by root
        }
        let d = tmpdir("walk");
        chmod(&d, 0o755);
        let ww = d.join("ww");
        std::fs::create_dir(&ww).expect("ww");
        chmod(&ww, 0o777);
        let f = ww.join("s.sh");
        std::fs::write(&f, "#!/bin/sh\n").expect("write");
        chmod(&f, 0o755);
        let e = check_path(f.to_str().expect("utf8")).expect_err("world-writable dir");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!(
                "{} is world-writable (mode 0777, no sticky bit)",
                ww.display()
            )),
            "{msg}"
        );
        chmod(&ww, 0o1777);
        assert!(check_path(f.to_str().expect("utf8")).is_ok());
        chmod(&f, 0o775);
        nix::unistd::chown(&f, None, Some(nix::unistd::Gid::from_raw(65534))).expect("chgrp");
        let msg = check_path(f.to_str().expect("utf8"))
            .expect_err("group")
            .to_string();
        assert!(
            msg.contains("is writable by group 65534 (mode 0775)"),
            "{msg}"
        );
        chmod(&f, 0o755);
        nix::unistd::chown(&f, Some(nix::unistd::Uid::from_raw(65534)), None).expect("chown");
        let msg = check_path(f.to_str().expect("utf8"))
            .expect_err("owner")
            .to_string();
        assert!(msg.contains("is owned by uid 65534, not root"), "{msg}");
        let _ = std::fs::remove_dir_all(&d);
    }

    // Proves keepalived's is_executable: root needs any x bit, the owner the user bit, the
    // group the group bit, others the other bit.
    #[test]
    fn executable_rules() {
        let d = tmpdir("exec");
        let f = d.join("x");
        std::fs::write(&f, "").expect("write");
        let ours = Identity::ours();
        let other = Identity {
            uid: ours.uid.wrapping_add(4242),
            gid: ours.gid.wrapping_add(4242),
        };
        for (mode, owner, stranger) in [
            (0o700, true, false),
            (0o701, true, true),
            (0o070, false, false),
        ] {
            chmod(&f, mode);
            let md = std::fs::metadata(&f).expect("md");
            assert_eq!(is_executable(&md, ours), owner || ours.uid == 0, "{mode:o}");
            assert_eq!(is_executable(&md, other), stranger, "{mode:o}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    // Proves a bare name is found in PATH and argv[0] replaced by the full path; a missing one
    // and a missing absolute path are refused.
    #[test]
    fn bare_names_and_missing_scripts() {
        let mut argv = vec!["sh".to_string(), "-c".into(), "true".into()];
        let c = check(&mut argv, Identity::ours(), false, false).expect("sh in PATH");
        assert!(argv[0].ends_with("/sh"), "{argv:?}");
        assert!(c.program.is_absolute());
        let mut argv = vec!["no-such-script-krs".to_string()];
        assert!(matches!(
            check(&mut argv, Identity::ours(), false, false),
            Err(ScriptError::NotInPath(_))
        ));
        let mut argv = vec!["/no/such/script".to_string()];
        assert!(matches!(
            check(&mut argv, Identity::ours(), false, false),
            Err(ScriptError::NotFound { .. })
        ));
        let mut argv = vec!["< /etc/hostname".to_string()];
        assert!(
            check(&mut argv, Identity::ours(), true, false)
                .expect("file test")
                .shell
        );
    }

    // Proves use_symlink_paths: without it the program run is the link's target, with it the
    // path as written, cleaned lexically as keepalived 2.4.3's clean_path does.
    #[test]
    fn symlinked_scripts_run_resolved_unless_kept() {
        let d = tmpdir("symlink");
        let target = d.join("real.sh");
        std::fs::write(&target, "#!/bin/sh\n").expect("write");
        chmod(&target, 0o755);
        let link = d.join("link.sh");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let written = format!("{}/./sub/..//link.sh", d.display());
        std::fs::create_dir_all(d.join("sub")).expect("mkdir");
        let mut argv = vec![written.clone()];
        let c = check(&mut argv, Identity::ours(), false, false).expect("resolved");
        assert_eq!(c.program, std::fs::canonicalize(&target).expect("canon"));
        let mut argv = vec![written];
        let c = check(&mut argv, Identity::ours(), false, true).expect("kept");
        assert_eq!(c.program, link);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn clean_path_as_keepalived() {
        assert_eq!(clean_path("/a/b/c"), "/a/b/c");
        assert_eq!(clean_path("/a//b/./c"), "/a/b/c");
        assert_eq!(clean_path("/a/x/../b"), "/a/b");
        assert_eq!(clean_path("//../a"), "/a");
        assert_eq!(clean_path("./a/b"), "/a/b");
    }
}
