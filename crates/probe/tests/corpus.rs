// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Every checker of every configuration in the repository's corpora
//! resolves into a spec or says why it cannot run; nothing panics, and
//! the kinds this crate implements always resolve unless the reason names
//! the configuration's own problem (a file, a regex).

mod common;

use std::path::{Path, PathBuf};

use keepalived_config::model::checker::Checker;
use keepalived_probe::Spec;

fn confs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            confs(&p, out);
        } else if p.extension().is_some_and(|x| x == "conf") {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_checker_resolves_or_says_why() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("keepalived.conf.example")];
    confs(&root.join("integration/configs"), &mut files);
    confs(&root.join("integration/lvs-corpus"), &mut files);
    let (mut resolved, mut refused) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let (config, _) = common::config_from(&text);
        for vs in &config.virtual_servers {
            for rs in &vs.real_servers {
                for c in &rs.checkers {
                    match Spec::from_config(&config, vs, rs, c) {
                        Ok(spec) => {
                            resolved += 1;
                            // Identity is total and stable.
                            assert_eq!(spec.key(), spec.clone().key());
                        }
                        Err(why) => {
                            refused += 1;
                            eprintln!(
                                "  {}: {}: {why}",
                                f.file_name()
                                    .map(|n| n.to_string_lossy())
                                    .unwrap_or_default(),
                                c.kind()
                            );
                            assert!(!why.is_empty());
                            if matches!(
                                c,
                                Checker::TcpCheck(_) | Checker::HttpGet(_) | Checker::MiscCheck(_)
                            ) {
                                assert!(
                                    why.contains("regex")
                                        || why.contains("user")
                                        || why.contains("link local"),
                                    "{}: {} refused: {why}",
                                    f.display(),
                                    c.kind()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!("corpus: {resolved} checkers resolved, {refused} refused with a reason");
    assert!(
        resolved > 10,
        "only {resolved} checkers resolved ({refused} refused)"
    );
}
