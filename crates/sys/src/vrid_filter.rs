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
//!
//! Adverts and rejects ([`adverts`], [`rejects`]): a receiver can be split
//! in two sockets. The adverts socket also checks what is cheap to check
//! in the kernel: the version/type byte against the version configured
//! for the VRID, and (IPv4, multicast instances only) TTL 255, the RFC
//! 3768/5798 §7.1 checks that junk most often fails. The rejects socket
//! takes exactly the configured-VRID datagrams the adverts socket
//! refuses, so the daemon still validates and counts every one of them
//! (TTL, version and type errors, as keepalived's statistics do), while a
//! flood of them fills the rejects socket's queue, not the one the
//! master's adverts wait in (docs/reliability.md, finding 4). The daemon
//! reads the adverts socket first. IPv6 delivers the hop limit beside
//! the datagram, not in it: only the version/type byte is checked there.

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
pub const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
pub const LD_H_IND: u16 = 0x48; // BPF_LD | BPF_H | BPF_IND
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

/// What the adverts socket of one receiver lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wanted {
    /// (VRID, version/type byte) pairs: the byte is `version << 4 | 1`
    /// (an ADVERTISEMENT) for the version configured for that VRID.
    pub adverts: Vec<(u8, u8)>,
    /// IPv4 only: TTL must be 255 (every instance served is multicast;
    /// with unicast peers keepalived does not check the TTL).
    pub ttl_255: bool,
}

impl Wanted {
    /// The 16-bit word at the VRRP header's start: version/type, then
    /// VRID, as `ldh` reads it (network order).
    fn keys(&self) -> Vec<u32> {
        let mut k: Vec<u32> = self
            .adverts
            .iter()
            .map(|(vrid, vt)| u32::from(*vt) << 8 | u32::from(*vrid))
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    }

