// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One rtnetlink connection, shared by [`crate::link`] and [`crate::addr`].

use std::io;
use std::sync::{Arc, OnceLock};

use crate::direct::DirectRoute;

use rtnetlink::Handle;

/// Why a netlink operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The netlink socket could not be opened or used.
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// The kernel refused the request; `errno` is positive (`libc::E*`).
    #[error("{op}: kernel said {source}")]
    Kernel {
        op: &'static str,
        errno: i32,
        source: io::Error,
    },
    /// The reply could not be understood.
    #[error("{op}: {detail}")]
    Protocol { op: &'static str, detail: String },
    /// No interface has this name or index.
    #[error("no such interface: {0}")]
    NoSuchInterface(String),
    /// The request itself is inconsistent (e.g. broadcast on an IPv6 address).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl NetlinkError {
    /// Sort an rtnetlink error into a kernel refusal (with errno) or a
    /// protocol problem.
    pub(crate) fn from_rtnetlink(op: &'static str, err: rtnetlink::Error) -> Self {
        match err {
            rtnetlink::Error::NetlinkError(msg) => {
                let errno = msg.raw_code().saturating_abs();
                Self::Kernel {
                    op,
                    errno,
                    source: io::Error::from_raw_os_error(errno),
                }
            }
            other => Self::Protocol {
                op,
                detail: other.to_string(),
            },
        }
    }

    /// The kernel's errno when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// A request/response rtnetlink connection in the calling thread's network
/// namespace. Cheap to clone.
#[derive(Clone)]
pub struct Netlink {
    pub(crate) handle: Handle,
    /// Opened on first use (most users never need it).
    direct: Arc<OnceLock<DirectRoute>>,
}

impl Netlink {
    /// Open a connection. Must be called inside a tokio runtime: the
    /// connection's reader task is spawned on it and lives as long as a
    /// clone of this handle exists.
    pub fn new() -> Result<Self, NetlinkError> {
        let (conn, handle, _unsolicited) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Self {
            handle,
            direct: Arc::new(OnceLock::new()),
        })
    }

    /// The blocking socket, opened on first use.
    pub(crate) fn direct(&self) -> Result<&DirectRoute, NetlinkError> {
        if let Some(d) = self.direct.get() {
            return Ok(d);
        }
        let opened = DirectRoute::open()?;
        Ok(self.direct.get_or_init(|| opened))
    }
}
