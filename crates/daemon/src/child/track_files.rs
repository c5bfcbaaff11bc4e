// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The I/O side of `track_file`, for both children (the VRRP child's
//! `track_file` on instances and sync groups, the checker's FILE_CHECK):
//! `init_file`, the reads, and an inotify watch on each file's directory
//! (keepalived watches IN_CLOSE_WRITE, IN_DELETE and IN_MOVE there, so a
//! file written in place, replaced by a rename or removed is seen at
//! once). What a value means is the VRRP node's or the health pool's
//! business.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use keepalived_config::Config;
use keepalived_config::model::track::TrackFile;
use keepalived_sys::inotify::DirWatch;
use keepalived_vrrp::node::track::parse_file_value;

/// One watched file: its track_file name and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    name: String,
    dir: PathBuf,
    file: OsString,
}

impl Watched {
    fn path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }
}

/// The owner's loop polls the inotify descriptor itself: a task reading
/// it and a channel to the loop would add a task switch to every change.
#[derive(Default)]
pub struct Files {
    watched: Vec<Watched>,
    watch: Option<DirWatch<String>>,
    /// Names one read reported beyond the first, handed out next.
    pending: VecDeque<String>,
}

impl Files {
    /// Takes the track files `used` says are in use; `first`: the first
    /// configuration (init_file ... overwrite does not rewrite a file on
    /// reload, as keepalived). Returns the names that can be tracked (a
    /// file whose directory does not exist cannot: keepalived removes
    /// it).
    pub fn configure(
        &mut self,
        config: &Config,
        first: bool,
        used: impl Fn(&TrackFile) -> bool,
    ) -> Vec<String> {
        self.watch = None;
        self.pending.clear();
        let mut watched = Vec::new();
        for f in config.track_files.iter().filter(|f| used(f)) {
            let Some(path) = f.file.as_deref().map(Path::new) else {
                continue;
            };
            init_file(f, path, first);
            match locate(path) {
                Some((dir, file)) => watched.push(Watched {
                    name: f.name.clone(),
                    dir,
                    file,
                }),
                None => tracing::error!(
                    "Track file directory for {} does not exist - removing",
                    f.name
                ),
            }
        }
        self.watched = watched;
        if !self.watched.is_empty() {
            match watch(&self.watched) {
                Ok(w) => self.watch = Some(w),
                Err(e) => tracing::warn!("Unable to monitor track files: {e}"),
            }
        }
        self.watched.iter().map(|w| w.name.clone()).collect()
    }

    /// The value in track file `name` now: 0 when missing or unreadable
    /// (keepalived's rule), None when the number is out of range (logged;
    /// the last value stays).
    pub fn read(&self, name: &str) -> Option<i64> {
        let w = self.watched.iter().find(|w| w.name == name)?;
        read_value(&w.path())
    }

    /// The name of the next track file that changed (pends for ever when
    /// none is watched). Cancel-safe: a name read is kept until taken.
    pub async fn next_changed(&mut self) -> String {
        loop {
            if let Some(n) = self.pending.pop_front() {
                return n;
            }
            let Some(w) = self.watch.as_ref() else {
                return std::future::pending().await;
            };
            match w.changed().await {
                Ok(names) => self.pending.extend(names),
                Err(e) => {
                    tracing::warn!("inotify read: {e}; track file monitoring ended");
                    self.watch = None;
                }
            }
        }
    }
}

/// The value in the file at `path`, as [`Files::read`] reads it.
pub fn read_value(path: &Path) -> Option<i64> {
    let mut buf = [0u8; 127];
    let len = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    let bytes = buf.get(..len).unwrap_or_default();
    let v = parse_file_value(bytes);
    if v.is_none() {
        tracing::info!(
            "Invalid number {:?} read from {} - ignoring",
            String::from_utf8_lossy(bytes).trim(),
            path.display()
        );
    }
    v
}

/// keepalived's `init_file [VALUE] [overwrite]`: create the file with
/// VALUE when missing; with `overwrite`, also replace an existing regular
/// file's content (not on reload).
fn init_file(f: &TrackFile, path: &Path, first: bool) {
    let Some(value) = f.init_file else {
        return;
    };
    match std::fs::metadata(path) {
        Ok(_) if !f.init_file_overwrite => return,
        Ok(m) if !m.is_file() => {
            tracing::error!(
                "Cannot initialise track file {} - it is not a regular file",
                f.name
            );
            return;
        }
        Ok(_) if !first => return,
        _ => {}
    }
    if let Err(e) = std::fs::write(path, format!("{value}\n")) {
        tracing::error!("Unable to initialise track file {}: {e}", f.name);
    }
}

/// The resolved directory and the file name within it.
fn locate(path: &Path) -> Option<(PathBuf, OsString)> {
    let resolved = std::fs::canonicalize(path).ok();
    let path = resolved.as_deref().unwrap_or(path);
    let file = path.file_name()?.to_owned();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(parent).ok()?;
    dir.is_dir().then_some((dir, file))
}

fn watch(watched: &[Watched]) -> std::io::Result<DirWatch<String>> {
    let mut w = DirWatch::new()?;
    for f in watched {
        w.add(&f.dir, &f.file, f.name.clone())?;
    }
    Ok(w)
}
