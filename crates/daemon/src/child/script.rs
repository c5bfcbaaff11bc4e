// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Notify scripts as keepalived starts them (both children): exactly the
//! configured argv, through `/bin/sh -c` only for a file the kernel cannot
//! execute directly; own process group, stdio on /dev/null, killed by
//! the supervisor if the child dies without stopping
//! (`keepalived_sys::script`); never waited for by the caller, reaped by
//! a task.

use keepalived_config::types::Command;
use keepalived_sys::script::{self, ScriptError, ScriptSpec};
use tokio::task::JoinHandle;

/// Starts `cmd` with `extra` appended; a file the kernel cannot execute
/// directly (no shebang) runs through `/bin/sh -c`, like keepalived.
pub fn spawn(cmd: &Command, extra: &[String]) -> Option<JoinHandle<()>> {
    let argv: Vec<&str> = cmd
        .argv
        .iter()
        .map(String::as_str)
        .chain(extra.iter().map(String::as_str))
        .collect();
    let prog = argv.first()?.to_string();
    let running = match script::spawn(&ScriptSpec::new(argv.iter().copied())) {
        Ok(r) => r,
        Err(ScriptError::Spawn { source, .. }) if source.raw_os_error() == Some(libc::ENOEXEC) => {
            let line = argv.join(" ");
            match script::spawn(&ScriptSpec::new(["/bin/sh", "-c", line.as_str()])) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("Cannot run {line}: {e}");
                    return None;
                }
            }
        }
        Err(e) => {
            tracing::warn!("Cannot run {prog}: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        match running.wait().await {
            Ok(o) if !o.success() => tracing::debug!("{prog} ended with {o:?}"),
            Ok(_) => {}
            Err(e) => tracing::debug!("{prog}: {e}"),
        }
    }))
}
