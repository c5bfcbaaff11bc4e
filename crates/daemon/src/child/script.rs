// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Notify scripts as keepalived starts them (both children): exactly the
//! configured argv, through `/bin/sh -c` only for a file the kernel cannot
//! execute directly; own process group, stdio on /dev/null, killed by
//! the supervisor if the child dies without stopping
//! (`keepalived_sys::script`); never waited for by the caller, reaped by
//! a task.

use keepalived_config::types::Command;
use keepalived_sys::script::{self, ScriptSpec};
use tokio::task::JoinHandle;

/// Starts `cmd` with `extra` appended; a file the kernel cannot execute
/// directly (no shebang) runs through `/bin/sh -c`, like keepalived. The
/// start is queued now, in call order, on the spawner thread
/// (`keepalived_sys::spawn`), and the returned task waits for it and then
/// for the end: the caller's loop never waits for an exec. A script that
/// cannot start is logged by the task.
pub fn spawn(cmd: &Command, extra: &[String]) -> Option<JoinHandle<()>> {
    let argv: Vec<&str> = cmd
        .argv
        .iter()
        .map(String::as_str)
        .chain(extra.iter().map(String::as_str))
        .collect();
    let prog = argv.first()?.to_string();
    let line = argv.join(" ");
    let mut spec = ScriptSpec::new(argv.iter().copied());
    spec.noexec_fallback = Some(vec!["/bin/sh".into(), "-c".into(), line.into()]);
    let starting = script::spawn(&spec);
    Some(tokio::spawn(async move {
        let running = match starting.await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("Cannot run {prog}: {e}");
                return;
            }
        };
        match running.wait().await {
            Ok(o) if !o.success() => tracing::debug!("{prog} ended with {o:?}"),
            Ok(_) => {}
            Err(e) => tracing::debug!("{prog}: {e}"),
        }
    }))
}
