// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Handing memory the process no longer needs back to the system.

/// glibc keeps the pages a burst of small allocations freed (reading a
/// 350 000-line configuration peaks at hundreds of MB), so the resident
/// size of a long-running daemon would stay at its peak. Call after such
/// a burst (a load, an apply).
pub fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim only walks and releases the allocator's own free
    // lists; it touches no memory the program still uses.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What the allocator's main arena holds, from glibc's `mallinfo2`: the
/// bytes in live chunks (their headers and rounding included), the bytes
/// free inside the arena, the arena's extent, and the bytes in chunks
/// mapped on their own. Set against the Pss of `[heap]`, it tells live
/// data from fragmentation. None off glibc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    pub in_use: usize,
    pub free: usize,
    pub arena: usize,
    pub mapped: usize,
}

impl std::fmt::Display for HeapStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "in use {} kB, free in the arena {} kB, arena {} kB, mapped apart {} kB",
            self.in_use / 1024,
            self.free / 1024,
            self.arena / 1024,
            self.mapped / 1024
        )
    }
}

static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns [`trace_heap`] on (a debug hook of the children).
pub fn set_heap_trace(on: bool) {
    TRACE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Logs the allocator's figures at `at` when [`set_heap_trace`] is on:
/// where a start's transient memory comes and goes. Nothing is formatted
/// when it is off.
pub fn trace_heap(at: std::fmt::Arguments<'_>) {
    if TRACE.load(std::sync::atomic::Ordering::Relaxed)
        && let Some(h) = heap_stats()
    {
        tracing::info!("Heap, {at}: {h}");
    }
}

/// The allocator's figures now (see [`HeapStats`]).
pub fn heap_stats() -> Option<HeapStats> {
    #[cfg(target_env = "gnu")]
    {
        #[allow(unsafe_code)]
        // SAFETY: mallinfo2 only reads the allocator's own bookkeeping
        // under its lock and returns a plain struct by value.
        let m = unsafe { libc::mallinfo2() };
        Some(HeapStats {
            in_use: m.uordblks,
            free: m.fordblks,
            arena: m.arena,
            mapped: m.hblkhd,
        })
    }
    #[cfg(not(target_env = "gnu"))]
    {
        None
    }
}

/// Unmaps (from this process's page tables only) the pages of our own
/// executable that a start or reload touched: parsing, planning and
/// logging code that a daemon then leaves alone for hours. The binary is
/// one multi-role 8 MB text; the kernel maps 64 kB around each page
/// faulted in, so a VRRP child that ran the start-up code held 5 MB of it
/// (Pss 4.3 MB) where its steady loop needs under 2 MB. Pages it runs
/// again fault back in from the page cache (no I/O: the file stays
/// cached, other processes map it), and what stays mapped is what the
/// process really uses. Call after a burst, with [`release_freed_memory`].
///
/// Only read-only mappings of the executable without a single private
/// page are touched (see [`clean_exe_mappings`]): dropping those cannot
/// lose data, since every page there is the file's own content.
/// Best effort: anything unreadable leaves everything mapped.
///
/// Returns by how many kB the file-backed resident set fell (0 when it
/// could not be read), for the caller's log: the one sign, from outside,
/// that the release ran.
pub fn release_startup_code() -> u64 {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let Some(exe) = exe.to_str() else {
        return 0;
    };
    let before = own_status_kb("RssFile");
    for (start, end) in clean_exe_mappings(&smaps, exe) {
        let Some(len) = end.checked_sub(start) else {
            continue;
        };
        #[allow(unsafe_code)]
        // SAFETY: [start, end) is a whole mapping the kernel listed for
        // this process, read-only and file-backed with no anonymous
        // (private, modified) page: MADV_DONTNEED only drops page-table
        // entries that point at page-cache pages of the file, which the
        // next access maps again with the same content. No Rust object
        // lives there (it is code and constants of the executable).
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if rc != 0 {
            tracing::debug!(
                "madvise({start:#x}, {len}): {}",
                std::io::Error::last_os_error()
            );
        }
    }
    match (before, own_status_kb("RssFile")) {
        (Some(b), Some(a)) => b.saturating_sub(a),
        _ => 0,
    }
}

/// A `Key: N kB` field of /proc/self/status.
fn own_status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_kb(&status, key)
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        v.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// The `(start, end)` of each mapping in `smaps` (the text of
/// /proc/PID/smaps) that is a mapping of file `exe`, not writable, and
/// holds no anonymous page. The RELRO segment (relocated at start, so its
/// pages are private copies) and the data segment are never among them.
pub fn clean_exe_mappings(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    // The mapping being read: its range, and whether it qualifies so far.
    let mut current: Option<(usize, usize, bool)> = None;
    let mut anonymous: Option<u64> = None;
    let mut flush = |cur: Option<(usize, usize, bool)>, anon: Option<u64>| {
        if let Some((s, e, true)) = cur
            && anon == Some(0)
        {
            out.push((s, e));
        }
    };
    for line in smaps.lines() {
        if let Some((range, perms, path)) = mapping_header(line) {
            flush(current.take(), anonymous.take());
            let Some((s, e)) = range
                .split_once('-')
                .and_then(|(s, e)| Some((hex(s)?, hex(e)?)))
            else {
                continue;
            };
            let read_only = perms.starts_with('r') && perms.get(1..2) == Some("-");
            let private = perms.get(3..4) == Some("p");
            current = Some((s, e, read_only && private && path == exe && s < e));
        } else if let Some(v) = line.strip_prefix("Anonymous:") {
            anonymous = v
                .trim()
                .strip_suffix("kB")
                .and_then(|n| n.trim().parse().ok());
        }
    }
    flush(current, anonymous);
    out
}

/// `start-end perms offset dev inode path` -> (range, perms, path); None
/// for the `Key: value` lines of a mapping.
fn mapping_header(line: &str) -> Option<(&str, &str, &str)> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    if !range.contains('-') || range.ends_with(':') {
        return None;
    }
    let perms = fields.next()?;
    if perms.len() != 4 {
        return None;
    }
    let _offset = fields.next()?;
    let _dev = fields.next()?;
    let _inode = fields.next()?;
    let path = fields.next().unwrap_or("").trim_start();
    Some((range, perms, path))
}

