// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_script`, `vrrp_track_process`, `track_file`, `track_group`
//! (inventory §A.5), and the `NAME [weight W] [reverse|noreverse]` entries
//! instances and sync groups use to refer to them.

use serde::{Deserialize, Serialize};

use crate::diag::Category;
use crate::model::addr::At;
use crate::reader::{Reader, Table};
use crate::syntax::Node;
use crate::types::{Command, Timer};

/// The name after a root block keyword (`vrrp_script NAME { ... }`).
pub(crate) fn block_name(node: &Node<'_>, r: &mut Reader<'_>) -> Option<String> {
    match node.args.first() {
        Some(t) => Some(t.text.to_string()),
        None => {
            r.diags.report(
                Category::MissingParameter,
                Some(node.loc().clone()),
                format!("'{}' must have a name; block ignored", node.name()),
            );
            None
        }
    }
}

/// `weight W [reverse|noreverse]` after a keyword (args from `first`).
/// Returns (weight, reverse) or None if the weight was bad.
fn weight_args(
    node: &Node<'_>,
    first: usize,
    lo: i32,
    hi: i32,
    r: &mut Reader<'_>,
) -> Option<(i32, bool)> {
    let t = node.args.get(first)?;
    let w = r.int_tok(t, lo, hi)?;
    let mut reverse = false;
    for extra in node.args.iter().skip(first + 1) {
        match extra.text {
            "reverse" => reverse = true,
            "noreverse" => reverse = false,
            other => r.warn(
                &extra.loc,
                format!("unknown weight option '{other}': expected reverse or noreverse"),
            ),
        }
    }
    Some((w, reverse))
}

// ------------------------------------------------------------- references

/// An entry of `track_script`, `track_interface`, `track_file`,
/// `track_process`, `track_bfd` lists: `NAME [weight W] [reverse|noreverse]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackRef {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    /// None = the tracked object's own weight (0 for interfaces).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub reverse: bool,
    #[serde(skip)]
    pub at: At,
}

/// Reads a list of references; `lo..=hi` is the weight range keepalived
/// accepts for this kind of object.
pub fn read_track_refs(node: &Node<'_>, lo: i32, hi: i32, r: &mut Reader<'_>) -> Vec<TrackRef> {
    let mut out: Vec<TrackRef> = Vec::new();
    for e in r.block(node) {
        r.no_block(e);
        let mut t = TrackRef {
            name: e.name().to_string(),
            weight: None,
            reverse: false,
            at: At::of(e.loc()),
        };
        let mut i = 0;
        while i < e.args.len() {
            let a = &e.args[i];
            match a.text {
                "weight" => {
                    match e.args.get(i + 1) {
                        Some(v) => t.weight = r.int_tok(v, lo, hi),
                        None => {
                            r.diags.report(
                                Category::MissingParameter,
                                Some(a.loc.clone()),
                                format!("'weight' for {} is missing its value", t.name),
                            );
                        }
                    }
                    i += 2;
                    continue;
                }
                "reverse" => t.reverse = true,
                "noreverse" => t.reverse = false,
                other => r.warn(
                    &a.loc,
                    format!(
                        "unknown option '{other}' for tracked {}: expected weight W, reverse or noreverse",
                        t.name
                    ),
                ),
            }
            i += 1;
        }
        if out.iter().any(|o| o.name == t.name) {
            r.warn(
                e.loc(),
                format!("{} is already tracked here; ignored", t.name),
            );
            continue;
        }
        out.push(t);
    }
    out
}

// ------------------------------------------------------------ vrrp_script

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpScript {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    /// Required; a script without one is dropped with a warning.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub script: Option<Command>,
    /// Seconds between runs.
    #[serde(skip_serializing_if = "vrrp_script_interval_is_default")]
    pub interval: u32,
    /// Seconds a run may take; None = `interval`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub timeout: Option<u32>,
    /// 0 = a failure puts the instances in FAULT.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight_reverse: bool,
    #[serde(skip_serializing_if = "vrrp_script_rise_is_default")]
    pub rise: u32,
    #[serde(skip_serializing_if = "vrrp_script_fall_is_default")]
    pub fall: u32,
    /// `user USER [GROUP]`; None = `script_user`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub init_fail: bool,
    #[serde(skip)]
    pub at: At,
}

impl Default for VrrpScript {
    fn default() -> Self {
        Self {
            name: String::new(),
            script: None,
            interval: 1,
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            group: None,
            init_fail: false,
            at: At::default(),
        }
    }
}

struct_defaults!(VrrpScript {
    interval: u32 => vrrp_script_interval_is_default,
    rise: u32 => vrrp_script_rise_is_default,
    fall: u32 => vrrp_script_fall_is_default,
});

