// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Console and file lines held back while the checker child works through
//! a long list of them, then written many to a system call.
//!
//! Outside a hold every line is one write, as before: nothing waits. A
//! stop or start with 100 000 real servers makes 100 000 lines in one go;
//! one write each was most of the child's stop (docs/benchmarks.md,
//! "Stop lines at 100 000 checkers"). While a [`Hold`] lives, lines are
//! appended to a buffer instead and written out when it is flushed or
//! dropped, or when it grows past [`HELD_MAX`].
//!
//! The parent and both children share the console, which may be a pipe
//! (a service manager's journal). A pipe write of more than `PIPE_BUF`
//! bytes can be interleaved with another process's, so a flush writes
//! whole lines in pieces of at most `PIPE_BUF` bytes: every line still
//! arrives in one piece, next to the other processes' lines.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The size up to which a pipe write is atomic (POSIX minimum 512,
/// Linux 4096).
const PIPE_BUF: usize = libc::PIPE_BUF;

/// Held bytes past which a hold writes them out without waiting for its
/// flush: bounds the memory and the lines a kill would lose.
pub const HELD_MAX: usize = 256 << 10;

/// Where the console or file lines go.
#[derive(Debug, Clone)]
pub enum Sink {
    Stderr,
    File(Arc<File>),
}

impl Sink {
    fn write_all(&self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stderr => std::io::stderr().lock().write_all(buf),
            Sink::File(f) => (&**f).write_all(buf),
        }
    }
}

/// The process's line writer: direct, or into the buffer while held.
#[derive(Debug)]
pub struct Lines {
    sink: Sink,
    holds: AtomicUsize,
    held: Mutex<Vec<u8>>,
    /// Write calls made, for the tests that count them.
    writes: AtomicUsize,
}

impl Lines {
    pub fn new(sink: Sink) -> Self {
        Lines {
            sink,
            holds: AtomicUsize::new(0),
            held: Mutex::new(Vec::new()),
            writes: AtomicUsize::new(0),
        }
    }

    /// One formatted line (the fmt layer writes each event whole).
    pub fn line(&self, buf: &[u8]) -> std::io::Result<()> {
        if self.holds.load(Ordering::Acquire) > 0
            && let Ok(mut held) = self.held.lock()
        {
            held.extend_from_slice(buf);
            if held.len() >= HELD_MAX {
                let all = std::mem::take(&mut *held);
                drop(held);
                return self.write_pieces(&all);
            }
            return Ok(());
        }
        // A line written outside a hold must not pass lines still held.
        self.flush()?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.sink.write_all(buf)
    }

    /// Writes out what is held.
    pub fn flush(&self) -> std::io::Result<()> {
        let all = match self.held.lock() {
            Ok(mut held) if !held.is_empty() => std::mem::take(&mut *held),
            _ => return Ok(()),
        };
        self.write_pieces(&all)
    }

    /// `buf` in writes of whole lines, each at most PIPE_BUF bytes unless
    /// one line alone is longer (then that line is a write of its own).
    fn write_pieces(&self, mut buf: &[u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            let cut = piece_len(buf);
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.sink.write_all(&buf[..cut])?;
            buf = &buf[cut..];
        }
        Ok(())
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }
}

/// The length of the next write: the whole lines that fit in PIPE_BUF, or
/// the first line alone when it does not fit.
fn piece_len(buf: &[u8]) -> usize {
    if buf.len() <= PIPE_BUF {
        return buf.len();
    }
    match buf[..PIPE_BUF].iter().rposition(|b| *b == b'\n') {
        Some(end) => end + 1,
        None => buf
            .iter()
            .position(|b| *b == b'\n')
            .map_or(buf.len(), |end| end + 1),
    }
}

/// The process's writer, once logging is set up with a console or file.
static LINES: OnceLock<Arc<Lines>> = OnceLock::new();

/// Makes `lines` the one [`hold`] reaches.
pub fn install(lines: Arc<Lines>) {
    let _ = LINES.set(lines);
}

/// Holds the process's console/file lines until the returned guard is
/// flushed or dropped. Holds nest; the outermost drop writes them out.
/// Not across a long wait: lines logged meanwhile wait too.
pub fn hold() -> Hold {
    if let Some(l) = LINES.get() {
        l.holds.fetch_add(1, Ordering::AcqRel);
    }
    Hold { _private: () }
}

