// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The control socket's server, on threads of its own.
//!
//! Why threads and not the supervisor's loop: a client is outside input
//! that may be slow, malformed or hostile, and the supervisor's loop
//! reaps and respawns children and forwards signals. Nothing a client
//! does may delay that, so all socket I/O (accept, reads with a deadline,
//! writes with a deadline) happens here, and the loop only receives
//! finished requests over a channel, woken by one byte on a socketpair it
//! polls with its other descriptors. It answers by sending an
//! [`Answer`] back; the connection's thread writes it. The loop never
//! blocks on a client and a client never sees the loop's state directly.
//!
//! Limits: root only (the socket file is 0600 and the peer's uid is
//! checked), [`MAX_CLIENTS`] connections at once (more are told so and
//! closed), a request must arrive within [`READ_DEADLINE`] and fit
//! [`wire::MAX_REQUEST`] bytes.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use super::wire::{self, Answer, Command, StatusAsk};

pub const MAX_CLIENTS: usize = 16;
pub const READ_DEADLINE: Duration = Duration::from_secs(2);
const WRITE_DEADLINE: Duration = Duration::from_secs(2);
/// How long a client waits for the supervisor's answer (a reload waits
/// for every child to apply it).
const ANSWER_DEADLINE: Duration = Duration::from_secs(30);

/// A request the supervisor has to answer.
pub struct Pending {
    pub cmd: Command,
    /// For `status`: which view.
    pub ask: StatusAsk,
    pub reply: Sender<Answer>,
}

pub struct Server {
    path: PathBuf,
    wake: UnixStream,
    requests: Receiver<Pending>,
    /// Requests taken from a client whose answer is not written yet.
    unanswered: Arc<AtomicUsize>,
    /// What [`Server::asker`] hands out: the same way in as a client's.
    tx: Sender<Pending>,
    wake_tx: Arc<UnixStream>,
}

/// Asks the supervisor as a control-socket client does, from another
/// thread (the metrics endpoint): the request waits in the same queue and
/// the supervisor's loop answers it between two of its own turns.
#[derive(Clone)]
pub struct Asker {
    tx: Sender<Pending>,
    wake: Arc<UnixStream>,
}

impl Asker {
    pub fn ask(&self, cmd: Command, ask: StatusAsk) -> Answer {
        ask_supervisor(cmd, ask, &self.tx, &self.wake)
    }
}

impl Server {
    /// Binds `path` (a stale socket of a previous run is replaced), root
    /// only, and starts accepting.
    pub fn start(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel();
        let unanswered = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&unanswered);
        let wake_tx = Arc::new(wake_tx);
        let (accept_tx, accept_wake) = (tx.clone(), Arc::clone(&wake_tx));
        std::thread::Builder::new()
            .name("control".into())
            .spawn(move || accept_loop(listener, accept_tx, accept_wake, count))?;
        Ok(Self {
            path: path.to_path_buf(),
            wake: wake_rx,
            requests: rx,
            unanswered,
            tx,
            wake_tx,
        })
    }

    pub fn asker(&self) -> Asker {
        Asker {
            tx: self.tx.clone(),
            wake: Arc::clone(&self.wake_tx),
        }
    }

    /// Waits, at most `bound`, for the answers already given to the
    /// client threads to be written: the daemon exits right after
    /// answering `stop`, and a thread still waiting for the CPU would
    /// otherwise leave its client with a closed connection.
    pub fn settle(&self, bound: Duration) {
        let until = std::time::Instant::now() + bound;
        while self.unanswered.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Readable when requests are waiting.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// The requests that arrived since the last call.
    pub fn drain(&mut self) -> Vec<Pending> {
        let mut buf = [0u8; 256];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
        self.requests.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept_loop(
    listener: UnixListener,
    tx: Sender<Pending>,
    wake: Arc<UnixStream>,
    unanswered: Arc<AtomicUsize>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_write_timeout(Some(WRITE_DEADLINE));
        if !peer_is_root(&conn) {
            let _ = conn.write_all(
                Answer::error("only root may use the control socket")
                    .to_line()
                    .as_bytes(),
            );
            continue;
        }
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = conn.write_all(
                Answer::error("too many clients; try again")
                    .to_line()
                    .as_bytes(),
            );
            continue;
        }
        let (tx, wake, active) = (tx.clone(), Arc::clone(&wake), Arc::clone(&active));
        let unanswered = Arc::clone(&unanswered);
        let spawned = std::thread::Builder::new()
            .name("control-client".into())
            .spawn(move || {
                serve_client(conn, &tx, &wake, &unanswered);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            tracing::warn!("control socket: cannot start a thread for a client");
        }
    }
}

fn peer_is_root(conn: &UnixStream) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    getsockopt(conn, PeerCredentials).is_ok_and(|c| c.uid() == 0)
}

/// Requests on one connection, one line each, until the client closes,
/// goes quiet for [`READ_DEADLINE`], or sends something unreadable.
fn serve_client(
    mut conn: UnixStream,
    tx: &Sender<Pending>,
    wake: &UnixStream,
    unanswered: &AtomicUsize,
) {
    let _ = conn.set_read_timeout(Some(READ_DEADLINE));
    let mut pending = Vec::new();
    loop {
        let line = match next_line(&mut conn, &mut pending) {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(e) => {
                if let Some(e) = e {
                    let _ = conn.write_all(Answer::error(e.to_string()).to_line().as_bytes());
                }
                return;
            }
        };
        unanswered.fetch_add(1, Ordering::SeqCst);
        let (answer, go_on) = match wire::parse_request(&line) {
            // Nothing after an unreadable request can be trusted.
            Err(e) => (Answer::error(e.to_string()), false),
            Ok(req) => (ask_supervisor(req.cmd, req.ask, tx, wake), true),
        };
        let written = conn.write_all(answer.to_line().as_bytes());
        unanswered.fetch_sub(1, Ordering::SeqCst);
        if written.is_err() || !go_on {
            return;
        }
    }
}

/// The next line (without its newline); None at the end of the stream;
/// Err(Some) for a line too long or the deadline, Err(None) for a read
/// error.
fn next_line(
    conn: &mut UnixStream,
    pending: &mut Vec<u8>,
) -> Result<Option<Vec<u8>>, Option<wire::BadRequest>> {
    loop {
        if let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = pending.drain(..=i).collect();
            line.pop();
            return Ok(Some(line));
        }
        if pending.len() > wire::MAX_REQUEST {
            return Err(Some(wire::BadRequest::TooLong));
        }
        let mut buf = [0u8; 1024];
        match conn.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Said, not just closed: a client starved by a loaded machine
            // then reports why instead of "closed the connection".
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Some(wire::BadRequest::Slow(READ_DEADLINE)));
            }
            Err(_) => return Err(None),
        }
    }
}

fn ask_supervisor(
    cmd: Command,
    ask: StatusAsk,
    tx: &Sender<Pending>,
    mut wake: &UnixStream,
) -> Answer {
    let (reply, answer) = mpsc::channel();
    if tx.send(Pending { cmd, ask, reply }).is_err() {
        return Answer::error("the daemon is shutting down");
    }
    // A full wake pipe already says there is work: ignore that error.
    let _ = wake.write(&[1]);
    answer
        .recv_timeout(ANSWER_DEADLINE)
        .unwrap_or_else(|_| Answer::error("the daemon did not answer in time"))
}
