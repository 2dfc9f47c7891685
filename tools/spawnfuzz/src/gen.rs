// SPDX-License-Identifier: GPL-2.0
//! Generators of the values a campaign passes: keys, strings, blobs, file actions. Most are
//! well formed or nearly so (one field off, one byte too long), because a value that fails the
//! first check exercises only that check.

use crate::rng::Rng;
use pidfd_embryo::sys;

/// The keys of `pidfd_config()` that take a fixed name.
pub const KEYS: [&str; 21] = [
    "path",
    "argv",
    "envp",
    "cwd",
    "inherit-fds",
    "sigmask",
    "sigdefault",
    "pgid",
    "setsid",
    "umask",
    "no-new-privs",
    "path-search",
    "resetids",
    "groups",
    "gid",
    "uid",
    "start-suspended",
    "sched",
    "cpu-affinity",
    "cgroup",
    "numa-node",
];

/// The resources of `rlimit:NAME`.
pub const RLIMITS: [&str; 16] = [
    "cpu",
    "fsize",
    "data",
    "stack",
    "core",
    "rss",
    "nproc",
    "nofile",
    "memlock",
    "as",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "rttime",
];

/// Descriptor numbers at and around the limits a child's table has.
pub const FD_NUMBERS: [i64; 14] = [
    0, 1, 2, 3, 9, 63, 64, 1023, 1024, 65535, 1048575, 1048576, 1048577, -1,
];

/// A key name: mostly a real one, sometimes a near miss or an oversized one.
pub fn key(r: &mut Rng) -> Vec<u8> {
    let mut k = match r.below(20) {
        0..=12 => r.pick(&KEYS).as_bytes().to_vec(),
        13 | 14 => format!("fd:{}", r.pick(&FD_NUMBERS)).into_bytes(),
        15 => {
            let odd = [
                "",
                "01",
                " 1",
                "+1",
                "1x",
                "4294967296",
                "99999999999999999999",
            ];
            format!("fd:{}", r.pick(&odd)).into_bytes()
        }
        16 | 17 => {
            let mut n = r.pick(&RLIMITS).to_string();
            if r.chance(1, 4) {
                n = r.pick(&["", "NOFILE", "bogus", "nofile "]).to_string();
            }
            format!("rlimit:{n}").into_bytes()
        }
        18 => vec![b'k'; *r.pick(&[254usize, 255, 256, 4095, 4096])],
        _ => {
            let n = r.below(12) as usize + 1;
            r.bytes(n)
        }
    };
    if r.chance(1, 10) && !k.is_empty() {
        // A near miss: one byte changed, dropped or added.
        let i = r.index(k.len());
        match r.below(3) {
            0 => k[i] ^= 1 << r.below(8),
            1 => {
                k.remove(i);
            }
            _ => k.insert(i, r.next_u64() as u8),
        }
    }
    // Interior NULs only make the key shorter; keep them, they are a case too.
    k
}

/// A string value: program names, numbers of the forms the numeric keys parse, paths.
pub fn string(r: &mut Rng, programs: &[Vec<u8>]) -> Vec<u8> {
    match r.below(10) {
        0..=2 => r.pick(programs).clone(),
        3..=5 => {
            let nums = [
                "0",
                "1",
                "-1",
                "022",
                "0777",
                "0778",
                "1000",
                "65534",
                "4294967294",
                "4294967295",
                "4294967296",
                "18446744073709551615",
                "0x10",
                "",
                " 7",
                "7 ",
                "abc",
            ];
            r.pick(&nums).as_bytes().to_vec()
        }
        6 => {
            let names = [
                ".",
                "/",
                "..",
                "dir",
                "data",
                "/dev/null",
                "/nonexistent",
                "noop",
            ];
            r.pick(&names).as_bytes().to_vec()
        }
        7 => vec![b'p'; *r.pick(&[4094usize, 4095, 4096, 4097])],
        _ => {
            let n = r.below(40) as usize;
            let mut s = r.bytes(n);
            s.retain(|&b| b != 0);
            s
        }
    }
}