/// See [`hold`].
#[must_use = "lines are held only while the guard lives"]
pub struct Hold {
    _private: (),
}

impl Hold {
    /// Writes out what is held so far; the hold goes on.
    pub fn flush(&self) {
        if let Some(l) = LINES.get() {
            let _ = l.flush();
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(l) = LINES.get() {
            // The last hold out writes what is left; a line racing in
            // between (another thread) is written directly, after it.
            if l.holds.fetch_sub(1, Ordering::AcqRel) == 1 {
                let _ = l.flush();
            }
        }
    }
}

/// A `MakeWriter` target: each event's line goes to `lines`.
pub struct LineWriter(pub Arc<Lines>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.line(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn file_lines() -> (Lines, File) {
        let dir = std::env::temp_dir().join(format!(
            "kalrs-held-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&dir)
            .expect("temp file");
        let _ = std::fs::remove_file(&dir);
        let reader = f.try_clone().expect("clone");
        (Lines::new(Sink::File(Arc::new(f))), reader)
    }

    fn read_all(mut f: &File) -> String {
        use std::io::Seek;
        let mut s = String::new();
        f.seek(std::io::SeekFrom::Start(0)).expect("seek");
        f.read_to_string(&mut s).expect("read");
        s
    }

    #[test]
    fn unheld_lines_are_one_write_each() {
        let (lines, f) = file_lines();
        for i in 0..10 {
            lines.line(format!("line {i}\n").as_bytes()).expect("write");
        }
        assert_eq!(lines.writes(), 10);
        assert_eq!(read_all(&f).lines().count(), 10);
    }

    #[test]
    fn held_lines_go_out_in_pipe_sized_pieces_of_whole_lines() {
        let (lines, f) = file_lines();
        lines.holds.fetch_add(1, Ordering::AcqRel);
        let one =
            "Shutting down service [198.51.100.10]:tcp:29999 from VS [192.0.2.40]:tcp:29999\n";
        let n: usize = 1000;
        for _ in 0..n {
            lines.line(one.as_bytes()).expect("held");
        }
        assert_eq!(lines.writes(), 0, "nothing written while held");
        lines.flush().expect("flush");
        let per = PIPE_BUF / one.len();
        assert_eq!(lines.writes(), n.div_ceil(per));
        let text = read_all(&f);
        assert_eq!(text.lines().count(), n);
        assert!(text.lines().all(|l| format!("{l}\n") == one));
    }

    #[test]
    fn a_line_outside_the_hold_comes_after_the_held_ones() {
        let (lines, f) = file_lines();
        lines.holds.fetch_add(1, Ordering::AcqRel);
        lines.line(b"first\n").expect("held");
        lines.holds.fetch_sub(1, Ordering::AcqRel);
        lines.line(b"second\n").expect("direct");
        assert_eq!(read_all(&f), "first\nsecond\n");
    }

    #[test]
    fn a_long_hold_writes_out_at_its_bound() {
        let (lines, f) = file_lines();
        lines.holds.fetch_add(1, Ordering::AcqRel);
        let line = [b'x'; 99]
            .iter()
            .copied()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        for _ in 0..(HELD_MAX / line.len() + 1) {
            lines.line(&line).expect("held");
        }
        assert!(lines.writes() > 0, "the bound wrote them out");
        assert_eq!(read_all(&f).len() % line.len(), 0, "whole lines only");
    }

    #[test]
    fn pieces() {
        let short = b"a\nb\n";
        assert_eq!(piece_len(short), 4);
        let mut long = vec![b'y'; PIPE_BUF + 10];
        long.push(b'\n');
        long.extend_from_slice(b"z\n");
        assert_eq!(piece_len(&long), PIPE_BUF + 11, "a long line alone");
        let mut many = Vec::new();
        while many.len() < 2 * PIPE_BUF {
            many.extend_from_slice(&[b'q'; 9]);
            many.push(b'\n');
        }
        assert_eq!(piece_len(&many), PIPE_BUF / 10 * 10);
    }
}
