// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Script security, checked against keepalived 2.2.7's observed behaviour
//! (`keepalived -t` exit codes and its log lines).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keepalived_config::host::{FakeHost, Host, SystemHost, UserInfo, find_group, find_passwd};
use keepalived_config::security::{ScriptState, ScriptVerdict, Subsystem, check, subsystem};
use keepalived_config::types::{Command, CommandUse};
use keepalived_config::{Category, Diagnostics, Loc};

// ----- helpers -----

fn cmd(keyword: &str, line: u32, words: &str) -> CommandUse {
    CommandUse {
        command: Command {
            argv: words.split_whitespace().map(str::to_string).collect(),
            user: None,
            group: None,
        },
        keyword: keyword.to_string(),
        loc: Loc::new(Arc::from("t.conf"), line, 5),
    }
}

fn as_user(mut c: CommandUse, user: &str, group: Option<&str>) -> CommandUse {
    c.command.user = Some(user.to_string());
    c.command.group = group.map(str::to_string);
    c
}

fn notify(line: u32, words: &str) -> CommandUse {
    cmd("notify_master", line, words)
}

fn track(line: u32, words: &str) -> CommandUse {
    cmd("script", line, words)
}

fn misc(line: u32, words: &str) -> CommandUse {
    cmd("misc_path", line, words)
}

/// A Debian-like host: root, nobody, users group, /bin -> usr/bin, a few
/// scripts in places of every kind.
fn host() -> FakeHost {
    FakeHost::with_interfaces(&["eth0"])
        .with_user("root", 0, 0)
        .with_user("nobody", 65534, 65534)
        .with_group("root", 0)
        .with_group("users", 100)
        .with_group("nogroup", 65534)
        .with_symlink("/bin", "usr/bin")
        .with_file("/usr/bin/true", 0, 0, 0o755)
        .with_file("/usr/bin/false", 0, 0, 0o755)
        .with_file("/etc/keepalived/ok.sh", 0, 0, 0o755)
        .with_file("/etc/keepalived/noexec.sh", 0, 0, 0o644)
        .with_file("/etc/keepalived/grp0.sh", 0, 0, 0o775)
        .with_file("/etc/keepalived/grpusers.sh", 0, 100, 0o775)
        .with_file("/etc/keepalived/owned.sh", 1000, 0, 0o755)
        .with_file("/etc/keepalived/worldw.sh", 0, 0, 0o757)
        .with_file("/etc/keepalived/suid.sh", 0, 0, 0o4755)
        .with_dir("/tmp", 0, 0, 0o1777)
        .with_file("/tmp/sticky.sh", 0, 0, 0o755)
        .with_dir("/srv/ww", 0, 0, 0o777)
        .with_file("/srv/ww/s.sh", 0, 0, 0o755)
        .with_symlink("/srv/ww/link.sh", "/etc/keepalived/ok.sh")
        .with_symlink("/etc/keepalived/into-ww.sh", "../../srv/ww/s.sh")
        .with_dir("/srv/grpw", 0, 100, 0o775)
        .with_file("/srv/grpw/s.sh", 0, 0, 0o755)
        .with_dir("/srv/grp0w", 0, 0, 0o775)
        .with_file("/srv/grp0w/s.sh", 0, 0, 0o755)
        .with_dir("/home/u", 1000, 1000, 0o755)
        .with_file("/home/u/s.sh", 0, 0, 0o755)
        .with_dir("/etc/keepalived/scripts.d", 0, 0, 0o755)
}

struct Run {
    verdicts: Vec<ScriptVerdict>,
    diags: Diagnostics,
}

impl Run {
    fn exit(&self) -> i32 {
        self.diags.config_test_exit_code()
    }

    fn messages(&self) -> Vec<String> {
        self.diags.iter().map(|d| d.message.clone()).collect()
    }

    fn count(&self, cat: Category) -> usize {
        self.diags.iter().filter(|d| d.category == cat).count()
    }

    fn state(&self, i: usize) -> ScriptState {
        self.verdicts[i].state
    }
}

fn run(
    commands: &[CommandUse],
    enabled: bool,
    user: Option<&str>,
    group: Option<&str>,
    h: &dyn Host,
) -> Run {
    let mut diags = Diagnostics::new();
    let verdicts = check(commands, enabled, user, group, h, &mut diags);
    assert_eq!(verdicts.len(), commands.len());
    Run { verdicts, diags }
}

