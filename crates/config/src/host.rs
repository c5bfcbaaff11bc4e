// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What validation needs to know about the machine, behind a trait so the
//! reader stays pure and tests can describe any host.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The PATH glibc uses when the environment has none (`confstr(_CS_PATH)`),
/// which is what keepalived falls back to for bare script names.
pub const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// What kind of file a path names (as `lstat` sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    #[default]
    File,
    Dir,
    Symlink,
    /// Sockets, fifos, devices.
    Other,
}

/// Ownership and permissions of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FileMeta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid (0o4000), setgid (0o2000) and
    /// sticky (0o1000); the file type is in `kind`.
    pub mode: u32,
    pub kind: FileKind,
}

/// A user account: its uid and primary gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UserInfo {
    pub uid: u32,
    pub gid: u32,
}

/// Facts about the host a configuration is checked against.
///
/// Everything but `interface_exists` has a default that describes an empty
/// host (no files, no users), so a test double only implements what its
/// test needs.
pub trait Host {
    /// Whether a network interface of that name exists.
    fn interface_exists(&self, name: &str) -> bool;

    /// The file at `path` itself, not following a final symlink.
    fn lstat(&self, path: &Path) -> Option<FileMeta> {
        let _ = path;
        None
    }

    /// The file at `path`, following symlinks.
    fn stat(&self, path: &Path) -> Option<FileMeta> {
        let _ = path;
        None
    }

    /// The absolute path with every symlink, `.` and `..` resolved; `None`
    /// when some component does not exist or cannot be searched.
    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        let _ = path;
        None
    }

    /// The account called `name`.
    fn user(&self, name: &str) -> Option<UserInfo> {
        let _ = name;
        None
    }

    /// The gid of the group called `name`.
    fn group(&self, name: &str) -> Option<u32> {
        let _ = name;
        None
    }

    /// The search path for bare command names.
    fn path_env(&self) -> String {
        DEFAULT_PATH.to_string()
    }

    /// The effective uid and gid this process runs as (what a script runs
    /// as when no user is configured and `keepalived_script` is absent).
    fn current_ids(&self) -> UserInfo {
        UserInfo::default()
    }
}

/// The machine we run on.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    fn interface_exists(&self, name: &str) -> bool {
        // A name with a slash would escape /sys/class/net.
        !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
    }

    fn lstat(&self, path: &Path) -> Option<FileMeta> {
        std::fs::symlink_metadata(path).ok().map(|m| meta_of(&m))
    }

    fn stat(&self, path: &Path) -> Option<FileMeta> {
        std::fs::metadata(path).ok().map(|m| meta_of(&m))
    }

    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    // Only the local files are read (no NSS: LDAP, sssd ...), which is
    // where service accounts such as keepalived_script live.
    fn user(&self, name: &str) -> Option<UserInfo> {
        let text = std::fs::read_to_string("/etc/passwd").ok()?;
        find_passwd(&text, name)
    }

    fn group(&self, name: &str) -> Option<u32> {
        let text = std::fs::read_to_string("/etc/group").ok()?;
        find_group(&text, name)
    }

    fn path_env(&self) -> String {
        match std::env::var_os("PATH") {
            Some(p) => p.to_string_lossy().into_owned(),
            None => DEFAULT_PATH.to_string(),
        }
    }

    fn current_ids(&self) -> UserInfo {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| effective_ids(&s))
            // /proc/self is owned by our effective ids.
            .or_else(|| {
                std::fs::metadata("/proc/self").ok().map(|m| UserInfo {
                    uid: m.uid(),
                    gid: m.gid(),
                })
            })
            .unwrap_or_default()
    }
}

fn meta_of(m: &std::fs::Metadata) -> FileMeta {
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileMeta {
        uid: m.uid(),
        gid: m.gid(),
        mode: m.mode() & 0o7777,
        kind,
    }
}

/// The entry for `name` in passwd(5) text.
pub fn find_passwd(text: &str, name: &str) -> Option<UserInfo> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        let uid = f.next()?.trim().parse().ok()?;
        let gid = f.next()?.trim().parse().ok()?;
        Some(UserInfo { uid, gid })
    })
}

/// The gid of group `name` in group(5) text.
pub fn find_group(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        f.next()?.trim().parse().ok()
    })
}

/// The effective uid and gid from /proc/self/status text
/// ("Uid:\treal\teffective\tsaved\tfs").
fn effective_ids(status: &str) -> Option<UserInfo> {
    let field = |key: &str| -> Option<u32> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].split_whitespace().nth(1)?.parse().ok()
    };
    Some(UserInfo {
        uid: field("Uid:")?,
        gid: field("Gid:")?,
    })
}

/// One entry of [`FakeHost`]'s file system.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FakeFile {
    pub meta: FileMeta,
    /// Where a symlink points (relative to its directory, or absolute).
    pub target: Option<String>,
}

/// A host described by tests.
///
/// Its file system is a map from absolute path to entry; a directory that
/// is an ancestor of an entry but not listed itself is taken to be a plain
/// root-owned 0755 directory, so tests only list what matters to them.
/// Build it with struct update syntax (`..FakeHost::default()`) or the
/// `with_*` helpers.
#[derive(Debug, Default, Clone)]
pub struct FakeHost {
    pub interfaces: Vec<String>,
    pub files: BTreeMap<String, FakeFile>,
    pub users: BTreeMap<String, UserInfo>,
    pub groups: BTreeMap<String, u32>,
    /// The search path; `None` means [`DEFAULT_PATH`].
    pub path: Option<String>,
    /// Our own effective ids (root by default).
    pub ids: UserInfo,
}

