// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Script security: which user each configured command runs as, which
//! file it executes, and whether keepalived 2.2.7 would run it.
//!
//! keepalived decides this once at load time for every command and the
//! outcome matters twice: `-t` exits 6 when scripts run without
//! `enable_script_security`, and the VRRP/checker children must not run
//! what keepalived would have disabled. [`check`] answers both.
//!
//! What keepalived 2.2.7 does, as observed with the real binary:
//!
//! * The user: the command's own `user [group]`, else the global
//!   `script_user [group]`, else the account `keepalived_script` if it
//!   exists, else keepalived's own ids (root). An unknown per-command user
//!   or group removes the command (silently for notify scripts, with an
//!   error for `vrrp_script` and `MISC_CHECK`). An unknown `script_user`
//!   is an error and removes every command that relies on the default.
//!   With `enable_script_security`, no `script_user` and no
//!   `keepalived_script` account, the first command that needs the default
//!   gets "Unable to set default user" (an error) and every such command is
//!   removed.
//! * The file: a bare name is searched in keepalived's own `PATH` (glibc's
//!   `/bin:/usr/bin` when unset) for a regular file executable by the
//!   script's user; then realpath. Not found: disabled (an error only for
//!   `vrrp_script`). Not executable by that user: disabled silently.
//! * When the script runs as uid 0 or gid 0, or the file is setuid-root or
//!   setgid-root, every component of the resolved path is checked: each
//!   must be root-owned, and neither a file nor a directory without the
//!   sticky bit may be writable by the world or by a non-root group. Only
//!   the resolved path is walked (a symlink in a writable directory that
//!   points at a safe file is safe). A component of the wrong type (the
//!   "script" is a directory) disables the script even without security.
//! * Insecure with `enable_script_security`: disabled (an error only for
//!   `vrrp_script`). Without it: the script runs and, as soon as any
//!   script was found, "SECURITY VIOLATION" is reported (category
//!   Security, `-t` exits 6), mentioning insecure scripts if there are.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::{Category, Diagnostics};
use crate::host::{FileKind, FileMeta, Host, UserInfo};
use crate::types::CommandUse;

/// The account keepalived runs scripts as when none is configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
const S_IXUSR: u32 = 0o100;
const S_IXGRP: u32 = 0o010;
const S_IXOTH: u32 = 0o001;
const S_IWGRP: u32 = 0o020;
const S_IWOTH: u32 = 0o002;

/// glibc's limit on one path component, beyond which PATH search fails.
const NAME_MAX: usize = 255;

/// Whether keepalived would run a command, and if not why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScriptState {
    /// Runs.
    #[default]
    Usable,
    /// Runs as root from a path others can change; only possible without
    /// `enable_script_security`.
    Insecure,
    /// The file (or a directory on its path) does not exist, or a bare name
    /// is not in PATH: disabled.
    Missing,
    /// Exists but its user may not execute it: disabled.
    NotExecutable,
    /// Insecure with `enable_script_security`, or not a regular file:
    /// disabled.
    Disabled,
    /// Its user or group does not exist: removed while reading.
    NoUser,
}

/// The subsystem that runs a command (and reports on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subsystem {
    Vrrp,
    Checker,
    /// The global notify fifo script runs in both.
    Both,
}

/// What [`check`] decided about one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ScriptVerdict {
    pub state: ScriptState,
    /// The file that would be executed (PATH and symlinks resolved);
    /// `None` when it was not found, or for keepalived's `</path` file
    /// test, which runs through the shell.
    pub path: Option<PathBuf>,
    /// The ids it would run as; `None` when they could not be resolved.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Why it will not run, or why it is insecure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ScriptVerdict {
    /// Whether the command may be run.
    pub fn runs(&self) -> bool {
        matches!(self.state, ScriptState::Usable | ScriptState::Insecure)
    }
}

/// Which subsystem runs commands configured with `keyword`.
pub fn subsystem(keyword: &str) -> Subsystem {
    match keyword {
        "misc_path"
        | "notify_up"
        | "notify_down"
        | "quorum_up"
        | "quorum_down"
        | "lvs_notify_fifo_script" => Subsystem::Checker,
        "notify_fifo_script" => Subsystem::Both,
        _ => Subsystem::Vrrp,
    }
}

/// How keepalived treats a command's failures, by what configured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `vrrp_script`'s `script`: every failure is a config error.
    TrackScript,
    /// `MISC_CHECK`'s `misc_path`: user failures are errors, file ones not.
    MiscCheck,
    /// Notify commands: failures are only logged.
    Notify,
}