/// enable_script_security + script_user root, the usual secure setup.
fn secure(commands: &[CommandUse], h: &dyn Host) -> Run {
    run(commands, true, Some("root"), None, h)
}

/// No enable_script_security, no script_user.
fn plain(commands: &[CommandUse], h: &dyn Host) -> Run {
    run(commands, false, None, None, h)
}

// ----- the security violation (exit 6) -----

#[test]
fn scripts_without_script_security_are_a_violation() {
    let r = plain(&[notify(10, "/bin/true")], &host());
    assert_eq!(r.count(Category::Security), 1);
    assert_eq!(
        r.messages(),
        ["SECURITY VIOLATION - scripts are being executed but script_security not enabled."]
    );
    assert_eq!(r.exit(), 6);
    // It still runs, as root, from the resolved file.
    assert_eq!(r.state(0), ScriptState::Usable);
    assert!(r.verdicts[0].runs());
    assert_eq!(
        r.verdicts[0].path.as_deref(),
        Some(Path::new("/usr/bin/true"))
    );
    assert_eq!((r.verdicts[0].uid, r.verdicts[0].gid), (Some(0), Some(0)));
}

#[test]
fn one_violation_for_many_scripts() {
    let r = plain(
        &[
            notify(10, "/bin/true"),
            track(20, "/bin/false"),
            misc(30, "/etc/keepalived/ok.sh arg"),
        ],
        &host(),
    );
    assert_eq!(r.count(Category::Security), 1);
    assert_eq!(r.diags.len(), 1);
}

#[test]
fn violation_mentions_insecure_scripts() {
    let r = plain(&[notify(10, "/srv/ww/s.sh")], &host());
    assert_eq!(r.state(0), ScriptState::Insecure);
    assert!(
        r.verdicts[0].runs(),
        "insecure scripts still run without security"
    );
    assert_eq!(
        r.messages(),
        [
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts."
        ]
    );
    assert_eq!(r.exit(), 6);
}

#[test]
fn script_user_root_alone_does_not_enable_security() {
    let r = run(
        &[notify(10, "/bin/true")],
        false,
        Some("root"),
        None,
        &host(),
    );
    assert_eq!(r.exit(), 6);
}

#[test]
fn no_commands_no_violation() {
    let r = plain(&[], &host());
    assert!(r.diags.is_empty());
    assert!(r.verdicts.is_empty());
}

#[test]
fn security_outranks_warnings_in_the_exit_code() {
    let mut r = plain(&[notify(10, "/bin/true")], &host());
    r.diags
        .warn(&Loc::new(Arc::from("t.conf"), 3, 1), "some warning");
    r.diags
        .error(&Loc::new(Arc::from("t.conf"), 4, 1), "some error");
    assert_eq!(r.exit(), 6);
}

#[test]
fn missing_scripts_do_not_count_as_executed() {
    // keepalived: a notify script that cannot be found is dropped with a
    // log line; with nothing left to run there is no violation (-t: 0).
    let r = plain(&[notify(10, "/nonexistent/x.sh")], &host());
    assert_eq!(r.state(0), ScriptState::Missing);
    assert!(!r.verdicts[0].runs());
    assert!(r.diags.is_empty());
    assert_eq!(r.exit(), 0);
}

#[test]
fn non_executable_scripts_still_count_as_executed() {
    // keepalived -t: 6 for a 0644 notify script without security.
    let r = plain(&[notify(10, "/etc/keepalived/noexec.sh")], &host());
    assert_eq!(r.state(0), ScriptState::NotExecutable);
    assert!(!r.verdicts[0].runs());
    assert_eq!(r.exit(), 6);
}

// ----- with enable_script_security -----

#[test]
fn secure_scripts_are_silent() {
    let r = secure(
        &[
            notify(10, "/bin/true"),
            track(20, "/etc/keepalived/ok.sh"),
            misc(30, "/usr/bin/false x y"),
            notify(40, "/tmp/sticky.sh"),
            notify(50, "/etc/keepalived/grp0.sh"),
            notify(60, "/srv/grp0w/s.sh"),
        ],
        &host(),
    );
    assert!(r.diags.is_empty(), "{:?}", r.messages());
    assert!(r.verdicts.iter().all(|v| v.state == ScriptState::Usable));
    assert_eq!(r.exit(), 0);
}

