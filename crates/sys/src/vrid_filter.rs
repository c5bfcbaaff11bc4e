// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The classic BPF program a VRRP receive socket runs in the kernel: it
//! passes a datagram only when its VRID is configured on that socket's
//! interface and family, so a flood of adverts for other VRIDs (any host
//! on the segment can send one) is dropped before it takes room in the
//! socket's queue, where it would crowd out the master's adverts
//! (docs/reliability.md, finding 4).
//!
//! Only the VRID byte is looked at: a malformed datagram for a
//! configured VRID still reaches the daemon, which validates it and
//! counts the reason, as before. A datagram too short to carry a VRID is
//! dropped by the kernel (a BPF load past the end returns 0); no
//! instance could have claimed it.
//!
//! Where the VRID is: a raw IPv4 socket sees the IP header first, so the
//! program reads its length (`ldx 4*([0]&0xf)`) and loads byte x+1; a raw
//! IPv6 socket sees the VRRP header first (the kernel pulls the IPv6
//! headers before raw delivery), so the VRID is byte 1.
//!
//! The kernel does not count what a socket filter drops per socket
//! (only the `skb:kfree_skb` tracepoint shows it, reason
//! `SOCKET_FILTER`); `/proc/net/raw`'s drops column counts queue
//! overflows only, which is what the filter is there to prevent.

use crate::vrrp_socket::Family;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// The opcodes used (linux/filter.h, linux/bpf_common.h).
pub const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
pub const LD_B_IND: u16 = 0x50; // BPF_LD | BPF_B | BPF_IND
pub const LDX_B_MSH: u16 = 0xb1; // BPF_LDX | BPF_B | BPF_MSH
pub const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Accept the whole datagram.
const ACCEPT: u32 = u32::MAX;

/// The program passing datagrams whose VRID is one of `vrids`; with no
/// VRID it passes nothing. Jump offsets are 8 bits, so at most 255
/// VRIDs fit the compare chain, and a VRID is 8 bits: the list is
/// deduplicated and always fits.
pub fn program(family: Family, vrids: &[u8]) -> Vec<Insn> {
    let mut ids: Vec<u8> = vrids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut p = match family {
        Family::V4 => vec![
            Insn {
                code: LDX_B_MSH,
                jt: 0,
                jf: 0,
                k: 0,
            },
            Insn {
                code: LD_B_IND,
                jt: 0,
                jf: 0,
                k: 1,
            },
        ],
        Family::V6 => vec![Insn {
            code: LD_B_ABS,
            jt: 0,
            jf: 0,
            k: 1,
        }],
    };
    // Compare i jumps over the n - 1 - i compares after it and the drop
    // to the accept at the end; at 256 distinct VRIDs the first jump
    // would need 256, so the whole range is accepted instead.
    let n = ids.len();
    if n > usize::from(u8::MAX) {
        return vec![Insn {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: ACCEPT,
        }];
    }
    for (i, id) in ids.iter().enumerate() {
        let to_accept = u8::try_from(n - i).unwrap_or(u8::MAX);
        p.push(Insn {
            code: JEQ_K,
            jt: to_accept,
            jf: 0,
            k: u32::from(*id),
        });
    }
    p.push(Insn {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: 0,
    });
    p.push(Insn {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: ACCEPT,
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the kernel does with `prog` and a datagram as the socket sees
    /// it: the number of bytes kept (0: dropped). Only the opcodes above;
    /// a load past the end ends the program with 0, as in the kernel.
    fn run(prog: &[Insn], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        while let Some(i) = prog.get(pc) {
            pc += 1;
            match i.code {
                LD_B_ABS => match pkt.get(i.k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                LD_B_IND => match pkt.get((x + i.k) as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                LDX_B_MSH => match pkt.get(i.k as usize) {
                    Some(b) => x = 4 * u32::from(b & 0xf),
                    None => return 0,
                },
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                other => panic!("opcode {other:#x} not expected"),
            }
        }
        panic!("fell off the end of the program")
    }

    fn v4(ihl_words: u8, vrid: u8) -> Vec<u8> {
        let mut p = vec![0u8; usize::from(ihl_words) * 4];
        p[0] = 0x40 | ihl_words;
        p[9] = 112;
        p.extend_from_slice(&[0x31, vrid, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100]);
        p
    }

    fn v6(vrid: u8) -> Vec<u8> {
        vec![0x31, vrid, 100, 1, 0, 100, 0, 0]
    }

    #[test]
    fn only_configured_vrids_pass_v4_and_v6() {
        let p4 = program(Family::V4, &[53, 51, 52, 51]);
        let p6 = program(Family::V6, &[51, 52, 53]);
        for vrid in 0..=255u8 {
            let want = [51, 52, 53].contains(&vrid);
            assert_eq!(run(&p4, &v4(5, vrid)) != 0, want, "v4 vrid {vrid}");
            assert_eq!(run(&p6, &v6(vrid)) != 0, want, "v6 vrid {vrid}");
        }
    }

    #[test]
    fn ip_options_move_the_vrid_and_are_followed() {
        let p = program(Family::V4, &[51]);
        assert_ne!(run(&p, &v4(6, 51)), 0, "24-byte header (an option)");
        assert_eq!(run(&p, &v4(6, 99)), 0);
        // A 20-byte header whose byte 21 says 51 is not fooled when the
        // header is longer: the VRID is read after the options.
        let mut tricky = v4(6, 99);
        tricky[21] = 51;
        assert_eq!(run(&p, &tricky), 0);
    }

    #[test]
    fn malformed_adverts_for_a_configured_vrid_still_pass() {
        let p = program(Family::V4, &[51]);
        // 4 bytes of VRRP (too short for an advert), bad version, bad
        // type: the daemon's validation counts them.
        let mut short = v4(5, 51);
        short.truncate(24);
        assert_ne!(run(&p, &short), 0);
        let mut bad = v4(5, 51);
        bad[20] = 0x71;
        assert_ne!(run(&p, &bad), 0);
        // Too short to carry a VRID at all: dropped.
        let mut stub = v4(5, 51);
        stub.truncate(21);
        assert_eq!(run(&p, &stub), 0);
    }

    #[test]
    fn no_vrid_passes_nothing_and_every_vrid_fits() {
        let none = program(Family::V6, &[]);
        assert_eq!(run(&none, &v6(51)), 0);
        let all: Vec<u8> = (0..=255).collect();
        let p = program(Family::V4, &all);
        for vrid in 0..=255u8 {
            assert_ne!(run(&p, &v4(5, vrid)), 0, "vrid {vrid}");
        }
        let most: Vec<u8> = (1..=255).collect();
        let p = program(Family::V4, &most);
        assert_eq!(run(&p, &v4(5, 0)), 0);
        assert_ne!(run(&p, &v4(5, 255)), 0);
        assert_ne!(run(&p, &v4(5, 1)), 0);
    }
}
