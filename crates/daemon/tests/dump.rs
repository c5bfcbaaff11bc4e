// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `-d`: the typed model of keepalived.conf.example, checked against a
//! reviewed expected file. Regenerate it with
//! `KEEPALIVED_RS_BLESS=1 cargo test -p keepalived-rs --test dump`, then
//! review the diff before committing.

mod support;

use support::{Netns, binary, repo_root};

#[test]
fn dump_of_the_example_matches_the_reviewed_file() {
    let root = repo_root();
    let ns = Netns::up("dump");
    let conf = root.join("keepalived.conf.example");
    let out = ns.run(
        &root,
        &binary(),
        &["-t", "-d", "-i", "lb1", "-f", &conf.to_string_lossy()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the example must test clean: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("-d prints JSON");
    let expected_path = root.join("integration/expected/keepalived.conf.example.lb1.json");
    if std::env::var_os("KEEPALIVED_RS_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&got).expect("serialize") + "\n";
        std::fs::create_dir_all(expected_path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&expected_path, text).expect("write expected");
    }
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e} (bless it first)", expected_path.display())),
    )
    .expect("expected file is JSON");
    pretty_assertions::assert_eq!(expected, got);
}