#[test]
fn insecure_track_script_is_disabled_with_an_error() {
    let r = secure(&[track(20, "/srv/ww/s.sh")], &host());
    assert_eq!(r.state(0), ScriptState::Disabled);
    assert!(!r.verdicts[0].runs());
    assert_eq!(r.count(Category::GeneralError), 1);
    assert_eq!(
        r.diags.iter().next().unwrap().loc.as_ref().unwrap().line,
        20
    );
    assert!(
        r.messages()[0].contains("world-writable"),
        "{:?}",
        r.messages()
    );
    assert_eq!(r.exit(), 5);
}

#[test]
fn insecure_notify_and_misc_scripts_are_disabled_silently() {
    // keepalived only logs these: -t exits 0.
    let r = secure(
        &[notify(10, "/srv/ww/s.sh"), misc(30, "/srv/ww/s.sh")],
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::Disabled);
    assert_eq!(r.state(1), ScriptState::Disabled);
    assert!(r.verdicts[0].reason.is_some());
    assert!(r.diags.is_empty());
}

#[test]
fn each_unsafe_permission_is_insecure() {
    for (script, why) in [
        ("/srv/ww/s.sh", "world-writable"),
        ("/srv/grpw/s.sh", "non-root group"),
        ("/etc/keepalived/grpusers.sh", "non-root group"),
        ("/etc/keepalived/owned.sh", "not owned by root"),
        ("/etc/keepalived/worldw.sh", "world-writable"),
        ("/home/u/s.sh", "not owned by root"),
        ("/etc/keepalived/into-ww.sh", "world-writable"),
    ] {
        let r = secure(&[track(20, script)], &host());
        assert_eq!(r.state(0), ScriptState::Disabled, "{script}");
        let reason = r.verdicts[0].reason.clone().unwrap();
        assert!(reason.contains(why), "{script}: {reason}");
    }
}

#[test]
fn only_the_resolved_path_is_checked() {
    // keepalived 2.2.7 walks the realpath: a symlink sitting in a
    // world-writable directory but pointing at a safe file is accepted.
    let r = secure(&[track(20, "/srv/ww/link.sh")], &host());
    assert_eq!(r.state(0), ScriptState::Usable, "{:?}", r.verdicts[0]);
    assert_eq!(
        r.verdicts[0].path.as_deref(),
        Some(Path::new("/etc/keepalived/ok.sh"))
    );
}

#[test]
fn dot_dot_and_repeated_slashes_resolve() {
    let r = secure(
        &[notify(10, "//etc/keepalived/../keepalived/./ok.sh")],
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::Usable);
    assert_eq!(
        r.verdicts[0].path.as_deref(),
        Some(Path::new("/etc/keepalived/ok.sh"))
    );
}

#[test]
fn a_directory_is_not_a_script_even_without_security() {
    let r = plain(&[track(20, "/etc/keepalived/scripts.d")], &host());
    assert_eq!(r.state(0), ScriptState::Disabled);
    // keepalived: "Disabling track script ... due to insecure" (an error)
    // and the violation, as the file was found.
    assert_eq!(r.count(Category::GeneralError), 1);
    assert_eq!(r.count(Category::Security), 1);
    assert_eq!(r.exit(), 6);
}

#[test]
fn missing_track_script_is_an_error_with_or_without_security() {
    for enabled in [true, false] {
        let r = run(
            &[track(20, "/nonexistent/x.sh")],
            enabled,
            Some("root"),
            None,
            &host(),
        );
        assert_eq!(r.state(0), ScriptState::Missing);
        assert_eq!(r.count(Category::GeneralError), 1);
        assert_eq!(r.count(Category::Security), 0);
        assert_eq!(r.exit(), 5);
    }
}

#[test]
fn missing_notify_and_misc_scripts_are_silent() {
    let r = secure(
        &[
            notify(10, "/nonexistent/x.sh"),
            misc(30, "/etc/keepalived/nope.sh"),
        ],
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::Missing);
    assert_eq!(r.state(1), ScriptState::Missing);
    assert!(r.diags.is_empty());
}

#[test]
fn a_file_where_a_directory_should_be_is_missing() {
    let r = secure(&[notify(10, "/usr/bin/true/x")], &host());
    assert_eq!(r.state(0), ScriptState::Missing);
}

