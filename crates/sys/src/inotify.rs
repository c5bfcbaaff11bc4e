// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Watching files by name through an inotify watch on their directories,
//! the way keepalived watches `track_file`s (IN_CLOSE_WRITE, IN_DELETE,
//! IN_MOVE on the directory, so a file written in place, replaced by a
//! rename, created or removed is reported).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;

/// tokio's AsyncFd wants AsRawFd, which nix's Inotify offers as AsFd.
struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A set of watched (directory, file name) pairs, each with a caller's key.
pub struct DirWatch<K> {
    fd: AsyncFd<Fd>,
    by_wd: HashMap<i32, Vec<(OsString, K)>>,
}

impl<K: Clone> DirWatch<K> {
    /// Must be called inside a tokio runtime.
    #[allow(unsafe_code)]
    pub fn new() -> io::Result<Self> {
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // SAFETY: `Inotify` owns its descriptor; it stays open, with the
        // same number, until the AsyncFd (which never gives it away)
        // drops it.
        let fd = unsafe { AsyncFd::register(Fd(ino)) }?;
        Ok(Self {
            fd,
            by_wd: HashMap::new(),
        })
    }

    /// Reports changes of `file` in directory `dir` as `key`.
    pub fn add(&mut self, dir: &Path, file: &OsStr, key: K) -> io::Result<()> {
        let flags =
            AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVE;
        let wd = self.fd.get_ref().0.add_watch(dir, flags)?;
        self.by_wd
            .entry(wd.as_raw())
            .or_default()
            .push((file.to_owned(), key));
        Ok(())
    }

    /// The keys of the watched files that changed since the last call;
    /// waits for at least one. Cancel-safe.
    pub async fn changed(&self) -> io::Result<Vec<K>> {
        loop {
            let mut guard = self.fd.readable().await?;
            let events = match self.fd.get_ref().0.read_events() {
                Ok(ev) => ev,
                Err(nix::errno::Errno::EAGAIN) => {
                    guard.clear_ready();
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut keys = Vec::new();
            for ev in events {
                let (Some(name), Some(files)) = (ev.name, self.by_wd.get(&ev.wd.as_raw())) else {
                    continue;
                };
                keys.extend(
                    files
                        .iter()
                        .filter(|(f, _)| *f == name)
                        .map(|(_, k)| k.clone()),
                );
            }
            if !keys.is_empty() {
                return Ok(keys);
            }
        }
    }
}
