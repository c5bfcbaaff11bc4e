// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `keepalived-rs status | reload | stop`: the control socket's client.
//!
//!     keepalived-rs status [--detail | --vs ADDR:PORT | --instance NAME] [--json] [--watch[=SECONDS]]
//!                          [--control-socket PATH] [-p FILE] [-s NAME]
//!         a summary by default (counts, and what is down or not in its
//!         configured state, capped); --detail the whole table; --vs and
//!         --instance the whole state of what they name (both may be given)
//!     keepalived-rs reload [...]     HUP and wait: exit 0 when applied, 1 with the diagnostics when refused
//!     keepalived-rs stop [...]       TERM

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::render;
use super::wire::{Answer, Command, Request, StatusAsk, StatusView, VERSION};
use crate::exit;

/// Whether `word` (the first argument) is one of ours.
pub fn command_of(word: &str) -> Option<Command> {
    match word {
        "status" => Some(Command::Status),
        "reload" => Some(Command::Reload),
        "stop" => Some(Command::Stop),
        _ => None,
    }
}

struct Options {
    json: bool,
    ask: StatusAsk,
    watch: Option<Duration>,
    socket: PathBuf,
}

fn usage(e: &str) -> u8 {
    eprintln!("{e}");
    eprintln!(
        "usage: keepalived-rs status [--detail | --vs ADDR:PORT | --instance NAME] [--json] [--watch[=SECONDS]] | reload | stop  [--control-socket PATH] [-p PIDFILE] [-s NAME]"
    );
    exit::FATAL
}

/// `args` is the whole command line (program name, command, options).
pub fn run(cmd: Command, args: &[OsString]) -> u8 {
    let opts = match options(args) {
        Ok(o) => o,
        Err(e) => return usage(&e),
    };
    match cmd {
        Command::Status => loop {
            let code = status_once(&opts);
            let Some(every) = opts.watch else {
                return code;
            };
            std::thread::sleep(every);
        },
        Command::Reload | Command::Stop => match ask(&opts.socket, cmd, StatusAsk::default()) {
            Err(e) => {
                eprintln!("keepalived-rs: {e}");
                exit::FATAL
            }
            Ok(a) if a.ok => {
                match a.result_value() {
                    None => {}
                    Some(Ok(r)) => println!("{}", render::outcome(&r)),
                    Some(Err(e)) => {
                        eprintln!("keepalived-rs: unreadable answer: {e}");
                        return exit::FATAL;
                    }
                }
                exit::OK
            }
            Ok(a) => {
                eprintln!("keepalived-rs: {}", a.error.as_deref().unwrap_or("refused"));
                for d in &a.diagnostics {
                    eprintln!("{d}");
                }
                exit::FATAL
            }
        },
    }
}

fn status_once(opts: &Options) -> u8 {
    match ask(&opts.socket, Command::Status, opts.ask.clone()) {
        Err(e) => {
            eprintln!("keepalived-rs: {e}");
            exit::FATAL
        }
        Ok(a) => match (a.ok, a.result_value()) {
            (true, Some(Err(e))) => {
                eprintln!("keepalived-rs: unreadable answer: {e}");
                exit::FATAL
            }
            (true, Some(Ok(v))) => {
                if opts.json {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                } else {
                    if opts.watch.is_some() {
                        // Clear the screen and home the cursor.
                        print!("\x1b[2J\x1b[H");
                    }
                    if v.get("view").and_then(serde_json::Value::as_str) == Some("summary") {
                        print!("{}", render::summary(&v));
                    } else {
                        print!("{}", render::status(&v));
                    }
                }
                let _ = std::io::stdout().flush();
                exit::OK
            }
            _ => {
                eprintln!(
                    "keepalived-rs: {}",
                    a.error.as_deref().unwrap_or("no answer")
                );
                exit::FATAL
            }
        },
    }
}

fn options(args: &[OsString]) -> Result<Options, String> {
    let mut json = false;
    let mut ask = StatusAsk::of(StatusView::Summary);
    let mut watch = None;
    let mut socket = None;
    // What is left goes to the daemon's own parser, for -p / -s.
    let mut rest: Vec<OsString> = vec![args.first().cloned().unwrap_or_default()];
    let mut it = args
        .iter()
        .skip(2)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--detail" => ask.view = StatusView::Detail,
            "--vs" => ask.vs = Some(it.next().ok_or("--vs needs ADDR:PORT")?),
            w if w.starts_with("--vs=") => ask.vs = Some(w["--vs=".len()..].to_string()),
            "--instance" => ask.instance = Some(it.next().ok_or("--instance needs a name")?),
            w if w.starts_with("--instance=") => {
                ask.instance = Some(w["--instance=".len()..].to_string())
            }
            "--watch" => watch = Some(Duration::from_secs(1)),
            w if w.starts_with("--watch=") => {
                let secs: f64 = w["--watch=".len()..]
                    .parse()
                    .map_err(|_| format!("bad --watch value in '{w}'"))?;
                if !(0.1..=3600.0).contains(&secs) {
                    return Err(format!("--watch takes 0.1 to 3600 seconds, not {secs}"));
                }
                watch = Some(Duration::from_secs_f64(secs));
            }
            "--control-socket" => {
                socket = Some(PathBuf::from(
                    it.next().ok_or("--control-socket needs a path")?,
                ))
            }
            w if w.starts_with("--control-socket=") => {
                socket = Some(PathBuf::from(&w["--control-socket=".len()..]))
            }
            _ => rest.push(a.into()),
        }
    }
    let socket = match socket {
        Some(s) => s,
        None => {
            use clap::Parser;
            let cli = crate::cli::Cli::try_parse_from(crate::cli::normalize_args(rest))
                .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())?;
            super::socket_path(&cli)
        }
    };
    if ask.filtered() {
        ask.view = StatusView::Detail;
    }
    Ok(Options {
        json,
        ask,
        watch,
        socket,
    })
}

fn ask(path: &std::path::Path, cmd: Command, status: StatusAsk) -> Result<Answer, String> {
    let mut conn = UnixStream::connect(path).map_err(|e| {
        format!(
            "cannot reach the daemon at {}: {e} (is keepalived-rs running, and are you root?)",
            path.display()
        )
    })?;
    let deadline = match cmd {
        Command::Reload => Duration::from_secs(35),
        _ => Duration::from_secs(5),
    };
    conn.set_read_timeout(Some(deadline))
        .map_err(|e| e.to_string())?;
    let req = Request {
        version: VERSION,
        cmd,
        ask: status,
    };
    let mut line = serde_json::to_string(&req).map_err(|e| e.to_string())?;
    line.push('\n');
    // A refusal (not root, too many clients) is written before the
    // request is read: still read it when the write fails.
    let sent = conn.write_all(line.as_bytes());
    let mut answer = String::new();
    let read = BufReader::new(conn).read_line(&mut answer);
    match (sent, read) {
        (_, Ok(n)) if n > 0 => {}
        (Err(e), _) => return Err(format!("cannot send the request: {e}")),
        (Ok(()), Err(e)) => return Err(format!("no answer: {e}")),
        (Ok(()), Ok(_)) => return Err("the daemon closed the connection".into()),
    }
    serde_json::from_str::<Answer>(answer.trim_end())
        .map_err(|e| format!("unreadable answer ({e}): {answer}"))
}