fn kind_of(keyword: &str) -> Kind {
    match keyword {
        "script" => Kind::TrackScript,
        "misc_path" => Kind::MiscCheck,
        _ => Kind::Notify,
    }
}

/// The default user for commands without their own.
enum DefaultUser {
    /// Not needed yet (keepalived resolves `keepalived_script` lazily).
    Unresolved,
    Ids(UserInfo),
    /// Could not be set: commands that need it are removed.
    Failed,
}

/// Decides, for every command in `commands` (in order), the user it runs
/// as, the file it executes and whether it runs, reporting what keepalived
/// reports. `enabled` is `enable_script_security`; `default_user` and
/// `default_group` are `script_user`'s words.
///
/// The caller passes the commands of the subsystems that will run:
/// keepalived checks a subsystem's scripts only when that subsystem has
/// work (a `vrrp_script` without any `vrrp_instance` is never checked);
/// see [`subsystem`].
pub fn check(
    commands: &[CommandUse],
    enabled: bool,
    default_user: Option<&str>,
    default_group: Option<&str>,
    host: &dyn Host,
    diags: &mut Diagnostics,
) -> Vec<ScriptVerdict> {
    let mut default = match default_user {
        Some(user) => match resolve_user(host, user, default_group) {
            Ok(ids) => DefaultUser::Ids(ids),
            Err(why) => {
                // keepalived has the script_user line here; we do not.
                diags.report(
                    Category::GeneralError,
                    None,
                    format!("script_user: {why}; scripts without their own user will not run"),
                );
                DefaultUser::Failed
            }
        },
        None => DefaultUser::Unresolved,
    };

    let mut any_script = false;
    let mut any_insecure = false;
    let mut verdicts = Vec::with_capacity(commands.len());
    for cu in commands {
        let kind = kind_of(&cu.keyword);
        let ids = match run_as(cu, kind, enabled, &mut default, host, diags) {
            Some(ids) => ids,
            None => {
                verdicts.push(ScriptVerdict {
                    state: ScriptState::NoUser,
                    reason: Some("its user or group does not exist".into()),
                    ..ScriptVerdict::default()
                });
                continue;
            }
        };
        let v = examine(cu, ids, enabled, host);
        if v.counts {
            any_script = true;
        }
        if v.verdict.state == ScriptState::Insecure
            || (v.verdict.state == ScriptState::Disabled && v.insecure)
        {
            any_insecure = true;
        }
        report_disabled(cu, kind, &v.verdict, diags);
        verdicts.push(v.verdict);
    }

    if !enabled && any_script {
        let extra = if any_insecure {
            " There are insecure scripts."
        } else {
            ""
        };
        diags.report_hint(
            Category::Security,
            None,
            format!("SECURITY VIOLATION - scripts are being executed but script_security not enabled.{extra}"),
            "add 'enable_script_security' to global_defs (and a 'script_user') once every script is root-owned and not writable by others",
        );
    }
    verdicts
}

/// The ids `cu` runs as, reporting why there are none where keepalived
/// does.
fn run_as(
    cu: &CommandUse,
    kind: Kind,
    enabled: bool,
    default: &mut DefaultUser,
    host: &dyn Host,
    diags: &mut Diagnostics,
) -> Option<UserInfo> {
    let name = cu.command.argv.first().map_or("", String::as_str);
    if let Some(user) = &cu.command.user {
        return match resolve_user(host, user, cu.command.group.as_deref()) {
            Ok(ids) => Some(ids),
            Err(why) => {
                match kind {
                    Kind::TrackScript | Kind::MiscCheck => diags.error(
                        &cu.loc,
                        format!("cannot run script '{name}' as configured: {why}; removing it"),
                    ),
                    // keepalived only logs this for notify commands.
                    Kind::Notify => {}
                }
                None
            }
        };
    }
    if let DefaultUser::Unresolved = default {
        *default = match host.user(DEFAULT_SCRIPT_USER) {
            Some(ids) => DefaultUser::Ids(ids),
            None if enabled => {
                diags.error(
                    &cu.loc,
                    format!(
                        "Unable to set default user {DEFAULT_SCRIPT_USER} for script: the user does not exist; \
                         set 'script_user' in global_defs or create the user"
                    ),
                );
                DefaultUser::Failed
            }
            None => DefaultUser::Ids(host.current_ids()),
        };
    }
    match default {
        DefaultUser::Ids(ids) => Some(*ids),
        DefaultUser::Failed | DefaultUser::Unresolved => {
            match kind {
                Kind::TrackScript | Kind::MiscCheck => diags.error(
                    &cu.loc,
                    format!("no default script user to run '{name}' as; removing it"),
                ),
                Kind::Notify => {}
            }
            None
        }
    }
}

