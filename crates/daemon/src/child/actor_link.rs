// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The engine side of a child's actor task: ask it something, stop it,
//! learn that it ended. Both engines ([`super::vrrp`], [`super::checker`])
//! hold a command sender and a one-shot exit code and speak to their actor
//! the same way.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::exit;

/// Sends the command `make` builds around a reply channel and waits for
/// the answer; None when the actor is not running or ended first.
pub async fn ask<C, T>(
    cmds: Option<&mpsc::Sender<C>>,
    make: impl FnOnce(oneshot::Sender<T>) -> C,
) -> Option<T> {
    let tx = cmds?;
    let (reply, answer) = oneshot::channel();
    tx.send(make(reply)).await.ok()?;
    answer.await.ok()
}

/// Asks the actor to stop and waits at most `wait` for it; `what` names
/// it in the warning when it does not answer in time.
pub async fn stop<C>(
    cmds: Option<mpsc::Sender<C>>,
    make: impl FnOnce(oneshot::Sender<()>) -> C,
    wait: Duration,
    what: &str,
) {
    let Some(tx) = cmds else {
        return;
    };
    let (reply, answer) = oneshot::channel();
    if tx.send(make(reply)).await.is_ok() && tokio::time::timeout(wait, answer).await.is_err() {
        tracing::warn!("{what} did not stop within {wait:?}");
    }
}

/// The actor's exit code once it ends by itself (a lost exit code is
/// fatal); never while it has not started.
pub async fn ended(done: &mut Option<oneshot::Receiver<u8>>) -> u8 {
    match done.as_mut() {
        Some(rx) => {
            let code = rx.await.unwrap_or(exit::FATAL);
            *done = None;
            code
        }
        None => std::future::pending().await,
    }
}
