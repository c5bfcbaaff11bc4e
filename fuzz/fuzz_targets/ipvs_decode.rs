// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The IPVS generic netlink answer decoder (`keepalived_ipvs::decode`) on
//! arbitrary bytes: netlink framing, then every family message through
//! each of the readers the client uses (service, destination for both
//! families, sync daemon, timeouts, info, family id). The module promises
//! to be total: a value or a `DecodeError`, never a panic.
#![no_main]

use keepalived_ipvs::decode::{
    FrameKind, GenlMessage, daemon, dest, family_id, frames, info, service, timeouts,
};
use keepalived_ipvs::model::Family;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(all) = frames(data) else { return };
    for f in all {
        let FrameKind::Data(body) = f.kind else {
            continue;
        };
        assert!(body.len() <= data.len());
        let Ok(msg) = GenlMessage::parse(body) else {
            continue;
        };
        let _ = service(&msg);
        let _ = dest(&msg, Family::Inet);
        let _ = dest(&msg, Family::Inet6);
        let _ = daemon(&msg);
        let _ = timeouts(&msg);
        let _ = info(&msg);
        let _ = family_id(&msg);
    }
});
