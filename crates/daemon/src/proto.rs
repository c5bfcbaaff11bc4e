// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Messages between the supervisor and a child, on the child's stdin (one
//! end of a unix stream socketpair): a 4-byte big-endian length, then
//! that many bytes of JSON.

use std::io;

use keepalived_config::Config;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

// The control socket's wire module is compiled alone into a fuzz target,
// so the status request types live there.
pub use crate::control::wire::{StatusAsk, StatusView};

/// Parent -> child. Adjacently tagged, like [`FromChild`]: internally
/// tagged, serde read a whole configuration into a generic buffer of its
/// own before the model (at 100 000 TCP_CHECKs, 107 MB of the checker
/// child's heap for a 30 MB model), and the small model objects decoded
/// from it stayed scattered through that span once it was freed, which
/// the allocator cannot give back.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "body", rename_all = "snake_case")]
pub enum ToChild {
    /// A validated configuration. The first one starts the child; later
    /// ones are reloads.
    Config {
        generation: u64,
        config: Box<Config>,
        /// How often to send [`FromChild::Heartbeat`] (0: never).
        #[serde(default)]
        heartbeat_ms: u64,
    },
    /// Write the dump files for `kind` ("data", "stats", "stats_clear", "json").
    Dump { kind: DumpKind },
    /// Answer with the engine's live state ([`FromChild::Status`] with the
    /// same `id`), between two applies, in the form `ask` names.
    Status {
        id: u64,
        #[serde(default)]
        ask: StatusAsk,
    },
}

/// How many objects needing attention a summary lists by name, per list
/// (the rest are counted).
pub const SUMMARY_CAP: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpKind {
    Data,
    Stats,
    StatsClear,
    Json,
}

/// Child -> parent. Adjacently tagged, not internally: serde reads an
/// internally tagged message into a buffer of its own first, and a
/// [`RawValue`] cannot be read from that buffer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "body", rename_all = "snake_case")]
pub enum FromChild {
    /// The snapshot `generation` is in force; `summary` says what changed.
    Applied { generation: u64, summary: String },
    /// The answer to [`ToChild::Status`]: the engine's status model as
    /// the child wrote it, which the supervisor relays without parsing
    /// (a big table's is megabytes).
    Status { id: u64, status: Box<RawValue> },
    /// The child's event loop is turning (the supervisor's watchdog).
    Heartbeat,
}

pub const MAX_FRAME: usize = 256 << 20;

/// [`ToChild::Config`] as it goes on the wire, borrowing the
/// configuration (a big one is not cloned to be sent).
#[derive(Serialize)]
#[serde(tag = "type", content = "body", rename_all = "snake_case")]
enum ConfigRef<'a> {
    Config {
        generation: u64,
        config: &'a Config,
        heartbeat_ms: u64,
    },
}

/// The frame of `ToChild::Config { generation, config, heartbeat_ms }`.
pub fn encode_config(generation: u64, config: &Config, heartbeat_ms: u64) -> io::Result<Vec<u8>> {
    encode(&ConfigRef::Config {
        generation,
        config,
        heartbeat_ms,
    })
}

/// [`FromChild::Status`] as the child writes it: its status model goes
/// into the frame as is, not through a [`RawValue`] copy first.
#[derive(Serialize)]
#[serde(tag = "type", content = "body", rename_all = "snake_case")]
enum StatusRef<'a> {
    Status {
        id: u64,
        status: &'a serde_json::Value,
    },
}

/// The frame of `FromChild::Status { id, status }`.
pub fn encode_status(id: u64, status: &serde_json::Value) -> io::Result<Vec<u8>> {
    encode(&StatusRef::Status { id, status })
}

pub fn encode<T: Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

const KEEP_CAPACITY: usize = 64 << 10;