/// Resolves `user [group]`. A group starting with ':' asks keepalived for
/// the user's supplementary groups too; the rest (if any) is the group.
fn resolve_user(host: &dyn Host, user: &str, group: Option<&str>) -> Result<UserInfo, String> {
    let mut ids = host
        .user(user)
        .ok_or_else(|| format!("user '{user}' does not exist"))?;
    let group = group.map(|g| g.strip_prefix(':').unwrap_or(g));
    if let Some(g) = group.filter(|g| !g.is_empty()) {
        ids.gid = host
            .group(g)
            .ok_or_else(|| format!("group '{g}' does not exist"))?;
    }
    Ok(ids)
}

/// A verdict plus what the summary needs.
struct Examined {
    verdict: ScriptVerdict,
    /// keepalived's SC_ISSCRIPT: the file was found, so it counts as a
    /// script being executed.
    counts: bool,
    /// Unsafe permissions were found (even if it was then disabled).
    insecure: bool,
}

/// keepalived's check_script_secure for one command running as `ids`.
fn examine(cu: &CommandUse, ids: UserInfo, enabled: bool, host: &dyn Host) -> Examined {
    let mut out = Examined {
        verdict: ScriptVerdict {
            uid: Some(ids.uid),
            gid: Some(ids.gid),
            ..ScriptVerdict::default()
        },
        counts: false,
        insecure: false,
    };
    let name = cu.command.argv.first().map_or("", String::as_str);

    // "</path" only tests that a file can be opened; the shell runs it and
    // keepalived does not treat it as a script.
    if is_file_test(name) {
        return out;
    }

    let candidate = if name.contains('/') {
        PathBuf::from(name)
    } else {
        match search_path(host, name, ids) {
            Ok(p) => p,
            Err(why) => return out.fail(ScriptState::Missing, why),
        }
    };
    let Some(real) = host.realpath(&candidate) else {
        return out.fail(
            ScriptState::Missing,
            format!("'{name}' cannot be accessed (no such file or directory)"),
        );
    };
    let Some(meta) = host.stat(&real) else {
        return out.fail(ScriptState::Missing, format!("'{name}' cannot be accessed"));
    };
    out.verdict.path = Some(real.clone());
    out.counts = true;

    if !is_executable(&meta, ids) {
        return out.fail(
            ScriptState::NotExecutable,
            format!(
                "'{name}' is not executable for uid:gid {}:{}",
                ids.uid, ids.gid
            ),
        );
    }
    if !needs_protection(&meta, ids) {
        return out;
    }
    match path_security(host, &real) {
        PathCheck::Safe => out,
        PathCheck::Missing(p) => out.fail(
            ScriptState::Missing,
            format!("'{}' cannot be accessed", p.display()),
        ),
        PathCheck::WrongType(p) => out.fail(
            ScriptState::Disabled,
            format!(
                "'{}' on the script's path is not a {}",
                p.display(),
                if p == real {
                    "regular file"
                } else {
                    "directory"
                }
            ),
        ),
        PathCheck::Unsafe(p, why) => {
            out.insecure = true;
            let reason = format!(
                "script '{}' runs as root but '{}' {why}",
                real.display(),
                p.display()
            );
            if enabled {
                out.fail(ScriptState::Disabled, reason)
            } else {
                out.verdict.state = ScriptState::Insecure;
                out.verdict.reason = Some(reason);
                out
            }
        }
    }
}

impl Examined {
    fn fail(mut self, state: ScriptState, reason: String) -> Self {
        self.verdict.state = state;
        self.verdict.reason = Some(reason);
        self
    }
}