/// A list of NUL-terminated strings, as the `argv` and `envp` keys take it.
pub fn string_list(r: &mut Rng) -> Vec<u8> {
    let n = match r.below(10) {
        0 => 0,
        1 => r.below(3000) as usize,
        _ => r.below(6) as usize,
    };
    let mut blob = Vec::new();
    for _ in 0..n {
        let len = match r.below(50) {
            0 => 128 * 1024 + r.below(3) as usize - 1,
            _ => r.below(24) as usize,
        };
        blob.extend(std::iter::repeat_n(b'a' + r.below(26) as u8, len));
        if r.chance(1, 3) {
            blob.extend_from_slice(b"=x");
        }
        blob.push(0);
    }
    if r.chance(1, 20) && !blob.is_empty() {
        // Not terminated.
        blob.pop();
    }
    blob
}

/// A blob value for one of the blob keys, or random bytes.
pub fn blob(r: &mut Rng) -> Vec<u8> {
    blob_with(r, false)
}

/// [`blob`], whose `struct sched_attr` blobs come from [`sched_attr_wide`] when `wide_sched`.
pub fn blob_with(r: &mut Rng, wide_sched: bool) -> Vec<u8> {
    match r.below(9) {
        0 | 1 => string_list(r),
        2 => {
            // A signal set, or one of the wrong size.
            let len = *r.pick(&[8usize, 8, 8, 0, 4, 16]);
            let mut b = r.next_u64().to_ne_bytes().to_vec();
            b.resize(len, 0);
            b
        }
        3 => {
            // An rlimit: two __u64, soft <= hard mostly.
            let values = [0u64, 1, 64, 1024, 1 << 20, u64::MAX];
            let (mut a, mut b) = (*r.pick(&values), *r.pick(&values));
            if a > b && r.chance(3, 4) {
                core::mem::swap(&mut a, &mut b);
            }
            let mut v = a.to_ne_bytes().to_vec();
            v.extend_from_slice(&b.to_ne_bytes());
            if r.chance(1, 10) {
                v.truncate(r.below(16) as usize);
            }
            v
        }
        4 => {
            // Groups: __u32 IDs, some invalid.
            let n = if r.chance(1, 20) {
                65537
            } else {
                r.below(8) as usize
            };
            let ids = [0u32, 1, 100, 65534, u32::MAX - 1, u32::MAX];
            let mut v = Vec::with_capacity(n * 4);
            for _ in 0..n {
                v.extend_from_slice(&r.pick(&ids).to_ne_bytes());
            }
            if r.chance(1, 10) {
                v.push(0);
            }
            v
        }
        5 if wide_sched => sched_attr_wide(r),
        5 => sched_attr(r),
        6 => {
            // A CPU bitmap.
            let len = *r.pick(&[0usize, 1, 8, 64, 1024, 1025]);
            let mut v = vec![0u8; len];
            if len > 0 && r.chance(3, 4) {
                v[0] = r.pick(&[1u8, 2, 3, 0x80]).to_owned();
            }
            v
        }
        7 => sys::pack(&["noop", "x"]).unwrap_or_default(),
        _ => {
            let n = r.below(64) as usize;
            r.bytes(n)
        }
    }
}

/// A `struct sched_attr`: version sizes around the known ones, policies valid and not.
pub fn sched_attr(r: &mut Rng) -> Vec<u8> {
    let size = *r.pick(&[48usize, 48, 56, 47, 0, 64, 128]);
    let mut v = vec![0u8; size.max(48)];
    // size, policy, flags, nice, priority, runtime, deadline, period
    v[0..4].copy_from_slice(&(size as u32).to_ne_bytes());
    let policy = *r.pick(&[0u32, 1, 2, 3, 5, 6, 7, 99]);
    v[4..8].copy_from_slice(&policy.to_ne_bytes());
    let flags = *r.pick(&[0u64, 1, 2, 0x40, 1 << 40]);
    v[8..16].copy_from_slice(&flags.to_ne_bytes());
    let nice = *r.pick(&[0i32, 19, -20, 40]);
    v[16..20].copy_from_slice(&nice.to_ne_bytes());
    let prio = *r.pick(&[0u32, 1, 50, 99, 100]);
    v[20..24].copy_from_slice(&prio.to_ne_bytes());
    if policy == 6 {
        let t = [0u64, 1_000_000, 10_000_000, 100_000_000];
        for off in [24, 32, 40] {
            v[off..off + 8].copy_from_slice(&r.pick(&t).to_ne_bytes());
        }
    }
    if size > 56 && r.chance(1, 2) {
        v[size - 1] = 1;
    }
    v.truncate(size);
    v
}

