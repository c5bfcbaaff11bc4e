// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The directory watch behind `track_file`: a write in place, a rename
//! into place and a removal of the watched file are reported with its
//! key; other files in the directory are not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::time::Duration;

use keepalived_sys::inotify::DirWatch;

async fn next(w: &DirWatch<&'static str>) -> Vec<&'static str> {
    tokio::time::timeout(Duration::from_secs(2), w.changed())
        .await
        .expect("no event within 2 s")
        .unwrap()
}

#[test]
fn write_rename_and_delete_are_reported_others_are_not() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DirWatch::new().unwrap();
        w.add(dir.path(), OsStr::new("tf"), "tf").unwrap();
        std::fs::write(dir.path().join("other"), "1\n").unwrap();
        std::fs::write(dir.path().join("tf"), "5\n").unwrap();
        assert_eq!(next(&w).await, vec!["tf"], "write in place");
        std::fs::write(dir.path().join("tmp"), "7\n").unwrap();
        std::fs::rename(dir.path().join("tmp"), dir.path().join("tf")).unwrap();
        assert_eq!(next(&w).await, vec!["tf"], "rename into place");
        std::fs::remove_file(dir.path().join("tf")).unwrap();
        assert_eq!(next(&w).await, vec!["tf"], "removal");
        std::fs::write(dir.path().join("other"), "2\n").unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), w.changed())
                .await
                .is_err(),
            "another file's change was reported"
        );
    });
}