/// keepalived reports disabled track scripts as config errors; other
/// commands are disabled with a log line only (so `-t` stays quiet).
fn report_disabled(cu: &CommandUse, kind: Kind, v: &ScriptVerdict, diags: &mut Diagnostics) {
    if kind != Kind::TrackScript {
        return;
    }
    let why = v.reason.as_deref().unwrap_or("");
    match v.state {
        ScriptState::Missing => diags.error(
            &cu.loc,
            format!("disabling track script: not found or not accessible ({why})"),
        ),
        ScriptState::Disabled => diags.error(
            &cu.loc,
            format!("disabling track script as insecure: {why}"),
        ),
        // keepalived disables a non-executable track script without a
        // config error.
        ScriptState::Usable
        | ScriptState::Insecure
        | ScriptState::NotExecutable
        | ScriptState::NoUser => {}
    }
}

/// `<` then optional blanks then `/`.
fn is_file_test(name: &str) -> bool {
    name.strip_prefix('<')
        .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with('/'))
}

/// Finds a bare command name in PATH the way execvp does, but accepting
/// only a regular file that `ids` may execute.
fn search_path(host: &dyn Host, name: &str, ids: UserInfo) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("the command is empty".into());
    }
    if name.len() > NAME_MAX {
        return Err(format!("'{name}' is too long a file name"));
    }
    let path = host.path_env();
    let mut denied = false;
    for dir in path.split(':') {
        // An empty PATH element means the current directory.
        let candidate = if dir.is_empty() {
            PathBuf::from(name)
        } else {
            Path::new(dir).join(name)
        };
        if let Some(meta) = host.stat(&candidate) {
            if meta.kind == FileKind::File && is_executable(&meta, ids) {
                return Ok(candidate);
            }
            denied = true;
        }
    }
    Err(if denied {
        format!("'{name}' in PATH ({path}) is not an executable file for its user")
    } else {
        format!("'{name}' is not in PATH ({path}); give the full path")
    })
}

/// Whether `ids` may execute the file (root: any execute bit). Like
/// keepalived, only the primary group is considered.
fn is_executable(m: &FileMeta, ids: UserInfo) -> bool {
    if ids.uid == 0 {
        return m.mode & (S_IXUSR | S_IXGRP | S_IXOTH) != 0;
    }
    if ids.uid == m.uid {
        return m.mode & S_IXUSR != 0;
    }
    if ids.gid == m.gid {
        return m.mode & S_IXGRP != 0;
    }
    m.mode & S_IXOTH != 0
}

/// Whether the script runs with root's powers: as uid or gid 0, or from a
/// setuid-root / setgid-root file.
fn needs_protection(m: &FileMeta, ids: UserInfo) -> bool {
    ids.uid == 0
        || ids.gid == 0
        || (m.uid == 0 && m.mode & S_IXUSR != 0 && m.mode & S_ISUID != 0)
        || (m.gid == 0 && m.mode & S_IXGRP != 0 && m.mode & S_ISGID != 0)
}

/// The outcome of walking a resolved script path.
enum PathCheck {
    Safe,
    Missing(PathBuf),
    WrongType(PathBuf),
    Unsafe(PathBuf, &'static str),
}

/// Checks "/", then each longer prefix of `real`, up to the file itself.
fn path_security(host: &dyn Host, real: &Path) -> PathCheck {
    let mut prefixes: Vec<PathBuf> = real.ancestors().map(Path::to_path_buf).collect();
    prefixes.reverse();
    let last = prefixes.len().saturating_sub(1);
    for (i, p) in prefixes.iter().enumerate() {
        let Some(m) = host.lstat(p) else {
            return PathCheck::Missing(p.clone());
        };
        let type_ok = if i < last {
            m.kind == FileKind::Dir
        } else {
            matches!(m.kind, FileKind::File | FileKind::Symlink)
        };
        if !type_ok {
            return PathCheck::WrongType(p.clone());
        }
        if let Some(why) = unsafe_because(&m) {
            return PathCheck::Unsafe(p.clone(), why);
        }
    }
    PathCheck::Safe
}

/// Why a path component lets someone other than root change the script.
fn unsafe_because(m: &FileMeta) -> Option<&'static str> {
    if m.uid != 0 {
        return Some("is not owned by root");
    }
    // A sticky directory only lets owners rename or delete their entries.
    let guarded = match m.kind {
        FileKind::Dir => m.mode & S_ISVTX == 0,
        FileKind::File => true,
        FileKind::Symlink | FileKind::Other => false,
    };
    if !guarded {
        return None;
    }
    if m.mode & S_IWOTH != 0 {
        return Some("is world-writable");
    }
    if m.gid != 0 && m.mode & S_IWGRP != 0 {
        return Some("is writable by a non-root group");
    }
    None
}
