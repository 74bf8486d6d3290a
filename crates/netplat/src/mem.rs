//! Idle memory housekeeping for the daemon's processes.
//!
//! Where the idle RSS of a keepalived-rs process comes from (release build, one
//! `vrrp_instance`, `/proc/PID/smaps`): about 3.6-4.1 MB are the pages of our own code
//! (`r-xp`) and 1 MB our read-only data, i.e. nearly the whole 4.5 MB text segment, although
//! the idle loop runs a small part of it. Reading the configuration, parsing the command line
//! and starting the runtimes touch code spread over the whole binary, and the kernel's
//! fault-around (`fault_around_bytes`, 64 kB) maps each faulting page's cached neighbours
//! too. The anonymous part (heap, malloc arenas, thread stacks) is well under 1 MB.
//!
//! [`release_startup_memory`] is called once a process has started (and after a reload):
//! it unmaps the pages of the non-writable segments of the executable and of its shared
//! libraries (libc alone is another 1.1 MB of mapped code) from this process
//! (`MADV_DONTNEED`: the page cache keeps them; the pages the process runs again fault back
//! in, a few hundred minor faults once) and gives the heap's free memory back
//! (`malloc_trim`). [`limit_malloc_arenas`] keeps glibc from creating a malloc arena per
//! thread (the worker's threads are mostly asleep; one arena is plenty).
//!
//! Only pages wholly inside a `PT_LOAD` segment without `PF_W` of an object without text
//! relocations are dropped: such pages are never written (code, `.rodata`, `.eh_frame`, the
//! dynamic symbol tables), so refaulting them from the file gives the same bytes; they are
//! clean file pages, which the kernel's reclaim may unmap at any time anyway. Writable segments (`.data`, `.bss`, and the
//! RELRO part whose relocations the loader wrote) are never touched.
#![allow(unsafe_code)]

use std::ffi::c_void;

/// At most `n` glibc malloc arenas (`mallopt(M_ARENA_MAX)`); call before threads start.
/// No effect with another C library.
pub fn limit_malloc_arenas(n: i32) {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a tunable of the allocator; any value is accepted or refused.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, n);
    }
    #[cfg(not(target_env = "gnu"))]
    let _ = n;
}

/// Raise the soft `RLIMIT_NOFILE` to at least `want` descriptors, bounded by the hard limit
/// (keepalived's checker process does the same from its number of checkers,
/// `set_checker_max_fds`). Returns the soft limit in force afterwards (0 if unreadable).
// rlim_t is u64 here but not on every target: the casts are kept.
#[allow(clippy::unnecessary_cast)]
pub fn raise_nofile_limit(want: u64) -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass; the resource constant is valid.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return 0;
    }
    let want = want as libc::rlim_t;
    if r.rlim_cur >= want {
        return r.rlim_cur as u64;
    }
    let new = libc::rlimit {
        rlim_cur: want.min(r.rlim_max),
        rlim_max: r.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct; lowering or raising the soft limit within the
    // hard limit is always allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
        return r.rlim_cur as u64;
    }
    new.rlim_cur as u64
}

/// Pages (page-aligned start, length) wholly inside the non-writable loaded segments of
/// the main executable and of the shared libraries loaded from files (libc, libm, libgcc_s,
/// the dynamic loader). An object with text relocations (`DT_TEXTREL`, `DF_TEXTREL`: the
/// loader wrote into its read-only segments) is left out, and so is the vDSO.
pub fn readonly_image_ranges() -> Vec<(usize, usize)> {
    let mut walk = Walk::default();
    // SAFETY: dl_iterate_phdr calls `collect` synchronously with valid pointers; `data` is
    // our `walk`, alive for the whole call.
    unsafe {
        libc::dl_iterate_phdr(Some(collect), (&mut walk as *mut Walk).cast());
    }
    walk.out
}

#[derive(Default)]
struct Walk {
    seen: usize,
    out: Vec<(usize, usize)>,
}

/// `ElfW(Dyn)` (Elf64_Dyn / Elf32_Dyn: a signed and an unsigned word of pointer size).
#[repr(C)]
struct Dyn {
    d_tag: isize,
    d_val: usize,
}
const DT_TEXTREL: isize = 22;
const DT_FLAGS: isize = 30;
const DF_TEXTREL: usize = 4;

unsafe extern "C" fn collect(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> libc::c_int {
    // SAFETY: pointers as documented by dl_iterate_phdr(3): `info` and its program headers
    // are valid during the call; `data` is the `Walk` of readonly_image_ranges. The first
    // object reported is the main program (its name is empty).
    let (info, walk) = unsafe { (&*info, &mut *(data.cast::<Walk>())) };
    let first = walk.seen == 0;
    walk.seen += 1;
    if info.dlpi_phdr.is_null() {
        return 0;
    }
    if !first {
        // Only objects loaded from a file (not the vDSO).
        let from_file = !info.dlpi_name.is_null()
            // SAFETY: a non-null dlpi_name is a NUL-terminated string owned by the loader.
            && unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }.to_bytes().first() == Some(&b'/');
        if !from_file {
            return 0;
        }
    }
    let page = page_size();
    // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    let base = usize::try_from(info.dlpi_addr).unwrap_or(0);
    let Some(dynamic) = phdrs.iter().find(|ph| ph.p_type == libc::PT_DYNAMIC) else {
        return 0; // cannot tell whether it has text relocations: leave it alone
    };
    let Ok(dyn_addr) = usize::try_from(dynamic.p_vaddr) else {
        return 0;
    };
    let dyn_ptr = base.wrapping_add(dyn_addr) as *const Dyn;
    let mut i = 0;
    loop {
        // SAFETY: the dynamic section of a loaded object is mapped and ends with DT_NULL.
        let d = unsafe { &*dyn_ptr.add(i) };
        match d.d_tag {
            0 => break,
            DT_TEXTREL => return 0,
            DT_FLAGS if d.d_val & DF_TEXTREL != 0 => return 0,
            _ => {}
        }
        i += 1;
    }
    for ph in phdrs {
        if ph.p_type != libc::PT_LOAD || ph.p_flags & libc::PF_W != 0 {
            continue;
        }
        let (Ok(vaddr), Ok(memsz)) = (usize::try_from(ph.p_vaddr), usize::try_from(ph.p_memsz))
        else {
            continue;
        };
        let lo = base.saturating_add(vaddr);
        let hi = lo.saturating_add(memsz);
        // Inward: only whole pages of this segment (never a page shared with a neighbour).
        let start = lo.div_ceil(page) * page;
        let end = hi / page * page;
        if end > start {
            walk.out.push((start, end - start));
        }
    }
    0
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| usize::try_from(p).ok())
        .filter(|p| *p > 0)
        .unwrap_or(4096)
}

