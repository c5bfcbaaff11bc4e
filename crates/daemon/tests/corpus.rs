// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Real keepalived 2.2.7 and keepalived-rs test every configuration of
//! integration/configs/ in the same network namespace; their `-t` exit
//! codes must agree, except for the deliberate differences listed (with
//! their reasons) in integration/configs/known-differences.tsv and
//! docs/compatibility.md.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::{Netns, binary, repo_root};

fn corpus(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["valid", "invalid"] {
        let dir = root.join("integration/configs").join(sub);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "conf") && p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// path -> (keepalived's code, ours) for the differences we chose.
fn known_differences(root: &Path) -> BTreeMap<String, (i32, i32)> {
    let path = root.join("integration/configs/known-differences.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let p = f.next()?.to_string();
            let k = f.next()?.trim().parse().ok()?;
            let o = f.next()?.trim().parse().ok()?;
            Some((p, (k, o)))
        })
        .collect()
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn config_test_exit_codes_match_keepalived() {
    let root = repo_root();
    let files = corpus(&root);
    assert!(
        files.len() >= 55,
        "the corpus has only {} configs",
        files.len()
    );
    let known = known_differences(&root);
    let ns = Netns::up("corpus");
    let keepalived = PathBuf::from("/usr/sbin/keepalived");
    assert!(
        keepalived.exists(),
        "real keepalived is not installed (integration/install-deps installs it)"
    );

    let mut mismatches = Vec::new();
    let mut by_code: BTreeMap<i32, usize> = BTreeMap::new();
    for f in &files {
        let rel = f
            .strip_prefix(root.join("integration/configs"))
            .unwrap_or(f)
            .display()
            .to_string();
        let dir = f.parent().unwrap_or(Path::new("/"));
        let fstr = f.to_string_lossy();
        let args = ["-t", "-i", "lb1", "-f", &fstr];
        let theirs = ns.run(dir, &keepalived, &args);
        let ours = ns.run(dir, &binary(), &args);
        let (k, o) = (code(&theirs), code(&ours));
        *by_code.entry(k).or_default() += 1;
        let expected_ours = known
            .get(&rel)
            .filter(|(kk, _)| *kk == k)
            .map_or(k, |(_, oo)| *oo);
        if o != expected_ours {
            mismatches.push(format!(
                "{rel}: keepalived {k}, keepalived-rs {o} (expected {expected_ours})\n  keepalived said: {}\n  we said: {}",
                String::from_utf8_lossy(&theirs.stderr).lines().take(4).collect::<Vec<_>>().join(" | "),
                String::from_utf8_lossy(&ours.stderr).lines().take(4).collect::<Vec<_>>().join(" | "),
            ));
        }
        if rel.starts_with("valid/") {
            assert_eq!(k, 0, "{rel} is in valid/ but keepalived -t exits {k}");
        }
    }
    println!(
        "corpus: {} configs, keepalived exit codes {by_code:?}",
        files.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} configs disagree:\n{}",
        mismatches.len(),
        files.len(),
        mismatches.join("\n")
    );
    // The invalid corpus must exercise every verdict.
    for c in [4, 5, 6] {
        assert!(
            by_code.get(&c).copied().unwrap_or(0) >= 2,
            "fewer than two configs where keepalived exits {c}"
        );
    }
}