/// `SCHED_ATTR_SIZE_VER0`: the first `struct sched_attr`, without the utilization clamps.
pub const SCHED_ATTR_SIZE_VER0: usize = 48;
/// `SCHED_ATTR_SIZE_VER1`: with `sched_util_min` and `sched_util_max`, the struct as the series'
/// kernel knows it.
pub const SCHED_ATTR_SIZE_VER1: usize = 56;
/// `SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX`.
pub const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;
/// The nice values `sched_setattr(2)` clamps `sched_nice` to.
pub const NICE_RANGE: (i32, i32) = (-20, 19);

/// A `struct sched_attr` with fields out of every range: nice values far outside -20..19 (and
/// `i32::MIN`, `i32::MAX`), policies 0 to 7 and garbage, any combination of the seven known
/// flags (the utilization clamps among them) and now and then an unknown one, and blob sizes
/// around 48, 56 and a page, with a `size` field that mostly but not always matches.
pub fn sched_attr_wide(r: &mut Rng) -> Vec<u8> {
    let len = *r.pick(&[
        48usize, 48, 48, 56, 56, 56, 0, 8, 47, 49, 52, 55, 57, 64, 4095, 4096, 4097,
    ]);
    let mut v = vec![0u8; len.max(SCHED_ATTR_SIZE_VER1)];
    let size_field = if r.chance(7, 8) {
        len as u32
    } else {
        *r.pick(&[0u32, 48, 56, 4096, u32::MAX])
    };
    v[0..4].copy_from_slice(&size_field.to_ne_bytes());
    let policy = if r.chance(4, 5) {
        r.below(8) as u32
    } else {
        *r.pick(&[8u32, 99, 0x4000_0000, 0x8000_0000, u32::MAX])
    };
    v[4..8].copy_from_slice(&policy.to_ne_bytes());
    let mut flags = match r.below(4) {
        0 => 0,
        1 => *r.pick(&[0x20u64, 0x40, 0x60]),
        _ => r.below(0x80),
    };
    if r.chance(1, 12) {
        flags |= 1 << r.below(64);
    }
    v[8..16].copy_from_slice(&flags.to_ne_bytes());
    let nice: i32 = match r.below(4) {
        0 => *r.pick(&[
            i32::MIN,
            i32::MAX,
            i32::MIN + 1,
            -21,
            -20,
            -1,
            0,
            1,
            19,
            20,
            40,
            -40,
        ]),
        _ => r.below(2001) as i32 - 1000,
    };
    v[16..20].copy_from_slice(&nice.to_ne_bytes());
    let prio = *r.pick(&[0u32, 0, 1, 50, 99, 100, u32::MAX]);
    v[20..24].copy_from_slice(&prio.to_ne_bytes());
    if policy == 6 || r.chance(1, 8) {
        // runtime <= deadline <= period mostly, as SCHED_DEADLINE wants them.
        let t = [
            0u64,
            1_000,
            1_000_000,
            10_000_000,
            100_000_000,
            1 << 63,
            u64::MAX,
        ];
        let mut d = [*r.pick(&t), *r.pick(&t), *r.pick(&t)];
        if r.chance(3, 4) {
            d.sort_unstable();
        }
        for (i, off) in [24, 32, 40].into_iter().enumerate() {
            v[off..off + 8].copy_from_slice(&d[i].to_ne_bytes());
        }
    }
    // sched_util_min and sched_util_max: 0..=1024 is the range.
    let util = [0u32, 0, 512, 1024, 1025, u32::MAX];
    let (lo, hi) = (*r.pick(&util), *r.pick(&util));
    v[48..52].copy_from_slice(&lo.to_ne_bytes());
    v[52..56].copy_from_slice(&hi.to_ne_bytes());
    if len > SCHED_ATTR_SIZE_VER1 && r.chance(1, 3) {
        let i = SCHED_ATTR_SIZE_VER1 + r.index(len - SCHED_ATTR_SIZE_VER1);
        v[i] = 1;
    }
    v.truncate(len);
    v
}

