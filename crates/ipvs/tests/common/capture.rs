// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Writes tests/fixtures/kernel-6.1.txt from what the VM's kernel says.
//! Runs inside the VM only (the test binary, `KALRS_IPVS_CAPTURE=1`).

use std::fmt::Write as _;
use std::process::Command;

use keepalived_ipvs::Ipvs;
use keepalived_ipvs::encode;
use keepalived_ipvs::model::Op;

use super::{FIXTURE, IPVSADM_TABLE, hex, request_ops};

fn sh(cmd: &str) {
    let st = Command::new("sh").args(["-c", cmd]).status().expect("sh");
    assert!(st.success(), "{cmd}");
}

pub fn run(ipvs: &mut Ipvs) {
    let kernel = String::from_utf8_lossy(
        &Command::new("uname")
            .arg("-rv")
            .output()
            .expect("uname")
            .stdout,
    )
    .trim()
    .to_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Bytes captured from the kernel's IPVS: {kernel}, under qemu.\n\
         # Made by: KALRS_IPVS_CAPTURE=1 cargo test -p keepalived-ipvs --test kernel\n\
         # (tests/kernel.rs boots integration/vm/run-in-vm; tests/common/capture.rs\n\
         # writes this file). Each section is one exchange; each hex line one\n\
         # datagram as read from / written to the netlink socket.\n\
         #\n\
         # [request NAME]: a request our encoder built for tests/common request_ops()\n\
         #   NAME, sent alone (family id and seq in its header); the kernel acked it.\n\
         # [info] [config] [services] [dests N]: the kernel's replies to\n\
         #   GET_INFO, GET_CONFIG, the GET_SERVICE dump and the GET_DEST dump of the\n\
         #   N-th service of [services], after an empty\n\
         #   table was built with these commands:"
    );
    for c in IPVSADM_TABLE {
        let _ = writeln!(out, "#     {c}");
    }
    let _ = writeln!(out, "# family {}", ipvs.family_id());

    // Requests, each acked by the kernel.
    sh(
        "ip link add kalrs0 type dummy && ip link set kalrs0 multicast on up && ip addr add 192.0.2.200/24 dev kalrs0 && ip route add 224.0.0.0/4 dev kalrs0",
    );
    assert!(ipvs.apply(&[Op::Flush])[0].is_ok());
    for (name, op) in request_ops() {
        eprintln!("capture: {name}");
        let req = encode::op_request(&op).expect("encode");
        let bytes = req
            .to_bytes(ipvs.family_id(), ipvs.next_seq())
            .expect("bytes");
        let reply = ipvs.exchange_raw(&req).expect("exchange");
        let acked = reply.iter().any(|d| {
            keepalived_ipvs::decode::frames(d).is_ok_and(|f| {
                f.iter()
                    .any(|f| matches!(f.kind, keepalived_ipvs::decode::FrameKind::Ack))
            })
        });
        assert!(acked, "kernel did not ack {name}: {reply:02x?}");
        if name == "start-daemon" {
            // See kernel.rs: an immediate stop hung the 6.1 kernel.
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let _ = writeln!(out, "[request {name}]\n{}", hex(&bytes));
    }

    // Replies, for a table ipvsadm built.
    assert!(ipvs.apply(&[Op::Flush])[0].is_ok());
    for c in IPVSADM_TABLE {
        sh(c);
    }
    let mut section = |name: String, req: encode::Request, ipvs: &mut Ipvs| {
        let dgrams = ipvs.exchange_raw(&req).expect("exchange");
        let _ = writeln!(out, "[{name}]");
        for d in dgrams {
            let _ = writeln!(out, "{}", hex(&d));
        }
    };
    eprintln!("capture: replies");
    section("info".into(), encode::get_info(), ipvs);
    section("config".into(), encode::get_timeouts(), ipvs);
    section("services".into(), encode::get_services(), ipvs);
    let table = ipvs.dump().expect("dump");
    for (i, s) in table.services.iter().enumerate() {
        section(
            format!("dests {i}"),
            encode::get_dests(&s.service.key).expect("dests"),
            ipvs,
        );
    }
    sh("ip link del kalrs0");
    sh("ipvsadm --set 900 120 300");
    assert!(ipvs.apply(&[Op::Flush])[0].is_ok());
    let path = std::path::Path::new("/payload/crates/ipvs").join(FIXTURE);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, out).expect("write fixture");
    eprintln!("wrote {}", path.display());
}
