// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the proc connector and `/proc/PID/stat` hand us, decoded: the
//! part of [`crate::proc_events`] that reads bytes from outside, kept
//! free of anything but `std` so that a fuzz target can compile it as it
//! is (fuzz/fuzz_targets/local_events.rs).

pub const CN_IDX_PROC: u32 = 1;
pub const CN_VAL_PROC: u32 = 1;
pub const NLMSG_HDR: usize = 16;
pub const CN_MSG: usize = 20;
/// what, cpu, timestamp_ns before the event data.
pub const EVENT_HDR: usize = 16;

pub const PROC_EVENT_FORK: u32 = 0x1;
pub const PROC_EVENT_EXEC: u32 = 0x2;
pub const PROC_EVENT_COMM: u32 = 0x200;
pub const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event. Thread events are dropped in [`decode`]: only
/// processes (pid == tgid) count, as in keepalived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    Fork { parent: u32, child: u32 },
    Exec { pid: u32 },
    Comm { pid: u32, comm: String },
    Exit { pid: u32 },
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_ne_bytes(bytes))
}

/// The events in one datagram (several netlink messages may share it);
/// anything short or foreign is skipped.
pub fn decode(buf: &[u8]) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    let mut off = 0;
    while let Some(len) = u32_at(buf, off).and_then(|l| usize::try_from(l).ok()) {
        if len < NLMSG_HDR || off + len > buf.len() {
            break;
        }
        if let Some(msg) = buf.get(off..off + len)
            && let Some(ev) = decode_one(msg)
        {
            out.push(ev);
        }
        off += (len + 3) & !3;
    }
    out
}

fn decode_one(msg: &[u8]) -> Option<ProcEvent> {
    let cn = NLMSG_HDR;
    if u32_at(msg, cn)? != CN_IDX_PROC || u32_at(msg, cn + 4)? != CN_VAL_PROC {
        return None;
    }
    let ev = cn + CN_MSG;
    let what = u32_at(msg, ev)?;
    let data = ev + EVENT_HDR;
    let field = |i: usize| u32_at(msg, data + 4 * i);
    match what {
        PROC_EVENT_FORK => {
            let (parent_tgid, child_pid, child_tgid) = (field(1)?, field(2)?, field(3)?);
            (child_pid == child_tgid).then_some(ProcEvent::Fork {
                parent: parent_tgid,
                child: child_tgid,
            })
        }
        PROC_EVENT_EXEC => {
            let (pid, tgid) = (field(0)?, field(1)?);
            (pid == tgid).then_some(ProcEvent::Exec { pid })
        }
        PROC_EVENT_COMM => {
            let (pid, tgid) = (field(0)?, field(1)?);
            let raw = msg.get(data + 8..data + 24)?;
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            let comm = String::from_utf8_lossy(raw.get(..end)?).into_owned();
            (pid == tgid).then_some(ProcEvent::Comm { pid, comm })
        }
        PROC_EVENT_EXIT => {
            let (pid, tgid) = (field(0)?, field(1)?);
            (pid == tgid).then_some(ProcEvent::Exit { pid })
        }
        _ => None,
    }
}

/// comm and state from `/proc/PID/stat` ("pid (comm) S ..."; comm may
/// itself hold parentheses, so the last ')' ends it).
pub fn parse_stat(stat: &[u8]) -> Option<(String, u8)> {
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let comm = String::from_utf8_lossy(stat.get(open + 1..close)?).into_owned();
    let state = *stat.get(close + 2)?;
    Some((comm, state))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(what: u32, data: &[u32], comm: Option<&str>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        body.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        body.extend_from_slice(&[0; 12]);
        body.extend_from_slice(&what.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        body.extend_from_slice(&0u64.to_ne_bytes());
        for d in data {
            body.extend_from_slice(&d.to_ne_bytes());
        }
        if let Some(c) = comm {
            let mut raw = [0u8; 16];
            raw[..c.len()].copy_from_slice(c.as_bytes());
            body.extend_from_slice(&raw);
        }
        let len = u32::try_from(NLMSG_HDR + body.len()).unwrap();
        let mut m = len.to_ne_bytes().to_vec();
        m.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&body);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn decodes_process_events_and_drops_threads() {
        let mut dgram = message(PROC_EVENT_FORK, &[10, 10, 20, 20], None);
        dgram.extend(message(PROC_EVENT_FORK, &[10, 10, 21, 20], None));
        dgram.extend(message(PROC_EVENT_EXEC, &[20, 20], None));
        dgram.extend(message(PROC_EVENT_COMM, &[20, 20], Some("nginx")));
        dgram.extend(message(PROC_EVENT_EXIT, &[21, 20, 0, 17], None));
        dgram.extend(message(PROC_EVENT_EXIT, &[20, 20, 0, 17], None));
        dgram.extend(message(0x4, &[20, 20, 0, 0], None));
        assert_eq!(
            decode(&dgram),
            [
                ProcEvent::Fork {
                    parent: 10,
                    child: 20
                },
                ProcEvent::Exec { pid: 20 },
                ProcEvent::Comm {
                    pid: 20,
                    comm: "nginx".into()
                },
                ProcEvent::Exit { pid: 20 },
            ]
        );
        assert!(decode(&dgram[..10]).is_empty());
    }

    #[test]
    fn stat_comm_may_hold_parentheses() {
        assert_eq!(
            parse_stat(b"42 (a (b) c) S 1 42"),
            Some(("a (b) c".to_string(), b'S'))
        );
        assert_eq!(parse_stat(b"42 x"), None);
    }
}