/// What `pidfd_config(SET_BINARY, "sched", bytes)` must answer on an unstarted embryo: the
/// checks `sched_setattr(2)` makes while it copies the structure, with the length of the blob as
/// the structure's size (the `size` field is not looked at), and a negative policy. `sched_nice`
/// is clamped, not refused, and the other values are checked by the start.
pub fn sched_config_result(bytes: &[u8]) -> Result<(), i32> {
    if bytes.len() < SCHED_ATTR_SIZE_VER0 {
        return Err(libc::EINVAL);
    }
    if bytes.len() > SCHED_ATTR_SIZE_VER1 && bytes[SCHED_ATTR_SIZE_VER1..].iter().any(|&b| b != 0) {
        return Err(libc::E2BIG);
    }
    let flags = u64::from_ne_bytes(bytes[8..16].try_into().expect("8 bytes"));
    if flags & SCHED_FLAG_UTIL_CLAMP != 0 && bytes.len() < SCHED_ATTR_SIZE_VER1 {
        return Err(libc::EINVAL);
    }
    // sched_setattr(2) refuses a negative policy before it looks at SCHED_FLAG_KEEP_POLICY.
    let policy = i32::from_ne_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if policy < 0 {
        return Err(libc::EINVAL);
    }
    Ok(())
}

/// The nice value `sched_setattr(2)` gives a process for `sched_nice`.
pub fn clamp_nice(nice: i32) -> i32 {
    nice.clamp(NICE_RANGE.0, NICE_RANGE.1)
}

/// A 48-byte `struct sched_attr` for `SCHED_OTHER` (or `SCHED_BATCH`) with only a nice value:
/// what the sched probe starts a process with, to read its nice value back.
pub fn sched_nice_only(policy: u32, nice: i32) -> Vec<u8> {
    let mut v = vec![0u8; SCHED_ATTR_SIZE_VER0];
    v[0..4].copy_from_slice(&(SCHED_ATTR_SIZE_VER0 as u32).to_ne_bytes());
    v[4..8].copy_from_slice(&policy.to_ne_bytes());
    v[16..20].copy_from_slice(&nice.to_ne_bytes());
    v
}

/// The parts of a file action; the caller supplies the path pointer.
pub struct Action {
    /// The action, `fd`, `newfd`, `mode` and `flags` fields of `struct pidfd_file_action`.
    pub raw: sys::FileActionRaw,
    /// The path the action should point to, if any.
    pub path: Option<Vec<u8>>,
    /// The size passed as `aux`.
    pub size: usize,
    /// Bytes after the known structure (zero or not), when `size` is larger than it.
    pub tail_nonzero: bool,
}

