// SPDX-License-Identifier: Apache-2.0 OR MIT
//! TCP_CHECK (`check_tcp.c`): success is a completed handshake within
//! connect_timeout; the socket is closed at once without data.

use tokio::time::Instant;

use crate::conn::{self, ConnectError};
use crate::report::{Report, Verdict};
use crate::spec::Spec;

pub async fn run(spec: &Spec) -> Report {
    let start = Instant::now();
    let deadline = start + spec.conn.connect_timeout;
    let result = conn::connect(spec.target, &spec.conn, deadline).await;
    let elapsed = start.elapsed();
    match result {
        // Dropping the stream closes it; without SO_LINGER this never
        // blocks.
        Ok(stream) => {
            drop(stream);
            Report::new(Verdict::Success, elapsed, "success")
        }
        Err(ConnectError::Timeout) => Report::new(Verdict::Failure, elapsed, "timeout"),
        Err(ConnectError::Failed(e) | ConnectError::Unreachable(e)) => {
            Report::new(Verdict::Failure, elapsed, "failed").with_cause(e)
        }
        Err(ConnectError::Local(e)) => Report::new(
            Verdict::LocalError,
            elapsed,
            "TCP socket bind failed. Rescheduling.",
        )
        .with_cause(e),
    }
}