/// Mappings of this process (start, end, `Anonymous:` kB) from /proc/self/smaps.
fn mappings_with_anon() -> Option<Vec<(usize, usize, u64)>> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let mut out: Vec<(usize, usize, u64)> = Vec::new();
    for line in smaps.lines() {
        if let Some(v) = line.strip_prefix("Anonymous:") {
            let kb = v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()?;
            if let Some(last) = out.last_mut() {
                last.2 = kb;
            }
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                out.push((a, b, 0));
            }
        }
    }
    Some(out)
}

/// Drops the startup-only pages of this process (see the module doc): unmaps the
/// read-only pages of the executable and its libraries (they refault from the page cache
/// when run again) and trims the heap. A range is skipped when a mapping over it holds
/// anonymous (copied-on-write) pages: a debugger's breakpoint or a uprobe wrote there, and
/// dropping it would lose that. Returns the number of bytes of address space advised.
pub fn release_startup_memory() -> usize {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let Some(maps) = mappings_with_anon() else {
        return 0;
    };
    let mut total = 0;
    for (start, len) in readonly_image_ranges() {
        let end = start + len;
        let written = maps
            .iter()
            .any(|(a, b, anon)| *anon > 0 && *a < end && start < *b);
        let mapped = maps.iter().any(|(a, b, _)| *a <= start && start < *b);
        if written || !mapped {
            continue;
        }
        // SAFETY: the range is whole pages of a mapped, never-written (no PF_W, no text
        // relocations, no anonymous pages) segment of a loaded object: MADV_DONTNEED only
        // unmaps them; the next access maps the same file bytes again. No Rust reference
        // is invalidated: the bytes do not change.
        let rc = unsafe { libc::madvise(start as *mut c_void, len, libc::MADV_DONTNEED) };
        if rc == 0 {
            total += len;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nofile() -> (u64, u64) {
        let l = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = l.lines().find(|x| x.starts_with("Max open files")).unwrap();
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[3].parse().unwrap(), f[4].parse().unwrap_or(u64::MAX))
    }

    // Proves raise_nofile_limit raises the soft limit (as /proc shows it) up to the hard
    // limit and never lowers it.
    #[test]
    fn raises_the_soft_descriptor_limit() {
        let (soft, hard) = nofile();
        assert_eq!(raise_nofile_limit(1), soft, "never lowered");
        let want = (soft + 100).min(hard);
        let got = raise_nofile_limit(want);
        assert_eq!(got, want);
        assert_eq!(nofile().0, want);
        assert_eq!(raise_nofile_limit(u64::MAX), hard);
    }

    #[test]
    fn ranges_cover_our_code_and_are_page_aligned() {
        let ranges = readonly_image_ranges();
        assert!(!ranges.is_empty());
        let here = ranges_cover_our_code_and_are_page_aligned as fn() as usize;
        let libc_code = libc::getpid as unsafe extern "C" fn() -> libc::pid_t as usize;
        assert!(
            ranges
                .iter()
                .any(|(s, l)| libc_code >= *s && libc_code < s + l),
            "libc not found"
        );
        assert!(
            ranges.iter().any(|(s, l)| here >= *s && here < s + l),
            "text not found"
        );
        for (s, l) in &ranges {
            assert_eq!(s % page_size(), 0);
            assert_eq!(l % page_size(), 0);
        }
    }

    #[test]
    fn release_keeps_code_and_data_working() {
        static TABLE: [u64; 4] = [1, 2, 3, 0x1234_5678_9abc_def0];
        let before: u64 = TABLE.iter().copied().fold(0, u64::wrapping_add);
        let mut heap = vec![7u8; 1 << 20];
        heap[1000] = 9;
        assert!(release_startup_memory() > 0);
        let after: u64 = std::hint::black_box(&TABLE)
            .iter()
            .copied()
            .fold(0, u64::wrapping_add);
        assert_eq!(before, after);
        assert_eq!(heap[1000], 9);
        assert_eq!(heap[999], 7);
    }

    /// Rss (kB) of the mappings of /proc/self/smaps that hold an address of `ranges`.
    fn image_rss_kb(ranges: &[(usize, usize)]) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        let mut kb = 0;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = first.split_once('-') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    inside = ranges.iter().any(|(s, l)| a < s + l && *s < b);
                    continue;
                }
            }
            if inside {
                if let Some(v) = line.strip_prefix("Rss:") {
                    kb += v
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0);
                }
            }
        }
        kb
    }

    #[test]
    fn release_lowers_the_resident_image() {
        let ranges = readonly_image_ranges();
        let before = image_rss_kb(&ranges);
        release_startup_memory();
        let after = image_rss_kb(&ranges);
        assert!(before > 0);
        assert!(after < before, "resident image {before} kB -> {after} kB");
    }
}
