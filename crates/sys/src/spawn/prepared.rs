// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A start made ready on the thread that asks for it: every byte the new
//! process reads (argv, environment, the PATH candidates, the groups), as
//! C strings and the pointer arrays over them.
//!
//! Why here and not on the spawner thread: a thread that calls malloc or
//! free gets a glibc arena of its own, and every start it builds is
//! allocator work done far from the loop that asked, then handed back
//! across threads. Built here, a request is one `Arc` moved to the
//! spawner and back (`queue`), and the spawner thread only clones
//! (`crates/sys/tests/spawn_alloc.rs` counts its heap calls).
//!
//! The environment is the dear part (every inherited variable copied,
//! the removed ones filtered, the added ones appended): it is built once
//! per process and set of additions and shared by every start that asks
//! for the same ([`environment_block`]). The process's own environment is
//! read at that first build: the daemon does not change it later.

use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex};

use super::{Env, Program, SpawnError, SwitchUser, environment};

/// Owned C strings and a NULL-terminated array of pointers to them, as
/// `execve` takes argv and envp.
pub(crate) struct CArray {
    // Never read: it keeps alive what `pointers` points into.
    _strings: Vec<CString>,
    pointers: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into the heap buffers of `_strings`, owned
// by the same value and never changed after `new`; moving the value or
// reading it from several threads leaves them valid.
#[allow(unsafe_code)]
unsafe impl Send for CArray {}
#[allow(unsafe_code)]
unsafe impl Sync for CArray {}

impl CArray {
    fn new(items: &[OsString]) -> io::Result<CArray> {
        let strings = items
            .iter()
            .map(|s| c_string(s.as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Self::of(strings))
    }

    fn of(strings: Vec<CString>) -> CArray {
        let pointers = strings
            .iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        CArray {
            _strings: strings,
            pointers,
        }
    }

    /// The NULL-terminated array.
    pub(crate) fn as_ptr(&self) -> *const *const libc::c_char {
        self.pointers.as_ptr()
    }

    /// How many strings (the final NULL not counted).
    pub(crate) fn len(&self) -> usize {
        self.pointers.len().saturating_sub(1)
    }
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argv or env"))
}

/// One way to start the program: its argv and where to look for it.
pub(crate) struct Attempt {
    pub(crate) argv: CArray,
    pub(crate) candidates: CArray,
}

impl Attempt {
    fn new(argv: &[OsString]) -> io::Result<Attempt> {
        let argv = CArray::new(argv)?;
        let program = argv
            ._strings
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
        let candidates = CArray::of(exec_candidates(program));
        Ok(Attempt { argv, candidates })
    }
}

/// Everything a start needs, ready for the spawner thread.
pub struct Prepared {
    pub(crate) first: Attempt,
    /// Tried when the kernel refuses the first as an executable format.
    pub(crate) noexec_fallback: Option<Attempt>,
    pub(crate) env: Arc<CArray>,
    pub(crate) user: Option<(libc::uid_t, libc::gid_t)>,
    pub(crate) groups: Vec<libc::gid_t>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("argc", &self.first.argv.len())
            .field("candidates", &self.first.candidates.len())
            .field("env", &self.env.len())
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Builds the start of `program`; fails for what could never start
    /// (empty argv, a NUL byte, uid or gid -1).
    pub fn new(program: &Program) -> Result<Prepared, SpawnError> {
        if let Some(u) = &program.user {
            refuse_unchanged_ids(u).map_err(SpawnError::Start)?;
        }
        let first = Attempt::new(&program.argv).map_err(SpawnError::Start)?;
        let noexec_fallback = program
            .noexec_fallback
            .as_deref()
            .map(Attempt::new)
            .transpose()
            .map_err(SpawnError::Start)?;
        let env = environment_block(&program.env).map_err(SpawnError::Start)?;
        Ok(Prepared {
            first,
            noexec_fallback,
            env,
            user: program.user.as_ref().map(|u| (u.uid, u.gid)),
            groups: program
                .user
                .as_ref()
                .map(|u| u.groups.clone())
                .unwrap_or_default(),
        })
    }
}

/// -1 means "leave unchanged" to setresuid & co.: the program would run
/// as root.
fn refuse_unchanged_ids(u: &SwitchUser) -> io::Result<()> {
    if u.uid == u32::MAX || u.gid == u32::MAX || u.groups.contains(&u32::MAX) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "uid or gid -1"));
    }
    Ok(())
}

