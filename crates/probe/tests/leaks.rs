// SPDX-License-Identifier: Apache-2.0 OR MIT
//! No descriptor is left behind by any probe kind, success or failure.
//! One test in its own binary: the fd count is per process, and other
//! tests running in parallel would move it.

mod common;

use common::{Server, closed_port, fd_count, one_checker, runtime, spec_from};
use keepalived_probe::{Verdict, run_url};

#[test]
fn no_fd_leak_over_many_probes() {
    let s = Server::start("ok", &[]);
    let http = spec_from(&one_checker(
        "127.0.0.1",
        s.port,
        "HTTP_GET {\nurl { path / }\n}",
    ))
    .expect("spec");
    let refused = spec_from(&one_checker(
        "127.0.0.1",
        closed_port(),
        "HTTP_GET {\nurl { path / }\n}",
    ))
    .expect("spec");
    let tcp = spec_from(&one_checker("127.0.0.1", s.port, "TCP_CHECK {\n}")).expect("spec");
    let misc = spec_from(&one_checker(
        "127.0.0.1",
        80,
        "MISC_CHECK {\n misc_path \"/bin/sh -c 'exit 1'\"\n}",
    ))
    .expect("spec");
    let rt = runtime();
    // Warm up whatever the runtime allocates once.
    rt.block_on(run_url(&http, 0));
    rt.block_on(run_url(&misc, 0));
    let before = fd_count();
    for _ in 0..30 {
        assert_eq!(rt.block_on(run_url(&http, 0)).verdict, Verdict::Success);
        assert_eq!(rt.block_on(run_url(&refused, 0)).verdict, Verdict::Failure);
        assert_eq!(rt.block_on(run_url(&tcp, 0)).verdict, Verdict::Success);
        assert_eq!(rt.block_on(run_url(&misc, 0)).verdict, Verdict::Failure);
    }
    assert_eq!(fd_count(), before);
}