/// A positive count where keepalived turns 0 into 1 with a warning.
fn at_least_one(n: &Node<'_>, r: &mut Reader<'_>, what: &str) -> Option<u32> {
    let v = r.int(n, 0u32, u32::MAX)?;
    if v == 0 {
        r.warn(n.loc(), format!("{what} must be greater than 0; using 1"));
        return Some(1);
    }
    Some(v)
}

const VRRP_SCRIPT: &Table<VrrpScript> = &[
    ("script", |s, n, r| {
        if let Some(c) = r.command(n) {
            s.script = Some(c);
        }
    }),
    ("interval", |s, n, r| {
        if let Some(v) = at_least_one(n, r, "vrrp_script interval") {
            s.interval = v;
        }
    }),
    ("timeout", |s, n, r| {
        if let Some(v) = at_least_one(n, r, "vrrp_script timeout") {
            s.timeout = Some(v);
        }
    }),
    ("weight", |s, n, r| {
        r.no_block(n);
        if r.arg(n, 0).is_some()
            && let Some((w, rev)) = weight_args(n, 0, -253, 253, r)
        {
            s.weight = w;
            s.weight_reverse = rev;
        }
    }),
    ("rise", |s, n, r| {
        if let Some(v) = at_least_one(n, r, "vrrp_script rise") {
            s.rise = v;
        }
    }),
    ("fall", |s, n, r| {
        if let Some(v) = at_least_one(n, r, "vrrp_script fall") {
            s.fall = v;
        }
    }),
    ("user", |s, n, r| {
        r.no_block(n);
        if let Some(u) = r.arg(n, 0) {
            s.user = Some(u.text.to_string());
            s.group = n.args.get(1).map(|g| g.text.to_string());
        }
    }),
    ("init_fail", |s, n, r| s.init_fail = r.flag(n)),
];

pub fn read_vrrp_script(node: &Node<'_>, r: &mut Reader<'_>) -> Option<VrrpScript> {
    let name = block_name(node, r)?;
    let mut s = VrrpScript {
        name,
        at: At::of(node.loc()),
        ..VrrpScript::default()
    };
    let items = r.block(node);
    r.read_block(&mut s, items, VRRP_SCRIPT);
    if s.script.is_none() {
        r.warn(
            node.loc(),
            format!("vrrp_script {} has no 'script'; it is removed", s.name),
        );
        return None;
    }
    Some(s)
}

// ----------------------------------------------------- vrrp_track_process

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// The configured parameters must match the whole command line.
    #[default]
    Full,
    /// ... or its beginning.
    Initial,
    /// ... or any part of it.
    Partial,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackProcess {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    /// The process name and, optionally, the parameters to match.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub process: Vec<String>,
    #[serde(skip_serializing_if = "track_process_param_match_is_default")]
    pub param_match: ParamMatch,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight_reverse: bool,
    #[serde(skip_serializing_if = "track_process_quorum_is_default")]
    pub quorum: u32,
    /// None = no upper limit.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub quorum_max: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub delay: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub terminate_delay: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub fork_delay: Option<Timer>,
    /// Match the full command path (cmdline) rather than the comm name.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub full_command: bool,
    #[serde(skip)]
    pub at: At,
}

impl Default for TrackProcess {
    fn default() -> Self {
        Self {
            name: String::new(),
            process: Vec::new(),
            param_match: ParamMatch::Full,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            terminate_delay: None,
            fork_delay: None,
            full_command: false,
            at: At::default(),
        }
    }
}

struct_defaults!(TrackProcess {
    param_match: ParamMatch => track_process_param_match_is_default,
    quorum: u32 => track_process_quorum_is_default,
});

const DELAY_MIN: Timer = Timer::from_micros(1);
const DELAY_MAX: Timer = Timer::from_secs(3600);

const TRACK_PROCESS: &Table<TrackProcess> = &[
    ("process", |p, n, r| {
        r.no_block(n);
        if r.arg(n, 0).is_some() {
            p.process = n.arg_strs().map(str::to_string).collect();
        }
    }),
    ("param_match", |p, n, r| {
        r.no_block(n);
        if let Some(t) = r.arg(n, 0) {
            match r.choice_tok(t, &["initial", "partial"]) {
                Some("initial") => p.param_match = ParamMatch::Initial,
                Some(_) => p.param_match = ParamMatch::Partial,
                None => {}
            }
        }
    }),
    ("weight", |p, n, r| {
        r.no_block(n);
        if r.arg(n, 0).is_some()
            && let Some((w, rev)) = weight_args(n, 0, -254, 254, r)
        {
            p.weight = w;
            p.weight_reverse = rev;
        }
    }),
    ("quorum", |p, n, r| {
        if let Some(v) = r.int(n, 1u32, 65535) {
            p.quorum = v;
        }
    }),
    ("quorum_max", |p, n, r| {
        if let Some(v) = r.int(n, 0u32, 65535) {
            p.quorum_max = Some(v);
        }
    }),
    ("delay", |p, n, r| {
        if let Some(v) = r.timer(n, DELAY_MIN, DELAY_MAX) {
            p.delay = Some(v);
        }
    }),
    ("terminate_delay", |p, n, r| {
        if let Some(v) = r.timer(n, DELAY_MIN, DELAY_MAX) {
            p.terminate_delay = Some(v);
        }
    }),
    ("fork_delay", |p, n, r| {
        if let Some(v) = r.timer(n, DELAY_MIN, DELAY_MAX) {
            p.fork_delay = Some(v);
        }
    }),
    ("full_command", |p, n, r| p.full_command = r.flag(n)),
];