#[test]
fn non_executable_is_disabled_silently_even_for_track_scripts() {
    let r = secure(
        &[
            track(20, "/etc/keepalived/noexec.sh"),
            misc(30, "/etc/keepalived/noexec.sh"),
        ],
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::NotExecutable);
    assert_eq!(r.state(1), ScriptState::NotExecutable);
    assert!(r.verdicts[0].reason.as_deref().unwrap().contains("0:0"));
    assert!(r.diags.is_empty());
}

#[test]
fn file_test_is_not_a_script() {
    // "</dev/tcp/..." style commands only test that a file opens.
    // A quoted "< /dev/null" keeps its blank inside the first word.
    let mut spaced = track(20, "x");
    spaced.command.argv = vec!["< /dev/null".to_string()];
    let r = plain(&[spaced, notify(10, "</etc/hostname")], &host());
    assert!(r.verdicts.iter().all(|v| v.state == ScriptState::Usable));
    assert!(r.verdicts.iter().all(|v| v.path.is_none()));
    assert!(r.diags.is_empty());
}

// ----- PATH search -----

#[test]
fn bare_names_are_found_in_path() {
    let r = secure(&[track(20, "true")], &host());
    assert_eq!(r.state(0), ScriptState::Usable);
    // /bin comes first in the default PATH; realpath follows /bin.
    assert_eq!(
        r.verdicts[0].path.as_deref(),
        Some(Path::new("/usr/bin/true"))
    );
    assert!(r.diags.is_empty());
}

#[test]
fn path_search_uses_the_hosts_path_and_skips_non_executables() {
    let h = host()
        .with_dir("/opt/a", 0, 0, 0o755)
        .with_file("/opt/a/tool", 0, 0, 0o644)
        .with_dir("/opt/a/dirtool", 0, 0, 0o755)
        .with_file("/opt/b/tool", 0, 0, 0o755)
        .with_file("/opt/b/dirtool", 0, 0, 0o755)
        .with_path("/nowhere::/opt/a:/opt/b");
    let r = secure(&[track(20, "tool -x"), track(21, "dirtool")], &h);
    assert_eq!(
        r.verdicts[0].path.as_deref(),
        Some(Path::new("/opt/b/tool"))
    );
    assert_eq!(
        r.verdicts[1].path.as_deref(),
        Some(Path::new("/opt/b/dirtool"))
    );
}

#[test]
fn bare_name_not_in_path() {
    let h = host().with_path("/nowhere");
    let r = secure(&[track(20, "true"), notify(10, "true")], &h);
    assert_eq!(r.state(0), ScriptState::Missing);
    assert_eq!(r.state(1), ScriptState::Missing);
    // Only the track script is reported (keepalived -t: 5).
    assert_eq!(r.count(Category::GeneralError), 1);
    assert!(r.messages()[0].contains("PATH"), "{:?}", r.messages());
}