fn hex(s: &str) -> Option<usize> {
    usize::from_str_radix(s, 16).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Cut from a VRRP child's /proc/PID/smaps (keepalived-rs release
    /// build, 100 instances): text, rodata, the RELRO segment (relocated
    /// at start: anonymous pages), data, heap, and libc.
    const SMAPS: &str = "\
55b303f32000-55b30416a000 r--p 00000000 fe:00 5497029                    /usr/sbin/keepalived-rs
Size:               2272 kB
Rss:                 508 kB
Anonymous:             0 kB
VmFlags: rd mr mw me sd
55b30416a000-55b30498d000 r-xp 00237000 fe:00 5497029                    /usr/sbin/keepalived-rs
Size:               8332 kB
Rss:                5324 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
55b30498d000-55b3049d7000 r--p 00a59000 fe:00 5497029                    /usr/sbin/keepalived-rs
Size:                296 kB
Rss:                 296 kB
Anonymous:           296 kB
VmFlags: rd mr mw me ac sd
55b3049d7000-55b3049db000 rw-p 00aa2000 fe:00 5497029                    /usr/sbin/keepalived-rs
Size:                 16 kB
Anonymous:             0 kB
VmFlags: rd wr mr mw me ac sd
55b31b084000-55b31b1a3000 rw-p 00000000 00:00 0                          [heap]
Size:               1148 kB
Anonymous:           940 kB
VmFlags: rd wr mr mw me ac sd
7fcf5665f000-7fcf567b5000 r-xp 00026000 fe:00 326279                     /usr/lib/x86_64-linux-gnu/libc.so.6
Size:               1368 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
";

    #[test]
    fn only_clean_read_only_mappings_of_the_executable() {
        let got = clean_exe_mappings(SMAPS, "/usr/sbin/keepalived-rs");
        assert_eq!(
            got,
            vec![
                (0x55b3_03f3_2000, 0x55b3_0416_a000),
                (0x55b3_0416_a000, 0x55b3_0498_d000),
            ]
        );
    }

    #[test]
    fn a_private_page_or_write_permission_excludes_a_mapping() {
        // A breakpoint (or uprobe) put an anonymous page into the text.
        let touched = SMAPS.replacen(
            "Rss:                5324 kB\nAnonymous:             0 kB",
            "Rss:                5324 kB\nAnonymous:             4 kB",
            1,
        );
        let got = clean_exe_mappings(&touched, "/usr/sbin/keepalived-rs");
        assert_eq!(got, vec![(0x55b3_03f3_2000, 0x55b3_0416_a000)]);
        // A shared mapping is never ours to drop either.
        let shared = SMAPS.replacen("r--p 00000000", "r--s 00000000", 1);
        let got = clean_exe_mappings(&shared, "/usr/sbin/keepalived-rs");
        assert_eq!(got, vec![(0x55b3_0416_a000, 0x55b3_0498_d000)]);
        // No Anonymous line: not known to be clean, left alone.
        let unknown: String = SMAPS
            .lines()
            .filter(|l| !l.starts_with("Anonymous:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(clean_exe_mappings(&unknown, "/usr/sbin/keepalived-rs").is_empty());
        // Another file's mappings never qualify.
        assert!(clean_exe_mappings(SMAPS, "/usr/sbin/other").is_empty());
    }

    /// What the fault matrix's growth check reads (RssAnon): the release
    /// hands back megabytes of file-backed pages, which hid a leak from a
    /// check of the whole resident set; a leak made before it is still
    /// there, whole, in the anonymous part.
    #[test]
    fn a_leak_stays_in_view_when_the_code_pages_go() {
        const LEAK_KB: u64 = 8 * 1024;
        let anon0 = own_status_kb("RssAnon").unwrap();
        let file0 = own_status_kb("RssFile").unwrap();
        // Written (not calloc'd zero pages), so every page is resident.
        let leak = vec![0x5au8; (LEAK_KB * 1024) as usize];
        let dropped = release_startup_code();
        let anon1 = own_status_kb("RssAnon").unwrap();
        let file1 = own_status_kb("RssFile").unwrap();
        assert!(
            dropped > 0 && file1 < file0,
            "nothing handed back: RssFile {file0} -> {file1} kB (reported {dropped})"
        );
        // Other tests of this binary run at the same time: they may add
        // anonymous memory, and free some of theirs (hence the 1 MB).
        assert!(
            anon1 + 1024 >= anon0 + LEAK_KB,
            "the leak is not in RssAnon: {anon0} -> {anon1} kB"
        );
        assert_eq!(std::hint::black_box(&leak)[LEAK_KB as usize], 0x5a);
    }

    #[test]
    fn heap_stats_see_a_live_allocation() {
        let before = heap_stats().unwrap();
        // 16 MB in pieces under the mmap threshold, so in an arena.
        const N: usize = 1 << 18;
        let held: Vec<Box<[u8; 64]>> = (0..N).map(|_| Box::new([7u8; 64])).collect();
        let after = heap_stats().unwrap();
        // Other tests of this binary allocate and free meanwhile, far
        // less than this.
        assert!(
            after.in_use >= before.in_use + 12 * 1024 * 1024,
            "{before} -> {after}"
        );
        assert!(after.arena >= after.in_use);
        assert_eq!(std::hint::black_box(&held)[N - 1][63], 7);
    }

    #[test]
    fn status_fields_are_read_by_exact_key() {
        let status = "VmRSS:\t   17864 kB\nRssAnon:\t    1928 kB\nRssFile:\t   15936 kB\n";
        assert_eq!(status_kb(status, "RssAnon"), Some(1928));
        assert_eq!(status_kb(status, "RssFile"), Some(15936));
        assert_eq!(status_kb(status, "Rss"), None);
        assert_eq!(status_kb("RssAnon: lots\n", "RssAnon"), None);
    }

    #[test]
    fn dropping_this_test_binary_s_clean_pages_keeps_it_running() {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_str().unwrap();
        let found = clean_exe_mappings(&smaps, exe);
        assert!(!found.is_empty(), "no clean mapping of {exe} found");
        release_startup_code();
        // Code and constants are still there (faulted back in).
        let again = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert_eq!(clean_exe_mappings(&again, exe).len(), found.len());
        assert_eq!(format!("{:?}", (1..4).collect::<Vec<_>>()), "[1, 2, 3]");
    }
}