pub fn read_track_process(node: &Node<'_>, r: &mut Reader<'_>) -> Option<TrackProcess> {
    let name = block_name(node, r)?;
    let mut p = TrackProcess {
        name,
        at: At::of(node.loc()),
        ..TrackProcess::default()
    };
    let items = r.block(node);
    r.read_block(&mut p, items, TRACK_PROCESS);
    if p.process.is_empty() {
        r.warn(
            node.loc(),
            format!(
                "vrrp_track_process {} has no 'process'; it is removed",
                p.name
            ),
        );
        return None;
    }
    if let Some(max) = p.quorum_max
        && max < p.quorum
    {
        r.warn(
            node.loc(),
            format!("vrrp_track_process {}: quorum_max {max} is less than quorum {}; quorum_max ignored", p.name, p.quorum),
        );
        p.quorum_max = None;
    }
    Some(p)
}

// ------------------------------------------------------------- track_file

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackFile {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "track_file_weight_is_default")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE (0).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub init_file: Option<i64>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub init_file_overwrite: bool,
    #[serde(skip)]
    pub at: At,
}

impl Default for TrackFile {
    fn default() -> Self {
        Self {
            name: String::new(),
            file: None,
            weight: 1,
            weight_reverse: false,
            init_file: None,
            init_file_overwrite: false,
            at: At::default(),
        }
    }
}

struct_defaults!(TrackFile {
    weight: i32 => track_file_weight_is_default,
});

const TRACK_FILE: &Table<TrackFile> = &[
    ("file", |f, n, r| f.file = r.string(n)),
    ("weight", |f, n, r| {
        r.no_block(n);
        if r.arg(n, 0).is_some()
            && let Some((w, rev)) = weight_args(n, 0, i32::MIN, i32::MAX, r)
        {
            f.weight = w;
            f.weight_reverse = rev;
        }
    }),
    ("init_file", |f, n, r| {
        r.no_block(n);
        f.init_file = Some(0);
        for a in &n.args {
            if a.text == "overwrite" {
                f.init_file_overwrite = true;
            } else if let Some(v) = r.int_tok(a, i64::from(i32::MIN), i64::from(i32::MAX)) {
                f.init_file = Some(v);
            }
        }
    }),
];

pub fn read_track_file(node: &Node<'_>, r: &mut Reader<'_>) -> Option<TrackFile> {
    let name = block_name(node, r)?;
    let mut f = TrackFile {
        name,
        at: At::of(node.loc()),
        ..TrackFile::default()
    };
    let items = r.block(node);
    r.read_block(&mut f, items, TRACK_FILE);
    if f.file.is_none() {
        r.warn(
            node.loc(),
            format!("track_file {} has no 'file'; it is removed", f.name),
        );
        return None;
    }
    Some(f)
}

// ------------------------------------------------------------ track_group

/// `track_group NAME { group { VI ... } }`: the instances whose state
/// static addresses, routes and rules follow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackGroup {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub group: Vec<String>,
    #[serde(skip)]
    pub at: At,
}

const TRACK_GROUP: &Table<TrackGroup> = &[("group", |g, n, r| {
    for e in r.block(n) {
        r.no_block(e);
        g.group.push(e.name().to_string());
        g.group.extend(e.arg_strs().map(str::to_string));
    }
    if g.group.is_empty() {
        r.warn(
            n.loc(),
            format!("track group {} has an empty group block", g.name),
        );
    }
})];

pub fn read_track_group(node: &Node<'_>, r: &mut Reader<'_>) -> Option<TrackGroup> {
    let name = block_name(node, r)?;
    let mut g = TrackGroup {
        name,
        group: Vec::new(),
        at: At::of(node.loc()),
    };
    let items = r.block(node);
    r.read_block(&mut g, items, TRACK_GROUP);
    Some(g)
}