    fn vrids(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.adverts.iter().map(|(vrid, _)| *vrid).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether both programs fit the 8-bit jumps (at most 254 pairs;
    /// a daemon with more runs one socket with [`program`]).
    pub fn fits(&self) -> bool {
        self.keys().len() < usize::from(u8::MAX)
    }
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// Loads the version/type-and-VRID word; for IPv4 sets X to the IP
/// header's length first.
fn load_word(family: Family) -> Vec<Insn> {
    match family {
        Family::V4 => vec![insn(LDX_B_MSH, 0, 0, 0), insn(LD_H_IND, 0, 0, 0)],
        Family::V6 => vec![insn(LD_H_ABS, 0, 0, 0)],
    }
}

/// IPv4 TTL is byte 8 of the header the raw socket delivers.
const LD_TTL: Insn = Insn {
    code: LD_B_ABS,
    jt: 0,
    jf: 0,
    k: 8,
};

/// A compare chain: compare i of n jumps `n - i + extra` forward when
/// equal (past the compares after it, then `extra` more); falls through
/// after the last one when nothing matched.
fn chain(values: &[u32], extra: u8) -> Vec<Insn> {
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let jt = u8::try_from(n - i - 1)
                .unwrap_or(u8::MAX)
                .saturating_add(extra);
            insn(JEQ_K, jt, 0, *v)
        })
        .collect()
}

/// The adverts socket's program: a datagram passes when its
/// (version/type, VRID) pair is wanted and, with `ttl_255`, its IPv4 TTL
/// is 255. Without a fit ([`Wanted::fits`]) it is [`program`]'s VRID
/// filter.
pub fn adverts(family: Family, wanted: &Wanted) -> Vec<Insn> {
    if !wanted.fits() {
        return program(family, &wanted.vrids());
    }
    let keys = wanted.keys();
    if keys.is_empty() {
        return vec![insn(RET_K, 0, 0, 0)];
    }
    let mut p = load_word(family);
    // Equal: past the other compares and the drop, to the accept part.
    p.extend(chain(&keys, 1));
    p.push(insn(RET_K, 0, 0, 0));
    if family == Family::V4 && wanted.ttl_255 {
        p.push(LD_TTL);
        p.push(insn(JEQ_K, 0, 1, 255));
    }
    p.push(insn(RET_K, 0, 0, ACCEPT));
    p.push(insn(RET_K, 0, 0, 0));
    p
}

/// The rejects socket's program: what [`adverts`] drops among the
/// datagrams for a wanted VRID (nothing without a fit, where the adverts
/// socket takes every wanted VRID).
pub fn rejects(family: Family, wanted: &Wanted) -> Vec<Insn> {
    if !wanted.fits() {
        return vec![insn(RET_K, 0, 0, 0)];
    }
    let (vrids, keys) = (wanted.vrids(), wanted.keys());
    if keys.is_empty() {
        return vec![insn(RET_K, 0, 0, 0)];
    }
    let mut p = match family {
        Family::V4 => vec![insn(LDX_B_MSH, 0, 0, 0), insn(LD_B_IND, 0, 0, 1)],
        Family::V6 => vec![insn(LD_B_ABS, 0, 0, 1)],
    };
    let ids: Vec<u32> = vrids.iter().map(|v| u32::from(*v)).collect();
    // A VRID of ours: past the drop, to the second stage.
    p.extend(chain(&ids, 1));
    p.push(insn(RET_K, 0, 0, 0));
    if family == Family::V4 && wanted.ttl_255 {
        // TTL wrong: a reject whatever the rest says.
        let to_accept = u8::try_from(keys.len() + 1).unwrap_or(u8::MAX);
        p.push(LD_TTL);
        p.push(insn(JEQ_K, 0, to_accept, 255));
    }
    match family {
        Family::V4 => p.push(insn(LD_H_IND, 0, 0, 0)),
        Family::V6 => p.push(insn(LD_H_ABS, 0, 0, 0)),
    }
    // A wanted pair: the adverts socket has it; past the accept, to the drop.
    p.extend(chain(&keys, 1));
    p.push(insn(RET_K, 0, 0, ACCEPT));
    p.push(insn(RET_K, 0, 0, 0));
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
                LD_H_ABS | LD_H_IND => {
                    let at = if i.code == LD_H_IND { x + i.k } else { i.k } as usize;
                    match (pkt.get(at), pkt.get(at + 1)) {
                        (Some(hi), Some(lo)) => a = u32::from(*hi) << 8 | u32::from(*lo),
                        _ => return 0,
                    }
                }
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

    /// An IPv4 datagram as a raw socket delivers it: 20-byte header with
    /// `ttl`, then a VRRP header starting with `vt` (version/type), `vrid`.
    fn v4_with(ttl: u8, vt: u8, vrid: u8) -> Vec<u8> {
        let mut p = v4(5, vrid);
        p[8] = ttl;
        p[20] = vt;
        p
    }

    /// VI_1, VI_2 (v3, VRIDs 51, 52) and VI_3 (v2, VRID 53), as the
    /// fault matrix's pair runs them on one interface.
    fn matrix(ttl_255: bool) -> Wanted {
        Wanted {
            adverts: vec![(52, 0x31), (51, 0x31), (53, 0x21)],
            ttl_255,
        }
    }

    /// Every VRID, every version/type byte and a few TTLs: the adverts
    /// socket takes a datagram iff its pair is wanted and (when asked)
    /// its TTL is 255; the rejects socket takes exactly the other
    /// datagrams for a wanted VRID; no datagram reaches both.
    #[test]
    fn adverts_and_rejects_split_the_configured_vrids_between_them() {
        for ttl_255 in [true, false] {
            let w = matrix(ttl_255);
            let (a4, r4) = (adverts(Family::V4, &w), rejects(Family::V4, &w));
            let (a6, r6) = (adverts(Family::V6, &w), rejects(Family::V6, &w));
            for vrid in 0..=255u8 {
                let ours = [51, 52, 53].contains(&vrid);
                for vt in 0..=255u8 {
                    let pair = w.adverts.contains(&(vrid, vt));
                    for ttl in [255u8, 254, 64, 1, 0] {
                        let good = pair && (ttl == 255 || !ttl_255);
                        let pkt = v4_with(ttl, vt, vrid);
                        let (a, r) = (run(&a4, &pkt) != 0, run(&r4, &pkt) != 0);
                        assert_eq!(a, good, "v4 adverts: vrid {vrid} vt {vt:#x} ttl {ttl}");
                        assert_eq!(
                            r,
                            ours && !good,
                            "v4 rejects: vrid {vrid} vt {vt:#x} ttl {ttl}"
                        );
                    }
                    let mut pkt = v6(vrid);
                    pkt[0] = vt;
                    assert_eq!(
                        run(&a6, &pkt) != 0,
                        pair,
                        "v6 adverts: vrid {vrid} vt {vt:#x}"
                    );
                    assert_eq!(
                        run(&r6, &pkt) != 0,
                        ours && !pair,
                        "v6 rejects: vrid {vrid} vt {vt:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_split_follows_ip_options_and_keeps_malformed_adverts() {
        let w = matrix(true);
        let (a, r) = (adverts(Family::V4, &w), rejects(Family::V4, &w));
        // A 24-byte header: version/type and VRID after the option.
        let mut opt = v4(6, 51);
        opt[8] = 255;
        opt[24] = 0x31;
        assert_ne!(run(&a, &opt), 0);
        assert_eq!(run(&r, &opt), 0);
        opt[24] = 0x21;
        assert_eq!(run(&a, &opt), 0);
        assert_ne!(run(&r, &opt), 0, "v2 byte for a v3 VRID: a reject");
        // Too short for an advert but with a good pair and TTL: the
        // adverts socket keeps it, the daemon counts its length.
        let mut short = v4_with(255, 0x31, 51);
        short.truncate(24);
        assert_ne!(run(&a, &short), 0);
        assert_eq!(run(&r, &short), 0);
        // No VRID at all: neither.
        let mut stub = v4_with(255, 0x31, 51);
        stub.truncate(21);
        assert_eq!(run(&a, &stub), 0);
        assert_eq!(run(&r, &stub), 0);
    }

    #[test]
    fn too_many_pairs_fall_back_to_the_vrid_filter_and_no_rejects() {
        // Every VRID twice (v2 and v3): 512 pairs, past the 8-bit jumps.
        let w = Wanted {
            adverts: (0..=255u8).flat_map(|v| [(v, 0x21), (v, 0x31)]).collect(),
            ttl_255: true,
        };
        assert!(!w.fits());
        let (a, r) = (adverts(Family::V4, &w), rejects(Family::V4, &w));
        assert_eq!(a, program(Family::V4, &(0..=255).collect::<Vec<u8>>()));
        assert_eq!(run(&a, &v4_with(1, 0x71, 9)), u32::MAX);
        assert_eq!(run(&r, &v4_with(1, 0x71, 9)), 0);
        // 254 pairs still fit, with the longest jumps.
        let w = Wanted {
            adverts: (1..=254u8).map(|v| (v, 0x31)).collect(),
            ttl_255: true,
        };
        assert!(w.fits());
        let (a, r) = (adverts(Family::V4, &w), rejects(Family::V4, &w));
        assert_ne!(run(&a, &v4_with(255, 0x31, 1)), 0);
        assert_eq!(run(&a, &v4_with(254, 0x31, 1)), 0);
        assert_ne!(run(&r, &v4_with(254, 0x31, 1)), 0);
        assert_ne!(run(&r, &v4_with(255, 0x21, 254)), 0);
        assert_eq!(run(&r, &v4_with(255, 0x21, 255)), 0);
        let none = Wanted::default();
        assert_eq!(run(&adverts(Family::V6, &none), &v6(51)), 0);
        assert_eq!(run(&rejects(Family::V6, &none), &v6(51)), 0);
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
