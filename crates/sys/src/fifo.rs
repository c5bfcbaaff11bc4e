// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The notify FIFO writer (`notify_fifo`, `vrrp_notify_fifo`).
//!
//! Like keepalived 2.2.7 (`fifo_open`): create the FIFO if it does not
//! exist (mode 0644), then open it O_RDWR | O_NONBLOCK | O_NOFOLLOW and
//! keep it open. Opening read-write means the open never fails for want of
//! a reader and a write never gets EPIPE; lines written while no reader is
//! attached wait in the pipe buffer (64 KiB by default) for the next
//! reader. When the buffer is full the line is dropped and counted: the
//! VRRP child must never block on a slow consumer.
//!
//! Refuses a path that exists but is not a FIFO (keepalived also refuses
//! one owned by someone else).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;

/// Lines up to this size are written atomically (POSIX PIPE_BUF on Linux).
pub const PIPE_BUF: usize = 4096;

/// What happened to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FifoWrite {
    Written,
    /// The pipe was full; the line was dropped.
    Dropped,
    /// Only part of a line longer than [`PIPE_BUF`] fit.
    Truncated,
}

/// An open notify FIFO.
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    file: File,
    dropped: u64,
}

impl NotifyFifo {
    /// Create (if needed) and open the FIFO at `path`.
    pub fn open(path: &Path) -> io::Result<Self> {
        match nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o644)) {
            Ok(()) => {}
            Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        if !file.metadata()?.file_type().is_fifo() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a FIFO", path.display()),
            ));
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            dropped: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines dropped (or truncated) so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Append `line` (a trailing newline is added when missing). Never
    /// blocks; errors other than a full pipe are returned.
    pub fn write_line(&mut self, line: &str) -> io::Result<FifoWrite> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        if !line.ends_with('\n') {
            buf.push(b'\n');
        }
        loop {
            match self.file.write(&buf) {
                Ok(n) if n == buf.len() => return Ok(FifoWrite::Written),
                Ok(_) => {
                    self.dropped += 1;
                    return Ok(FifoWrite::Truncated);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.dropped += 1;
                    return Ok(FifoWrite::Dropped);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn lines_reach_a_reader_and_a_full_pipe_drops_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.fifo");
        let mut fifo = NotifyFifo::open(&path).unwrap();
        assert_eq!(
            fifo.write_line("INSTANCE \"VI_1\" MASTER 150").unwrap(),
            FifoWrite::Written
        );
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let mut got = [0u8; 64];
        let n = reader.read(&mut got).unwrap();
        assert_eq!(&got[..n], b"INSTANCE \"VI_1\" MASTER 150\n");

        // Fill the pipe: no call may block, and the excess is counted.
        let line = "x".repeat(1000);
        let mut outcomes = Vec::new();
        for _ in 0..200 {
            outcomes.push(fifo.write_line(&line).unwrap());
        }
        assert!(outcomes.contains(&FifoWrite::Written));
        let dropped = outcomes
            .iter()
            .filter(|o| **o == FifoWrite::Dropped)
            .count();
        assert!(dropped > 0, "a 64 KiB pipe cannot hold 200 KB");
        assert_eq!(fifo.dropped(), dropped as u64);
    }

    #[test]
    fn a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain");
        std::fs::write(&path, b"").unwrap();
        assert!(NotifyFifo::open(&path).is_err());
    }
}
