// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The resolver's answer reader (real servers named by DNS) on arbitrary
//! bytes, for each kind of question, with the query's ID taken from the
//! input itself so the checks past the ID run deep. Nothing may panic; at
//! most `max` addresses come out; a valid answer reads the same twice.
#![no_main]

use keepalived_probe::resolve::wire::{Ask, Reading, question_name, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = question_name("web.example.internal") else {
        return;
    };
    let Ok(srv) = question_name("_http._tcp.example.internal") else {
        return;
    };
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    for (q, ask) in [
        (&name, Ask::A),
        (&name, Ask::Aaaa),
        (&srv, Ask::Srv { v6: false }),
        (&srv, Ask::Srv { v6: true }),
    ] {
        let r = read(data, id, q, ask, 8);
        if let Reading::Valid(a) = &r {
            assert!(a.found.len() <= 8 && a.srv.len() <= 8);
            assert!(a.srv.iter().all(|r| r.glue.len() <= 8));
            assert_eq!(read(data, id, q, ask, 8), r);
        }
    }
});