/// Splits frames out of bytes read without blocking.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn next<T: for<'de> Deserialize<'de>>(&mut self) -> Option<io::Result<T>> {
        if self.buf.len() < 4 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len > MAX_FRAME {
            // Nothing after a bogus length can be trusted: drop it all.
            self.buf.clear();
            return Some(Err(io::Error::other(format!(
                "frame of {len} bytes refused"
            ))));
        }
        if self.buf.len() < 4 + len {
            return None;
        }
        let msg = serde_json::from_slice(&self.buf[4..4 + len]).map_err(io::Error::other);
        self.buf.drain(..4 + len);
        // A snapshot of a big configuration grows the buffer to tens of
        // MB; do not keep that for the small frames that follow.
        if self.buf.capacity() > KEEP_CAPACITY && self.buf.len() <= KEEP_CAPACITY {
            self.buf.shrink_to(KEEP_CAPACITY);
        }
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts each thread's own heap bytes and their high-water mark, so
    /// a test can see what a decode needs beyond what it keeps while the
    /// other tests of this binary run beside it.
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static LIVE: Cell<isize> = const { Cell::new(0) };
            static PEAK: Cell<isize> = const { Cell::new(0) };
        }

        pub struct PerThread;

        // A global allocator can only be written as an unsafe impl.
        #[allow(unsafe_code)]
        unsafe impl GlobalAlloc for PerThread {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                let live = LIVE.get() + layout.size() as isize;
                LIVE.set(live);
                PEAK.set(PEAK.get().max(live));
                // SAFETY: forwarded unchanged to the system allocator.
                unsafe { System.alloc(layout) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                LIVE.set(LIVE.get() - layout.size() as isize);
                // SAFETY: `ptr` came from `alloc` above with this layout.
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        /// This thread's live bytes (allocated here minus freed here).
        pub fn live() -> isize {
            LIVE.get()
        }

        /// Starts a new high-water mark from now.
        pub fn reset_peak() {
            PEAK.set(LIVE.get());
        }

        pub fn peak() -> isize {
            PEAK.get()
        }
    }

    #[global_allocator]
    static COUNTING: counting::PerThread = counting::PerThread;

    /// The checker child's start at 100 000 TCP_CHECKs needed 107 MB of
    /// heap to decode a 30 MB model while the message was internally
    /// tagged (serde's generic buffer of the whole configuration), and the
    /// model stayed scattered through that span. Decoded straight, the
    /// frame's bytes and the model are about all it takes.
    #[test]
    fn a_config_frame_decodes_without_a_copy_of_the_whole() {
        use std::fmt::Write;
        let mut text = String::new();
        for s in 0..300 {
            let port = 1000 + s;
            let _ = writeln!(text, "virtual_server 192.0.2.1 {port} {{\n protocol TCP");
            for r in 1..=10 {
                let _ = writeln!(
                    text,
                    " real_server 198.51.100.{r} {port} {{\n  weight 1\n  \
                     TCP_CHECK {{\n   connect_port {}\n   delay_loop 60\n  }}\n }}",
                    20000 + s
                );
            }
            text.push_str("}\n");
        }
        let loaded = keepalived_config::load_str(
            std::path::Path::new("t.conf"),
            &text,
            &keepalived_config::preprocess::Options::default(),
            &keepalived_config::SystemHost,
        );
        let frame = encode_config(1, &loaded.config, 0).expect("encodes");
        let mut f = Framer::default();
        f.push(&frame);
        let before = counting::live();
        counting::reset_peak();
        let msg = f.next::<ToChild>();
        let needed = counting::peak() - before;
        let Some(Ok(ToChild::Config { config, .. })) = msg else {
            panic!("not a config frame");
        };
        assert_eq!(config.virtual_servers.len(), 300);
        let with_model = counting::live();
        drop(config);
        let model = with_model - counting::live();
        // The model, and its lists' growth while read (1.34x measured;
        // internally tagged, 3.06x).
        assert!(
            needed <= model + model / 2,
            "decoding a {} kB model took {} kB of heap at its peak",
            model / 1024,
            needed / 1024
        );
    }

    #[test]
    fn a_borrowed_config_frame_reads_back_as_to_child_config() {
        let mut config = Config::default();
        config.global_defs.router_id = Some("r1".into());
        let bytes = encode_config(9, &config, 250).expect("encodes");
        let mut f = Framer::default();
        f.push(&bytes);
        match f.next::<ToChild>() {
            Some(Ok(ToChild::Config {
                generation,
                config: back,
                heartbeat_ms,
            })) => {
                assert_eq!(generation, 9);
                assert_eq!(heartbeat_ms, 250);
                assert_eq!(*back, config);
            }
            other => panic!("not a config frame: {other:?}"),
        }
    }

    #[test]
    fn a_status_frame_reads_back_as_the_text_the_child_wrote() {
        let status = serde_json::json!({
            "instances": [{"name": "VI_\u{e9}\n", "latency_ms": 0.1 + 0.2, "up": true, "pid": null}],
            "b": {"z": 1, "a": -2},
        });
        let mut f = Framer::default();
        f.push(&encode_status(5, &status).expect("encodes"));
        f.push(&encode(&FromChild::Heartbeat).expect("encodes"));
        match f.next::<FromChild>() {
            Some(Ok(FromChild::Status { id, status: raw })) => {
                assert_eq!(id, 5);
                assert_eq!(raw.get(), serde_json::to_string(&status).expect("json"));
            }
            other => panic!("not a status frame: {other:?}"),
        }
        assert!(matches!(
            f.next::<FromChild>(),
            Some(Ok(FromChild::Heartbeat))
        ));
    }

    #[test]
    fn a_big_frame_does_not_keep_its_buffer() {
        let mut config = Config::default();
        config.global_defs.router_id = Some("x".repeat(1 << 20));
        let mut f = Framer::default();
        f.push(&encode_config(1, &config, 0).expect("encodes"));
        assert!(matches!(f.next::<ToChild>(), Some(Ok(_))));
        assert!(f.buf.capacity() <= KEEP_CAPACITY, "{}", f.buf.capacity());
    }

    #[test]
    fn frames_round_trip_whole_and_in_pieces() {
        let msg = ToChild::Config {
            generation: 7,
            config: Box::default(),
            heartbeat_ms: 0,
        };
        let bytes = encode(&msg).expect("encodes");
        let mut f = Framer::default();
        assert!(f.next::<ToChild>().is_none(), "nothing pushed, no frame");
        f.push(&bytes);
        let back: ToChild = f.next().expect("a frame").expect("decodes");
        assert!(matches!(back, ToChild::Config { generation: 7, .. }));
        let ack = encode(&FromChild::Applied {
            generation: 3,
            summary: "x".into(),
        })
        .expect("encodes");
        f.push(&ack[..5]);
        assert!(f.next::<FromChild>().is_none());
        f.push(&ack[5..]);
        f.push(&ack);
        for _ in 0..2 {
            let m = f.next::<FromChild>().expect("frame").expect("decodes");
            assert!(matches!(m, FromChild::Applied { generation: 3, .. }));
        }
        assert!(f.next::<FromChild>().is_none());
    }

    #[test]
    fn an_oversized_length_is_refused_and_the_buffer_dropped() {
        let mut f = Framer::default();
        let len = u32::try_from(MAX_FRAME + 1).expect("fits");
        f.push(&len.to_be_bytes());
        f.push(b"{}");
        assert!(f.next::<FromChild>().expect("an answer").is_err());
        assert!(f.next::<FromChild>().is_none(), "nothing left to misread");
    }
}