#[test]
fn bare_name_found_only_non_executable_says_so() {
    let h = host()
        .with_file("/usr/bin/tool", 0, 0, 0o644)
        .with_path("/usr/bin");
    let r = secure(&[track(20, "tool")], &h);
    assert_eq!(r.state(0), ScriptState::Missing);
    assert!(
        r.verdicts[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("not an executable")
    );
}

// ----- which user -----

#[test]
fn default_user_is_keepalived_script_when_it_exists() {
    let h = host().with_user("keepalived_script", 990, 990);
    let r = run(&[notify(10, "/srv/ww/s.sh")], true, None, None, &h);
    // Not root: no path protection needed, so the world-writable
    // directory does not matter.
    assert_eq!(r.state(0), ScriptState::Usable);
    assert_eq!(
        (r.verdicts[0].uid, r.verdicts[0].gid),
        (Some(990), Some(990))
    );
    assert!(r.diags.is_empty());
}

#[test]
fn script_user_beats_keepalived_script_and_command_user_beats_both() {
    let h = host().with_user("keepalived_script", 990, 990);
    let r = run(
        &[
            notify(10, "/bin/true"),
            as_user(notify(11, "/bin/true"), "nobody", None),
            as_user(notify(12, "/bin/true"), "nobody", Some("users")),
        ],
        true,
        Some("root"),
        Some("users"),
        &h,
    );
    let ids: Vec<_> = r.verdicts.iter().map(|v| (v.uid, v.gid)).collect();
    assert_eq!(
        ids,
        [
            (Some(0), Some(100)),
            (Some(65534), Some(65534)),
            (Some(65534), Some(100))
        ]
    );
}

#[test]
fn without_any_user_scripts_run_as_ourselves() {
    let h = FakeHost {
        ids: UserInfo { uid: 0, gid: 0 },
        ..host()
    };
    let r = plain(&[notify(10, "/bin/true")], &h);
    assert_eq!((r.verdicts[0].uid, r.verdicts[0].gid), (Some(0), Some(0)));
}

#[test]
fn security_without_any_default_user_removes_default_scripts() {
    // keepalived: "Unable to set default user keepalived_script for script"
    // once, at the first command needing it (-t: 5); those commands are
    // dropped, one with its own user still runs, and nothing is a
    // violation since security is on.
    let r = run(
        &[
            notify(10, "/bin/true"),
            notify(11, "/bin/true"),
            as_user(notify(12, "/bin/true"), "root", None),
        ],
        true,
        None,
        None,
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::NoUser);
    assert_eq!(r.state(1), ScriptState::NoUser);
    assert_eq!(r.state(2), ScriptState::Usable);
    assert_eq!(r.count(Category::GeneralError), 1);
    let d = r.diags.iter().next().unwrap();
    assert_eq!(d.loc.as_ref().unwrap().line, 10);
    assert!(d.message.contains("keepalived_script"));
    assert_eq!(r.exit(), 5);
}

#[test]
fn security_without_default_user_also_reports_removed_track_and_misc_scripts() {
    // keepalived adds "Unable to set default user for vrrp script chk -
    // removing" / "... for misc script ... - removing".
    let r = run(
        &[track(20, "/bin/true"), misc(30, "/bin/true")],
        true,
        None,
        None,
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::NoUser);
    assert_eq!(r.state(1), ScriptState::NoUser);
    assert_eq!(r.count(Category::GeneralError), 3);
    assert_eq!(r.exit(), 5);
}

#[test]
fn unknown_script_user_is_an_error_and_removes_default_scripts() {
    for (user, group) in [("nosuchuser", None), ("root", Some("nosuchgroup"))] {
        let r = run(
            &[notify(10, "/bin/true")],
            false,
            Some(user),
            group,
            &host(),
        );
        assert_eq!(r.state(0), ScriptState::NoUser);
        assert_eq!(r.verdicts[0].uid, None);
        // No script left, so no violation: keepalived -t exits 5.
        assert_eq!(r.count(Category::GeneralError), 1);
        assert_eq!(r.count(Category::Security), 0);
        assert_eq!(r.exit(), 5);
    }
}

#[test]
fn unknown_script_user_is_reported_even_without_scripts() {
    let r = run(&[], false, Some("nosuchuser"), None, &host());
    assert_eq!(r.exit(), 5);
    assert!(r.messages()[0].contains("nosuchuser"));
}

#[test]
fn unknown_command_user_is_silent_for_notify_scripts() {
    // keepalived -t exits 0: the notify command is dropped with a log line
    // and nothing else runs.
    let r = plain(
        &[
            as_user(notify(10, "/bin/true"), "nosuchuser", None),
            as_user(notify(11, "/bin/true"), "root", Some("nosuchgroup")),
        ],
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::NoUser);
    assert_eq!(r.state(1), ScriptState::NoUser);
    assert!(r.diags.is_empty());
    assert_eq!(r.exit(), 0);
}

#[test]
fn unknown_command_user_is_an_error_for_track_and_misc_scripts() {
    let r = plain(
        &[
            as_user(track(20, "/bin/true"), "nosuch", None),
            as_user(misc(30, "/bin/true"), "nosuch", None),
        ],
        &host(),
    );
    assert_eq!(r.count(Category::GeneralError), 2);
    let lines: Vec<u32> = r
        .diags
        .iter()
        .map(|d| d.loc.as_ref().unwrap().line)
        .collect();
    assert_eq!(lines, [20, 30]);
    assert_eq!(r.exit(), 5);
}

#[test]
fn colon_group_means_supplementary_groups() {
    let r = secure(
        &[
            as_user(notify(10, "/bin/true"), "nobody", Some(":")),
            as_user(notify(11, "/bin/true"), "nobody", Some(":users")),
        ],
        &host(),
    );
    assert_eq!(r.verdicts[0].gid, Some(65534));
    assert_eq!(r.verdicts[1].gid, Some(100));
}

#[test]
fn non_root_scripts_skip_path_checks_but_not_executability() {
    let h = host()
        .with_file("/srv/ww/mine.sh", 65534, 65534, 0o700)
        .with_file("/srv/ww/theirs.sh", 1000, 1000, 0o700)
        .with_file("/srv/ww/grp.sh", 1000, 65534, 0o750);
    let r = secure(
        &[
            as_user(notify(10, "/srv/ww/mine.sh"), "nobody", None),
            as_user(notify(11, "/srv/ww/theirs.sh"), "nobody", None),
            as_user(notify(12, "/srv/ww/grp.sh"), "nobody", None),
        ],
        &h,
    );
    assert_eq!(r.state(0), ScriptState::Usable);
    assert_eq!(r.state(1), ScriptState::NotExecutable);
    assert_eq!(r.state(2), ScriptState::Usable);
}

#[test]
fn setuid_root_file_needs_protection_even_for_other_users() {
    let h = host()
        .with_file("/srv/ww/suid.sh", 0, 0, 0o4755)
        .with_file("/srv/ww/sgid.sh", 0, 0, 0o2755)
        .with_file("/srv/ww/plain.sh", 0, 0, 0o755);
    let r = secure(
        &[
            as_user(notify(10, "/srv/ww/suid.sh"), "nobody", None),
            as_user(notify(11, "/srv/ww/sgid.sh"), "nobody", None),
            as_user(notify(12, "/srv/ww/plain.sh"), "nobody", None),
            as_user(notify(13, "/etc/keepalived/suid.sh"), "nobody", None),
        ],
        &h,
    );
    assert_eq!(r.state(0), ScriptState::Disabled);
    assert_eq!(r.state(1), ScriptState::Disabled);
    assert_eq!(r.state(2), ScriptState::Usable);
    assert_eq!(r.state(3), ScriptState::Usable);
}

#[test]
fn root_group_alone_needs_protection() {
    let r = secure(
        &[as_user(notify(10, "/srv/ww/s.sh"), "nobody", Some("root"))],
        &host(),
    );
    assert_eq!(r.state(0), ScriptState::Disabled);
}

// ----- misc -----

#[test]
fn subsystems() {
    assert_eq!(subsystem("script"), Subsystem::Vrrp);
    assert_eq!(subsystem("notify_master"), Subsystem::Vrrp);
    assert_eq!(subsystem("misc_path"), Subsystem::Checker);
    assert_eq!(subsystem("notify_up"), Subsystem::Checker);
    assert_eq!(subsystem("notify_fifo_script"), Subsystem::Both);
}

#[test]
fn verdicts_serialize() {
    let r = plain(&[notify(10, "/srv/ww/s.sh")], &host());
    let json = serde_json::to_string(&r.verdicts[0]).unwrap();
    assert!(json.contains("\"state\":\"insecure\""), "{json}");
    let back: ScriptVerdict = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r.verdicts[0]);
}

