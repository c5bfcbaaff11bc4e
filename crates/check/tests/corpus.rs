// SPDX-License-Identifier: Apache-2.0 OR MIT
//! integration/lvs-corpus: each NAME.conf's start-up table, rendered as
//! `ipvsadm -Sn` prints it, must equal NAME.expected. The expected files
//! were reviewed by hand against keepalived's source; the VM test compares
//! them with what real keepalived programs. `LVS_CORPUS_BLESS=1` rewrites
//! them (review the diff before committing).

use std::path::{Path, PathBuf};

use keepalived_check::desired::startup_table;
use keepalived_config::host::FakeHost;
use keepalived_config::preprocess::Options;
use keepalived_ipvs::ipvsadm::render_save;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration/lvs-corpus")
}

#[test]
fn corpus_start_up_tables_match_expected() {
    let dir = corpus_dir();
    let mut confs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    confs.sort();
    assert!(confs.len() >= 15, "corpus has only {} configs", confs.len());
    let bless = std::env::var_os("LVS_CORPUS_BLESS").is_some();
    let mut failures = Vec::new();
    for conf in &confs {
        let loaded = keepalived_config::load_file(conf, &Options::default(), &FakeHost::default());
        assert!(
            loaded.diagnostics.is_empty(),
            "{}: {:?}",
            conf.display(),
            loaded.diagnostics.iter().collect::<Vec<_>>()
        );
        let got = render_save(&startup_table(&loaded.config));
        assert!(!got.is_empty(), "{}: empty table", conf.display());
        let expected_path = conf.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &got)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", expected_path.display()));
            continue;
        }
        let want = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", expected_path.display()));
        if got != want {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                conf.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