/// A file action, mostly well formed.
pub fn file_action(r: &mut Rng, programs: &[Vec<u8>]) -> Action {
    let action = if r.chance(1, 15) {
        *r.pick(&[0u32, 8, 100, u32::MAX])
    } else {
        r.below(7) as u32 + 1
    };
    let fd_of = |r: &mut Rng| -> i32 {
        if r.chance(3, 4) {
            r.below(12) as i32
        } else {
            *r.pick(&FD_NUMBERS) as i32
        }
    };
    let fd = fd_of(r);
    let newfd = if action == 3 || r.chance(1, 10) {
        fd_of(r)
    } else {
        0
    };
    let mode = if action == 1 || r.chance(1, 10) {
        *r.pick(&[0u32, 0o644, 0o600, 0o7777, 0o10000])
    } else {
        0
    };
    let flags = if action == 1 || r.chance(1, 10) {
        let f = [
            libc::O_RDONLY,
            libc::O_WRONLY | libc::O_CREAT,
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
            libc::O_RDONLY | libc::O_DIRECTORY,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            libc::O_RDONLY | libc::O_CLOEXEC,
            libc::O_PATH,
            libc::O_WRONLY | libc::O_APPEND | libc::O_NONBLOCK,
        ];
        let mut v = *r.pick(&f) as u64;
        if r.chance(1, 15) {
            v |= 1 << r.below(64);
        }
        v
    } else {
        0
    };
    let needs_path = action == 1 || action == 5;
    let path = if needs_path || r.chance(1, 10) {
        Some(match r.below(8) {
            0 => b"out".to_vec(),
            1 => b"dir".to_vec(),
            2 => b"/dev/null".to_vec(),
            3 => b"".to_vec(),
            4 => b"/nonexistent/file".to_vec(),
            5 => r.pick(programs).clone(),
            6 => b"..".to_vec(),
            _ => b"data".to_vec(),
        })
    } else {
        None
    };
    let size = match r.below(12) {
        0 => *r.pick(&[0usize, 16, 31]),
        1 => 40,
        2 => *r.pick(&[4096usize, 4097]),
        _ => sys::FILE_ACTION_SIZE_VER0,
    };
    // A child's open of one of the campaign's programs never truncates it: an O_TRUNC that
    // emptied "noop" made every later exec of it ENOEXEC, which the campaign took for a kernel
    // error. (No draw from `r` here, so a seed's sequence stays what it was.)
    let flags = match &path {
        Some(p) if action == 1 && programs.contains(p) => flags & !(libc::O_TRUNC as u64),
        _ => flags,
    };
    Action {
        raw: sys::FileActionRaw {
            action,
            fd,
            newfd,
            mode,
            flags,
            path: 0,
        },
        path,
        size,
        tail_nonzero: r.chance(1, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_mostly_real() {
        let mut r = Rng::new(3);
        let real = (0..1000)
            .filter(|_| {
                let k = key(&mut r);
                KEYS.iter().any(|n| n.as_bytes() == k)
            })
            .count();
        assert!((400..900).contains(&real), "{real}");
    }

    #[test]
    fn sched_attr_has_its_size_field() {
        let mut r = Rng::new(5);
        for _ in 0..100 {
            let v = sched_attr(&mut r);
            if v.len() >= 4 {
                let size = u32::from_ne_bytes(v[0..4].try_into().unwrap()) as usize;
                assert_eq!(size, v.len());
            }
        }
    }

    #[test]
    fn wide_sched_attrs_reach_every_case() {
        let mut r = Rng::new(11);
        let (mut ok, mut einval, mut e2big, mut clamp_short, mut far_nice) = (0, 0, 0, 0, 0);
        for _ in 0..4000 {
            let v = sched_attr_wide(&mut r);
            match sched_config_result(&v) {
                Ok(()) => ok += 1,
                Err(libc::EINVAL) => einval += 1,
                Err(libc::E2BIG) => e2big += 1,
                Err(e) => panic!("errno {e}"),
            }
            if v.len() >= SCHED_ATTR_SIZE_VER0 {
                let flags = u64::from_ne_bytes(v[8..16].try_into().unwrap());
                if flags & SCHED_FLAG_UTIL_CLAMP != 0 && v.len() < SCHED_ATTR_SIZE_VER1 {
                    clamp_short += 1;
                }
                let nice = i32::from_ne_bytes(v[16..20].try_into().unwrap());
                if clamp_nice(nice) != nice {
                    far_nice += 1;
                }
            }
        }
        assert!(ok > 1500, "{ok}");
        for n in [einval, e2big, clamp_short, far_nice] {
            assert!(n > 40, "{einval} {e2big} {clamp_short} {far_nice}");
        }
    }

    #[test]
    fn sched_config_result_follows_sched_copy_attr() {
        let mut v = sched_nice_only(0, 1000);
        assert_eq!(sched_config_result(&v), Ok(()));
        assert_eq!(sched_config_result(&v[..47]), Err(libc::EINVAL));
        // A utilization clamp in a VER0 structure.
        v[8] = 0x20;
        assert_eq!(sched_config_result(&v), Err(libc::EINVAL));
        v.resize(SCHED_ATTR_SIZE_VER1, 0);
        assert_eq!(sched_config_result(&v), Ok(()));
        v.resize(4096, 0);
        assert_eq!(sched_config_result(&v), Ok(()));
        v[4095] = 1;
        assert_eq!(sched_config_result(&v), Err(libc::E2BIG));
        v[4095] = 0;
        // A negative policy, as sys_sched_setattr() refuses it.
        v[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        assert_eq!(sched_config_result(&v), Err(libc::EINVAL));
        assert_eq!(clamp_nice(i32::MIN), -20);
        assert_eq!(clamp_nice(40), 19);
        assert_eq!(clamp_nice(-3), -3);
    }

    #[test]
    fn string_lists_are_terminated_mostly() {
        let mut r = Rng::new(9);
        let lists: Vec<Vec<u8>> = (0..200).map(|_| string_list(&mut r)).collect();
        let terminated = lists
            .iter()
            .filter(|l| l.is_empty() || l.ends_with(&[0]))
            .count();
        assert!(terminated > 170, "{terminated}");
    }
}