/// Where `execvp` would look for `program`: itself if it names a path,
/// else each directory of our PATH (glibc's default when unset).
fn exec_candidates(program: &CString) -> Vec<CString> {
    if program.as_bytes().contains(&b'/') {
        return vec![program.clone()];
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    path.as_bytes()
        .split(|b| *b == b':')
        .filter_map(|dir| {
            // An empty entry is the current directory.
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let mut full = dir.to_vec();
            full.push(b'/');
            full.extend_from_slice(program.as_bytes());
            CString::new(full).ok()
        })
        .collect()
}

/// The last environment block built, with what it was built from (a
/// process forked from us has the value but another pid to write).
struct Cached {
    pid: u32,
    remove: &'static [&'static str],
    add: Vec<(OsString, OsString)>,
    block: Arc<CArray>,
}

static LAST_ENV: Mutex<Option<Cached>> = Mutex::new(None);

/// The environment `env` describes, shared with every earlier start that
/// asked for the same. One entry is enough: the daemon's scripts all ask
/// for the same one (only the spawner's pid is added).
fn environment_block(env: &Env) -> io::Result<Arc<CArray>> {
    let pid = std::process::id();
    let mut last = LAST_ENV
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = last.as_ref()
        && c.pid == pid
        && c.remove == env.remove
        && c.add == env.add
    {
        return Ok(c.block.clone());
    }
    let block = Arc::new(CArray::new(&environment(env.remove, &env.add))?);
    *last = Some(Cached {
        pid,
        remove: env.remove,
        add: env.add.clone(),
        block: block.clone(),
    });
    Ok(block)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    /// `KEY=VALUE` pairs of `block`.
    fn entries(block: &CArray) -> Vec<&OsStr> {
        block
            ._strings
            .iter()
            .map(|c| OsStr::from_bytes(c.as_bytes()))
            .collect()
    }

    fn env(add: &[(&str, &str)]) -> Env {
        Env {
            remove: &["LD_PRELOAD"],
            add: add
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    #[test]
    fn the_same_environment_is_built_once() {
        let a = environment_block(&env(&[("PREPARED_TEST", "1")])).expect("block");
        let b = environment_block(&env(&[("PREPARED_TEST", "1")])).expect("block");
        assert!(Arc::ptr_eq(&a, &b), "shared");
        assert!(entries(&a).contains(&OsStr::new("PREPARED_TEST=1")));
        let c = environment_block(&env(&[("PREPARED_TEST", "2")])).expect("block");
        assert!(!Arc::ptr_eq(&a, &c), "other additions, another block");
        assert!(entries(&c).contains(&OsStr::new("PREPARED_TEST=2")));
        assert!(!entries(&c).contains(&OsStr::new("PREPARED_TEST=1")));
        assert_eq!(a.pointers.last(), Some(&std::ptr::null()));
        assert_eq!(a.len(), entries(&a).len());
    }

    #[test]
    fn a_bare_name_is_looked_up_along_path_and_a_path_is_not() {
        let by_name = Attempt::new(&["sh".into()]).expect("attempt");
        assert!(by_name.candidates.len() >= 1);
        assert!(
            by_name
                .candidates
                ._strings
                .iter()
                .all(|c| c.as_bytes().ends_with(b"/sh"))
        );
        let by_path = Attempt::new(&["/bin/sh".into(), "-c".into()]).expect("attempt");
        assert_eq!(by_path.candidates.len(), 1);
        assert_eq!(by_path.argv.len(), 2);
    }

    #[test]
    fn what_could_never_start_is_refused_before_the_queue() {
        let program = |argv: Vec<OsString>, user| Program {
            argv,
            env: env(&[]),
            user,
            noexec_fallback: None,
        };
        assert!(Prepared::new(&program(vec![], None)).is_err());
        assert!(Prepared::new(&program(vec!["a\0b".into()], None)).is_err());
        let root_after_all = SwitchUser {
            uid: u32::MAX,
            gid: 0,
            groups: vec![],
        };
        assert!(Prepared::new(&program(vec!["/bin/true".into()], Some(root_after_all))).is_err());
        assert!(Prepared::new(&program(vec!["/bin/true".into()], None)).is_ok());
    }
}
