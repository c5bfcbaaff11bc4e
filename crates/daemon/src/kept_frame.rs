// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child's snapshot frame as the supervisor keeps it.
//!
//! The supervisor needs the frame again only to respawn a checker child
//! that died, which is rare, but the frame is the whole configuration in
//! JSON: tens of MB for 10 000 virtual servers x 10 real servers with a
//! checker each, held for the daemon's whole life. Once the child has
//! read it, the supervisor packs it (LZ4: JSON of repeated blocks packs
//! several times smaller, and packing runs after the child has its copy,
//! off the start's critical path). A respawn unpacks it for the one write,
//! so the respawned child still gets exactly the running generation.

use std::borrow::Cow;
use std::io;

pub enum KeptFrame {
    /// Just encoded: about to be sent to a starting or reloading child.
    Plain(Vec<u8>),
    /// A running child has it; kept only for a respawn.
    Packed(Vec<u8>),
}

impl KeptFrame {
    /// Packs the frame if it is not already packed. Returns whether it
    /// changed (the caller then hands the freed heap back).
    pub fn pack(&mut self) -> bool {
        let KeptFrame::Plain(bytes) = self else {
            return false;
        };
        let packed = lz4_flex::compress_prepend_size(bytes);
        *self = KeptFrame::Packed(packed);
        true
    }

    /// The frame's bytes, unpacked if needed.
    pub fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            KeptFrame::Plain(b) => Ok(Cow::Borrowed(b)),
            KeptFrame::Packed(p) => lz4_flex::decompress_size_prepended(p)
                .map(Cow::Owned)
                .map_err(io::Error::other),
        }
    }

    /// Bytes held in memory, for the status.
    pub fn held(&self) -> usize {
        match self {
            KeptFrame::Plain(b) | KeptFrame::Packed(b) => b.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Vec<u8> {
        let block = br#"{"real_server":{"ip":"198.51.100.7","port":20123,"weight":1,"checkers":[{"TCP_CHECK":{"delay_loop":60,"retry":1}}]}},"#;
        block
            .iter()
            .copied()
            .cycle()
            .take(block.len() * 2_000)
            .collect()
    }

    #[test]
    fn a_packed_frame_gives_back_the_same_bytes() {
        let original = frame();
        let mut kept = KeptFrame::Plain(original.clone());
        assert!(kept.pack());
        assert!(!kept.pack(), "packing twice changes nothing");
        assert_eq!(kept.bytes().expect("unpacks").as_ref(), &original[..]);
    }

    #[test]
    fn packing_a_configuration_shrinks_it_several_times() {
        let original = frame();
        let mut kept = KeptFrame::Plain(original.clone());
        kept.pack();
        assert!(
            kept.held() * 5 < original.len(),
            "packed {} of {} bytes",
            kept.held(),
            original.len()
        );
    }

    #[test]
    fn a_damaged_packed_frame_is_an_error_not_a_panic() {
        let mut kept = KeptFrame::Plain(frame());
        kept.pack();
        if let KeptFrame::Packed(p) = &mut kept {
            p.truncate(p.len() / 2);
        }
        assert!(kept.bytes().is_err());
    }
}