/// How many symlinks a lookup follows before giving up (Linux's limit).
const MAX_SYMLINKS: usize = 40;

impl FakeHost {
    /// A host with these interfaces and, like every real system, a root
    /// user and group.
    pub fn with_interfaces(names: &[&str]) -> Self {
        Self {
            interfaces: names.iter().map(|s| s.to_string()).collect(),
            ..Self::default()
        }
        .with_user("root", 0, 0)
        .with_group("root", 0)
    }

    pub fn with_user(mut self, name: &str, uid: u32, gid: u32) -> Self {
        self.users.insert(name.to_string(), UserInfo { uid, gid });
        self
    }

    pub fn with_group(mut self, name: &str, gid: u32) -> Self {
        self.groups.insert(name.to_string(), gid);
        self
    }

    /// A regular file with `mode` permission bits (e.g. 0o755).
    pub fn with_file(self, path: &str, uid: u32, gid: u32, mode: u32) -> Self {
        self.with_entry(path, uid, gid, mode, FileKind::File, None)
    }

    pub fn with_dir(self, path: &str, uid: u32, gid: u32, mode: u32) -> Self {
        self.with_entry(path, uid, gid, mode, FileKind::Dir, None)
    }

    pub fn with_symlink(self, path: &str, target: &str) -> Self {
        self.with_entry(path, 0, 0, 0o777, FileKind::Symlink, Some(target))
    }

    pub fn with_path(mut self, path: &str) -> Self {
        self.path = Some(path.to_string());
        self
    }

    fn with_entry(
        mut self,
        path: &str,
        uid: u32,
        gid: u32,
        mode: u32,
        kind: FileKind,
        target: Option<&str>,
    ) -> Self {
        self.files.insert(
            normalize(Path::new(path)),
            FakeFile {
                meta: FileMeta {
                    uid,
                    gid,
                    mode,
                    kind,
                },
                target: target.map(str::to_string),
            },
        );
        self
    }

    /// The entry at an absolute, symlink-free `path` (as lstat would).
    fn entry(&self, path: &str) -> Option<FileMeta> {
        if let Some(f) = self.files.get(path) {
            return Some(f.meta);
        }
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        // An unlisted ancestor of a listed entry is an ordinary directory.
        self.files
            .range(prefix.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|_| FileMeta {
                uid: 0,
                gid: 0,
                mode: 0o755,
                kind: FileKind::Dir,
            })
            .or_else(|| {
                (path == "/").then_some(FileMeta {
                    uid: 0,
                    gid: 0,
                    mode: 0o755,
                    kind: FileKind::Dir,
                })
            })
    }

    /// Resolves `path` like realpath(3); with `follow_last` false the final
    /// component is left as it is (for lstat).
    fn resolve(&self, path: &Path, follow_last: bool) -> Option<String> {
        if !path.is_absolute() {
            return None;
        }
        // Components still to walk, last at the front of the stack's end.
        let mut todo: Vec<String> = components_rev(path);
        let mut cur = String::from("/");
        let mut links = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    cur = parent(&cur);
                    continue;
                }
                _ => {}
            }
            // Every component we pass through must be a directory.
            if self.entry(&cur)?.kind != FileKind::Dir {
                return None;
            }
            let next = join(&cur, &c);
            let meta = self.entry(&next)?;
            let is_last = todo.is_empty();
            if meta.kind == FileKind::Symlink && (follow_last || !is_last) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return None;
                }
                let target = self.files.get(&next)?.target.clone()?;
                if target.starts_with('/') {
                    cur = String::from("/");
                }
                todo.extend(components_rev(Path::new(&target)));
            } else {
                cur = next;
            }
        }
        Some(cur)
    }
}

impl Host for FakeHost {
    fn interface_exists(&self, name: &str) -> bool {
        self.interfaces.iter().any(|i| i == name)
    }

    fn lstat(&self, path: &Path) -> Option<FileMeta> {
        self.entry(&self.resolve(path, false)?)
    }

    fn stat(&self, path: &Path) -> Option<FileMeta> {
        self.entry(&self.resolve(path, true)?)
    }

    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        self.resolve(path, true).map(PathBuf::from)
    }

    fn user(&self, name: &str) -> Option<UserInfo> {
        self.users.get(name).copied()
    }

    fn group(&self, name: &str) -> Option<u32> {
        self.groups.get(name).copied()
    }

    fn path_env(&self) -> String {
        self.path
            .clone()
            .unwrap_or_else(|| DEFAULT_PATH.to_string())
    }

    fn current_ids(&self) -> UserInfo {
        self.ids
    }
}

/// The normal components of `path`, last first (a stack to pop from).
fn components_rev(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    v.reverse();
    v
}

/// `path` as an absolute string with single slashes and no trailing slash.
fn normalize(path: &Path) -> String {
    let mut out = String::from("/");
    for c in components_rev(path).into_iter().rev() {
        out = join(&out, &c);
    }
    out
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}