#[test]
fn fake_host_symlink_loops_end() {
    let h = host()
        .with_symlink("/loop/a", "b")
        .with_symlink("/loop/b", "a");
    assert_eq!(h.realpath(Path::new("/loop/a")), None);
    assert_eq!(h.lstat(Path::new("/loop/a")).map(|m| m.uid), Some(0));
    assert_eq!(h.realpath(Path::new("relative")), None);
    assert_eq!(h.realpath(Path::new("/")), Some(PathBuf::from("/")));
    assert_eq!(h.realpath(Path::new("/..")), Some(PathBuf::from("/")));
}

#[test]
fn passwd_and_group_parsing() {
    let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                  broken:x:abc:0::/:/bin/sh\n\
                  keepalived_script:x:990:985::/nonexistent:/usr/sbin/nologin\n";
    assert_eq!(
        find_passwd(passwd, "keepalived_script"),
        Some(UserInfo { uid: 990, gid: 985 })
    );
    assert_eq!(
        find_passwd(passwd, "root"),
        Some(UserInfo { uid: 0, gid: 0 })
    );
    assert_eq!(find_passwd(passwd, "broken"), None);
    assert_eq!(find_passwd(passwd, "keepalived"), None);
    assert_eq!(find_passwd("", "root"), None);
    let group = "root:x:0:\nusers:x:100:alice,bob\nshort:x\n";
    assert_eq!(find_group(group, "users"), Some(100));
    assert_eq!(find_group(group, "short"), None);
    assert_eq!(find_group(group, "nope"), None);
}

