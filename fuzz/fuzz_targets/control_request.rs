// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The control socket's request decoder on arbitrary lines. The module
//! lives in the daemon binary crate, which a fuzz target cannot depend
//! on; it has no dependency but serde, so it is compiled in here as is.
//! A request is accepted only when it fits the size cap and speaks our
//! version, and an error answer quoting any input stays one line.
#![no_main]

#[path = "../../crates/daemon/src/control/wire.rs"]
#[allow(dead_code)]
mod wire;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    match wire::parse_request(line) {
        Ok(req) => {
            assert!(line.len() <= wire::MAX_REQUEST);
            assert_eq!(req.version, wire::VERSION);
        }
        Err(e) => {
            // The refusal goes back to the client inside an answer.
            let answer = wire::Answer::error(e.to_string()).to_line();
            assert_eq!(answer.matches('\n').count(), 1);
            assert!(answer.ends_with('\n'));
        }
    }
});