// ----- the real host -----

#[cfg(unix)]
mod system {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn chmod(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn script(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        chmod(&p, 0o755);
        p
    }

    fn is_root() -> bool {
        SystemHost.current_ids().uid == 0
    }

    #[test]
    fn current_ids_match_a_new_files_owner() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(dir.path(), "x");
        assert_eq!(SystemHost.current_ids().uid, fs::metadata(p).unwrap().uid());
    }

    #[test]
    fn world_writable_dir_makes_a_root_script_insecure() {
        let dir = tempfile::tempdir().unwrap();
        let ww = dir.path().join("ww");
        fs::create_dir(&ww).unwrap();
        chmod(&ww, 0o777);
        let s = script(&ww, "s.sh");
        let c = notify(10, s.to_str().unwrap());
        let r = secure(std::slice::from_ref(&c), &SystemHost);
        assert_eq!(r.state(0), ScriptState::Disabled, "{:?}", r.verdicts[0]);
        let r = plain(&[c], &SystemHost);
        assert_eq!(r.state(0), ScriptState::Insecure);
        assert_eq!(r.exit(), 6);
    }

    #[test]
    fn sticky_world_writable_dir_is_fine_for_root() {
        // Needs root-owned directories all the way down: run as root with
        // the usual root-owned sticky /tmp.
        let tmp_ok = SystemHost
            .lstat(Path::new("/tmp"))
            .is_some_and(|m| m.uid == 0 && m.mode & 0o1000 != 0);
        if !is_root() || !tmp_ok {
            return;
        }
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let st = dir.path().join("sticky");
        fs::create_dir(&st).unwrap();
        chmod(&st, 0o1777);
        let s = script(&st, "s.sh");
        let r = secure(&[track(20, s.to_str().unwrap())], &SystemHost);
        assert_eq!(r.state(0), ScriptState::Usable, "{:?}", r.verdicts[0]);
        // Without the sticky bit the same directory is unsafe.
        chmod(&st, 0o777);
        let r = secure(&[track(20, s.to_str().unwrap())], &SystemHost);
        assert_eq!(r.state(0), ScriptState::Disabled, "{:?}", r.verdicts[0]);
        assert_eq!(r.exit(), 5);
    }

    #[test]
    fn missing_and_non_executable_files() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(dir.path(), "noexec.sh");
        chmod(&s, 0o644);
        let r = secure(
            &[
                notify(10, s.to_str().unwrap()),
                notify(11, dir.path().join("absent").to_str().unwrap()),
            ],
            &SystemHost,
        );
        assert_eq!(r.state(0), ScriptState::NotExecutable);
        assert_eq!(r.state(1), ScriptState::Missing);
    }

    #[test]
    fn symlink_is_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(dir.path(), "real.sh");
        let l = dir.path().join("link.sh");
        std::os::unix::fs::symlink(&s, &l).unwrap();
        let r = plain(&[notify(10, l.to_str().unwrap())], &SystemHost);
        assert_eq!(
            r.verdicts[0].path.as_deref(),
            Some(fs::canonicalize(&s).unwrap().as_path())
        );
    }

    #[test]
    fn bin_true_is_a_secure_root_script() {
        if SystemHost.user("root").is_none() || !Path::new("/bin/true").exists() {
            return;
        }
        let r = secure(&[track(20, "/bin/true"), track(21, "true")], &SystemHost);
        for v in &r.verdicts {
            assert_eq!(v.state, ScriptState::Usable, "{v:?}");
            assert_eq!((v.uid, v.gid), (Some(0), Some(0)));
            assert!(v.path.as_ref().unwrap().ends_with("true"));
        }
        assert!(r.diags.is_empty());
    }

    #[test]
    fn root_exists_in_etc_passwd() {
        if Path::new("/etc/passwd").exists() {
            assert_eq!(SystemHost.user("root").map(|u| u.uid), Some(0));
            assert_eq!(SystemHost.group("root"), Some(0));
        }
        assert_eq!(SystemHost.user("no-such-user-here-hopefully"), None);
    }
}
