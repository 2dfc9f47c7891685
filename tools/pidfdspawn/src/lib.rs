// SPDX-License-Identifier: GPL-2.0
//! `libpidfdspawn.so`: glibc's `posix_spawn()` family on embryonic pidfds.
//!
//! Loaded with `LD_PRELOAD`, it interposes `posix_spawn`, `posix_spawnp`, `pidfd_spawn`,
//! `pidfd_spawnp` and every `posix_spawn_file_actions_*` and `posix_spawnattr_*` function of
//! glibc 2.39, `posix_spawnattr_setcgroup_np()` and `getcgroup_np()` included (on an older glibc
//! the library keeps the cgroup and `POSIX_SPAWN_SETCGROUP` itself). A spawn it can express with
//! `pidfd_config()` (every file action, tcsetpgrp included, and every flag of glibc 2.39:
//! `POSIX_SPAWN_RESETIDS`, `SETPGROUP`, `SETSIGMASK`, `SETSIGDEF`, `SETSCHEDULER`,
//! `SETSCHEDPARAM`, `SETSID`, `SETCGROUP`, `USEVFORK`)
//! starts an embryo; anything else, and every spawn on a kernel without the syscalls, goes to the
//! next definition (`RTLD_NEXT`, normally glibc's), so the semantics never change silently. A
//! spawn with `POSIX_SPAWN_SETCGROUP` that the next definition cannot honour (glibc before 2.39)
//! fails with `ENOSYS` instead of starting a child outside the cgroup.
//!
//! The file-action functions call glibc's, so the object stays a valid glibc object for that
//! fallback, and record each action in a table keyed by the object's address; glibc's private
//! layout is never read. An object the library did not see initialised falls back too.
//!
//! `pidfdspawn_counts()` tells how many spawns took each road; with `PIDFDSPAWN_DEBUG` set in
//! the environment, each fallback prints its reason on stderr.

use pidfd_embryo::sys::{self, FileActionType};
use std::{
    collections::HashMap,
    ffi::{c_char, c_int, CStr, CString},
    os::fd::{AsFd, IntoRawFd, OwnedFd},
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicU64, Ordering},
        LazyLock, Mutex, OnceLock,
    },
};

type FileActions = libc::posix_spawn_file_actions_t;
type Attr = libc::posix_spawnattr_t;

/// glibc's `POSIX_SPAWN_USEVFORK`: a hint, ignored since glibc 2.24.
const POSIX_SPAWN_USEVFORK: c_int = 0x40;
/// glibc's `POSIX_SPAWN_SETSID`.
const POSIX_SPAWN_SETSID: c_int = 0x80;
/// glibc 2.39's `POSIX_SPAWN_SETCGROUP`.
const POSIX_SPAWN_SETCGROUP: c_int = 0x100;
/// The flags an embryo expresses.
const HANDLED_FLAGS: c_int = libc::POSIX_SPAWN_RESETIDS
    | libc::POSIX_SPAWN_SETSCHEDULER
    | libc::POSIX_SPAWN_SETSCHEDPARAM
    | libc::POSIX_SPAWN_SETPGROUP
    | libc::POSIX_SPAWN_SETSIGMASK
    | libc::POSIX_SPAWN_SETSIGDEF
    | POSIX_SPAWN_USEVFORK
    | POSIX_SPAWN_SETSID
    | POSIX_SPAWN_SETCGROUP;

/// A recorded file action.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Open(c_int, CString, c_int, libc::mode_t),
    Close(c_int),
    Dup2(c_int, c_int),
    CloseFrom(c_int),
    Chdir(CString),
    Fchdir(c_int),
    TcSetPgrp(c_int),
}

/// The actions of every file-actions object initialised through this library, by address.
static ACTIONS: LazyLock<Mutex<HashMap<usize, Vec<Action>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// For a next libc without `posix_spawnattr_setcgroup_np()`: per attribute object, by address,
/// whether `POSIX_SPAWN_SETCGROUP` is set and the cgroup descriptor.
static CGROUPS: LazyLock<Mutex<HashMap<usize, (bool, c_int)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

static EMBRYO_SPAWNS: AtomicU64 = AtomicU64::new(0);
static FALLBACK_SPAWNS: AtomicU64 = AtomicU64::new(0);

fn actions() -> std::sync::MutexGuard<'static, HashMap<usize, Vec<Action>>> {
    // A panic while holding the lock cannot leave the map inconsistent: use it anyway.
    ACTIONS.lock().unwrap_or_else(|e| e.into_inner())
}

fn cgroups() -> std::sync::MutexGuard<'static, HashMap<usize, (bool, c_int)>> {
    // As above.
    CGROUPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Looks up the next definition of a symbol once, and returns it as `$ty`.
macro_rules! next {
    (@ident $name:ident, $ty:ty) => {
        next!(@str concat!(stringify!($name), "\0"), $ty)
    };
    ($name:literal, $ty:ty) => {
        next!(@str concat!($name, "\0"), $ty)
    };
    (@str $cname:expr, $ty:ty) => {{
        static ADDR: OnceLock<usize> = OnceLock::new();
        let addr = *ADDR.get_or_init(|| {
            // SAFETY: dlsym() with RTLD_NEXT and a NUL-terminated name has no other
            // requirement.
            unsafe { libc::dlsym(libc::RTLD_NEXT, $cname.as_ptr().cast()) as usize }
        });
        if addr == 0 {
            None
        } else {
            // SAFETY: `addr` is the address of the libc function `$name`, whose C signature
            // `$ty` spells.
            Some(unsafe { core::mem::transmute::<usize, $ty>(addr) })
        }
    }};
}

/// Runs `f`, turning a panic into `err` so that none unwinds into C.
fn guard(err: c_int, f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(err)
}

fn debug(reason: &str) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("PIDFDSPAWN_DEBUG").is_some()) {
        eprintln!("pidfdspawn: not through an embryo: {reason}");
    }
}

/// How many spawns this library answered itself (started, or failed with the embryo's or the
/// search's error) and how many went to the next definition.
///
/// # Safety
///
/// Each pointer must be null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn pidfdspawn_counts(embryo: *mut u64, fallback: *mut u64) {
    if !embryo.is_null() {
        // SAFETY: The caller vouches for the pointer.
        unsafe { *embryo = EMBRYO_SPAWNS.load(Ordering::Relaxed) };
    }
    if !fallback.is_null() {
        // SAFETY: As above.
        unsafe { *fallback = FALLBACK_SPAWNS.load(Ordering::Relaxed) };
    }
}

// ---- posix_spawn_file_actions_* ----

/// Calls the next definition, then records `action` if it accepted it.
fn record(fa: *mut FileActions, ret: c_int, action: impl FnOnce() -> Option<Action>) -> c_int {
    if ret == 0 {
        let action = action();
        let mut map = actions();
        match (map.get_mut(&(fa as usize)), action) {
            (Some(list), Some(a)) => list.push(a),
            // An action that cannot be copied: forget the object, so that it falls back.
            (Some(_), None) => {
                map.remove(&(fa as usize));
            }
            (None, _) => {}
        }
    }
    ret
}

/// `posix_spawn_file_actions_init(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_init(fa: *mut FileActions) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_init",
            unsafe extern "C" fn(*mut FileActions) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa) };
        if ret == 0 {
            actions().insert(fa as usize, Vec::new());
        }
        ret
    })
}

/// `posix_spawn_file_actions_destroy(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_destroy(fa: *mut FileActions) -> c_int {
    guard(libc::EINVAL, || {
        actions().remove(&(fa as usize));
        let Some(f) = next!(
            "posix_spawn_file_actions_destroy",
            unsafe extern "C" fn(*mut FileActions) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        unsafe { f(fa) }
    })
}

/// `posix_spawn_file_actions_addopen(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addopen(
    fa: *mut FileActions,
    fd: c_int,
    path: *const c_char,
    oflag: c_int,
    mode: libc::mode_t,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_addopen",
            unsafe extern "C" fn(
                *mut FileActions,
                c_int,
                *const c_char,
                c_int,
                libc::mode_t,
            ) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, fd, path, oflag, mode) };
        record(fa, ret, || {
            // SAFETY: glibc accepted `path`, a NUL-terminated string.
            let p = unsafe { CStr::from_ptr(path) };
            Some(Action::Open(fd, p.to_owned(), oflag, mode))
        })
    })
}

/// `posix_spawn_file_actions_addclose(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addclose(
    fa: *mut FileActions,
    fd: c_int,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_addclose",
            unsafe extern "C" fn(*mut FileActions, c_int) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, fd) };
        record(fa, ret, || Some(Action::Close(fd)))
    })
}

/// `posix_spawn_file_actions_adddup2(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_adddup2(
    fa: *mut FileActions,
    fd: c_int,
    newfd: c_int,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_adddup2",
            unsafe extern "C" fn(*mut FileActions, c_int, c_int) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, fd, newfd) };
        record(fa, ret, || Some(Action::Dup2(fd, newfd)))
    })
}

/// `posix_spawn_file_actions_addclosefrom_np(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addclosefrom_np(
    fa: *mut FileActions,
    from: c_int,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_addclosefrom_np",
            unsafe extern "C" fn(*mut FileActions, c_int) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, from) };
        record(fa, ret, || Some(Action::CloseFrom(from)))
    })
}

/// `posix_spawn_file_actions_addchdir_np(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addchdir_np(
    fa: *mut FileActions,
    path: *const c_char,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_addchdir_np",
            unsafe extern "C" fn(*mut FileActions, *const c_char) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, path) };
        record(fa, ret, || {
            // SAFETY: glibc accepted `path`, a NUL-terminated string.
            let p = unsafe { CStr::from_ptr(path) };
            Some(Action::Chdir(p.to_owned()))
        })
    })
}

/// `posix_spawn_file_actions_addfchdir_np(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addfchdir_np(
    fa: *mut FileActions,
    fd: c_int,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_addfchdir_np",
            unsafe extern "C" fn(*mut FileActions, c_int) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, fd) };
        record(fa, ret, || Some(Action::Fchdir(fd)))
    })
}

/// `posix_spawn_file_actions_addtcsetpgrp_np(3)`: recorded, and run by the child as a file action.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addtcsetpgrp_np(
    fa: *mut FileActions,
    fd: c_int,
) -> c_int {
    guard(libc::ENOMEM, || {
        let Some(f) = next!(
            "posix_spawn_file_actions_addtcsetpgrp_np",
            unsafe extern "C" fn(*mut FileActions, c_int) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(fa, fd) };
        record(fa, ret, || Some(Action::TcSetPgrp(fd)))
    })
}

// ---- posix_spawnattr_*: glibc's own, passed through ----

/// Defines an exported function that calls the next definition of the same name.
macro_rules! passthrough {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*)) => {
        passthrough!($(#[$doc])* $name($($arg: $ty),*) => ());
    };
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) => $after:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        ///
        /// As for glibc's.
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> c_int {
            guard(libc::EINVAL, || {
                let Some(f) = next!(@ident $name, unsafe extern "C" fn($($ty),*) -> c_int)
                else {
                    return libc::ENOSYS;
                };
                $after;
                // SAFETY: The caller's arguments, passed on.
                unsafe { f($($arg),*) }
            })
        }
    };
}

/// Whether the next libc has `posix_spawnattr_setcgroup_np()` (glibc 2.39 and later), and so
/// keeps the cgroup and `POSIX_SPAWN_SETCGROUP` in the object itself.
fn next_has_cgroup() -> bool {
    next!(
        "posix_spawnattr_setcgroup_np",
        unsafe extern "C" fn(*mut Attr, c_int) -> c_int
    )
    .is_some()
}

/// The cgroup state this library keeps for `a`, if it keeps any: (`SETCGROUP` set, descriptor).
fn kept_cgroup(a: *const Attr) -> Option<(bool, c_int)> {
    if next_has_cgroup() {
        None
    } else {
        Some(cgroups().get(&(a as usize)).copied().unwrap_or((false, 0)))
    }
}

/// Forgets what this library kept for `a` (on init and destroy, which reset the object).
fn forget_cgroup(a: *const Attr) {
    cgroups().remove(&(a as usize));
}

passthrough!(
    /// `posix_spawnattr_init(3)`: glibc's, which also forgets a cgroup this library kept for
    /// the object.
    posix_spawnattr_init(a: *mut Attr) => forget_cgroup(a)
);
passthrough!(
    /// `posix_spawnattr_destroy(3)`: as `posix_spawnattr_init()`.
    posix_spawnattr_destroy(a: *mut Attr) => forget_cgroup(a)
);

/// `posix_spawnattr_getflags(3)`: glibc's, plus `POSIX_SPAWN_SETCGROUP` when this library keeps
/// it.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnattr_getflags(a: *const Attr, v: *mut libc::c_short) -> c_int {
    guard(libc::EINVAL, || {
        let Some(f) = next!(
            "posix_spawnattr_getflags",
            unsafe extern "C" fn(*const Attr, *mut libc::c_short) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        // SAFETY: The caller's arguments, passed on.
        let ret = unsafe { f(a, v) };
        if ret == 0 && kept_cgroup(a).is_some_and(|(set, _)| set) {
            // SAFETY: glibc has just written through `v`.
            unsafe { *v |= POSIX_SPAWN_SETCGROUP as libc::c_short };
        }
        ret
    })
}

/// `posix_spawnattr_setflags(3)`: glibc's; with a glibc that predates it, this library takes
/// `POSIX_SPAWN_SETCGROUP` itself and hands glibc the rest.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnattr_setflags(a: *mut Attr, v: libc::c_short) -> c_int {
    guard(libc::EINVAL, || {
        let Some(f) = next!(
            "posix_spawnattr_setflags",
            unsafe extern "C" fn(*mut Attr, libc::c_short) -> c_int
        ) else {
            return libc::ENOSYS;
        };
        if next_has_cgroup() {
            // SAFETY: The caller's arguments, passed on.
            return unsafe { f(a, v) };
        }
        let cg = POSIX_SPAWN_SETCGROUP as libc::c_short;
        // SAFETY: The caller's object; glibc checks the other bits.
        let ret = unsafe { f(a, v & !cg) };
        if ret == 0 {
            cgroups().entry(a as usize).or_insert((false, 0)).0 = v & cg != 0;
        }
        ret
    })
}

/// `posix_spawnattr_getcgroup_np(3)` (glibc 2.39): the cgroup descriptor of
/// `posix_spawnattr_setcgroup_np()`, 0 if none was set.
///
/// # Safety
///
/// `a` must be an initialised attribute object and `v` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnattr_getcgroup_np(a: *const Attr, v: *mut c_int) -> c_int {
    guard(libc::EINVAL, || {
        if let Some(f) = next!(
            "posix_spawnattr_getcgroup_np",
            unsafe extern "C" fn(*const Attr, *mut c_int) -> c_int
        ) {
            // SAFETY: The caller's arguments, passed on.
            return unsafe { f(a, v) };
        }
        let (_, fd) = kept_cgroup(a).unwrap_or((false, 0));
        // SAFETY: The caller vouches for `v`.
        unsafe { *v = fd };
        0
    })
}

/// `posix_spawnattr_setcgroup_np(3)` (glibc 2.39): the cgroup, as an open directory of cgroup2,
/// that `POSIX_SPAWN_SETCGROUP` puts the child in. The descriptor is checked by the spawn, as
/// glibc's is by `clone3()`.
///
/// # Safety
///
/// `a` must be an initialised attribute object.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnattr_setcgroup_np(a: *mut Attr, v: c_int) -> c_int {
    guard(libc::EINVAL, || {
        if let Some(f) = next!(
            "posix_spawnattr_setcgroup_np",
            unsafe extern "C" fn(*mut Attr, c_int) -> c_int
        ) {
            // SAFETY: The caller's arguments, passed on.
            return unsafe { f(a, v) };
        }
        cgroups().entry(a as usize).or_insert((false, 0)).1 = v;
        0
    })
}
passthrough!(
    /// `posix_spawnattr_getpgroup(3)`.
    posix_spawnattr_getpgroup(a: *const Attr, v: *mut libc::pid_t)
);
passthrough!(
    /// `posix_spawnattr_setpgroup(3)`.
    posix_spawnattr_setpgroup(a: *mut Attr, v: libc::pid_t)
);
passthrough!(
    /// `posix_spawnattr_getsigdefault(3)`.
    posix_spawnattr_getsigdefault(a: *const Attr, v: *mut libc::sigset_t)
);
passthrough!(
    /// `posix_spawnattr_setsigdefault(3)`.
    posix_spawnattr_setsigdefault(a: *mut Attr, v: *const libc::sigset_t)
);
passthrough!(
    /// `posix_spawnattr_getsigmask(3)`.
    posix_spawnattr_getsigmask(a: *const Attr, v: *mut libc::sigset_t)
);
passthrough!(
    /// `posix_spawnattr_setsigmask(3)`.
    posix_spawnattr_setsigmask(a: *mut Attr, v: *const libc::sigset_t)
);
passthrough!(
    /// `posix_spawnattr_getschedpolicy(3)`.
    posix_spawnattr_getschedpolicy(a: *const Attr, v: *mut c_int)
);
passthrough!(
    /// `posix_spawnattr_setschedpolicy(3)`.
    posix_spawnattr_setschedpolicy(a: *mut Attr, v: c_int)
);
passthrough!(
    /// `posix_spawnattr_getschedparam(3)`.
    posix_spawnattr_getschedparam(a: *const Attr, v: *mut libc::sched_param)
);
passthrough!(
    /// `posix_spawnattr_setschedparam(3)`.
    posix_spawnattr_setschedparam(a: *mut Attr, v: *const libc::sched_param)
);

// ---- the spawns ----

/// Where a spawn went.
enum Road {
    /// An embryo started: its pid and pidfd.
    Started(libc::pid_t, OwnedFd),
    /// The embryo path failed with this error number; it is the spawn's answer.
    Failed(c_int),
    /// Not expressible here: the next definition must do it.
    Fallback(&'static str),
}

/// The `__u64` signal set of a `sigset_t`, signals 1 to 64.
fn sigset_bits(set: &libc::sigset_t) -> u64 {
    (1..=64).fold(0u64, |bits, sig| {
        // SAFETY: `set` is a valid set; a number the libc does not know is simply not a member.
        if unsafe { libc::sigismember(set, sig) } == 1 {
            bits | 1 << (sig - 1)
        } else {
            bits
        }
    })
}

/// A `struct sched_attr` (version 0, 48 bytes) for a policy and a static priority. The nice
/// value is the caller's, which the child inherits and which sched_setscheduler() and
/// sched_setparam() (what glibc's child calls) leave alone.
fn sched_attr(policy: c_int, priority: c_int) -> [u8; 48] {
    // SAFETY: getpriority() reads nothing; -1 can be a valid answer, which is fine here.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let mut a = [0u8; 48];
    a[0..4].copy_from_slice(&48u32.to_ne_bytes());
    a[4..8].copy_from_slice(&(policy as u32).to_ne_bytes());
    // sched_flags (8..16) stays 0.
    a[16..20].copy_from_slice(&nice.to_ne_bytes());
    a[20..24].copy_from_slice(&(priority as u32).to_ne_bytes());
    a
}

/// Packs a NULL-terminated `char *` array into the `argv`/`envp` blob.
///
/// # Safety
///
/// `list` must be null or a NULL-terminated array of NUL-terminated strings.
unsafe fn pack(list: *const *mut c_char) -> Vec<u8> {
    let mut blob = Vec::new();
    if list.is_null() {
        return blob;
    }
    let mut i = 0;
    loop {
        // SAFETY: The array is NULL-terminated, and we stop at the NULL.
        let p = unsafe { *list.add(i) };
        if p.is_null() {
            return blob;
        }
        // SAFETY: Each entry is a NUL-terminated string.
        blob.extend_from_slice(unsafe { CStr::from_ptr(p) }.to_bytes_with_nul());
        i += 1;
    }
}

/// Tries to spawn through an embryo.
///
/// # Safety
///
/// The arguments of `posix_spawn()`, valid as it requires them.
unsafe fn embryo_spawn(
    path: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
    use_path: bool,
) -> Road {
    if !sys::supported() {
        return Road::Fallback("the kernel has no pidfd_config()");
    }
    if path.is_null() {
        return Road::Failed(libc::EFAULT);
    }
    let mut flags: libc::c_short = 0;
    let mut pgroup: libc::pid_t = 0;
    let mut policy: c_int = 0;
    // SAFETY: An all-zero sched_param is valid storage for the getter to fill.
    let mut param: libc::sched_param = unsafe { core::mem::zeroed() };
    // SAFETY: All-zero sets are valid storage for the getters to fill.
    let (mut mask, mut dfl): (libc::sigset_t, libc::sigset_t) = unsafe { core::mem::zeroed() };
    if !attr.is_null() {
        // SAFETY: `attr` is an initialised attribute object; the out pointers are valid.
        unsafe {
            posix_spawnattr_getflags(attr, &mut flags);
            posix_spawnattr_getpgroup(attr, &mut pgroup);
            posix_spawnattr_getsigmask(attr, &mut mask);
            posix_spawnattr_getsigdefault(attr, &mut dfl);
            posix_spawnattr_getschedpolicy(attr, &mut policy);
            posix_spawnattr_getschedparam(attr, &mut param);
        }
    }
    let flags = c_int::from(flags);
    let mut cgroup: c_int = -1;
    if flags & POSIX_SPAWN_SETCGROUP != 0 {
        // SAFETY: `attr` is initialised (SETCGROUP comes from it); `cgroup` is writable.
        unsafe { posix_spawnattr_getcgroup_np(attr, &mut cgroup) };
    }
    if flags & !HANDLED_FLAGS != 0 {
        return Road::Fallback("a flag this library does not know");
    }
    let list = if fa.is_null() {
        Vec::new()
    } else {
        match actions().get(&(fa as usize)) {
            Some(l) => l.clone(),
            None => return Road::Fallback("a file-actions object this library did not see"),
        }
    };
    // SAFETY: `path` is a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(path) };
    if name.is_empty() {
        return Road::Failed(libc::ENOENT);
    }
    // posix_spawnp(): the child searches the caller's PATH (glibc's default without one), after
    // its file actions, with execvp()'s rules.
    let search = if use_path && !name.to_bytes().contains(&b'/') {
        let path = std::env::var_os("PATH").map_or_else(
            || b"/bin:/usr/bin".to_vec(),
            |p| std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()).to_vec(),
        );
        match CString::new(path) {
            Ok(p) if p.as_bytes().len() < libc::PATH_MAX as usize => Some(p),
            _ => return Road::Fallback("a PATH longer than the kernel takes"),
        }
    } else {
        None
    };
    // SAFETY: The caller's arrays, valid as posix_spawn() requires.
    let (argv, envp) = unsafe { (pack(argv), pack(envp)) };
    if argv.is_empty() {
        return Road::Fallback("an empty argv");
    }

    let embryo = match sys::pidfd_open_empty(0) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL)) => {
            return Road::Fallback("pidfd_open() has no PIDFD_EMPTY")
        }
        Err(e) => return Road::Failed(e.raw_os_error().unwrap_or(libc::EINVAL)),
    };
    let fd = embryo.as_fd();
    let configure = || -> std::io::Result<sys::StartArgs> {
        sys::set_string(fd, c"path", name)?;
        if let Some(dirs) = &search {
            sys::set_string(fd, c"path-search", dirs)?;
        }
        sys::set_binary(fd, c"argv", &argv)?;
        if !envp.is_empty() {
            sys::set_binary(fd, c"envp", &envp)?;
        }
        sys::set_flag(fd, c"inherit-fds")?;
        if flags & POSIX_SPAWN_SETSID != 0 {
            sys::set_flag(fd, c"setsid")?;
        }
        if flags & POSIX_SPAWN_SETCGROUP != 0 {
            sys::set_fd_number(fd, c"cgroup", cgroup)?;
        }
        if flags & libc::POSIX_SPAWN_RESETIDS != 0 {
            sys::set_flag(fd, c"resetids")?;
        }
        if flags & (libc::POSIX_SPAWN_SETSCHEDULER | libc::POSIX_SPAWN_SETSCHEDPARAM) != 0 {
            // SETSCHEDULER: sched_setscheduler(0, policy, param); SETSCHEDPARAM alone:
            // sched_setparam(0, param), which keeps the policy the child inherits (ours).
            let policy = if flags & libc::POSIX_SPAWN_SETSCHEDULER != 0 {
                policy
            } else {
                // SAFETY: sched_getscheduler(0) reads nothing.
                unsafe { libc::sched_getscheduler(0) }
            };
            sys::set_binary(fd, c"sched", &sched_attr(policy, param.sched_priority))?;
        }
        if flags & libc::POSIX_SPAWN_SETPGROUP != 0 {
            let v = CString::new(pgroup.to_string()).expect("a number has no NUL");
            sys::set_string(fd, c"pgid", &v)?;
        }
        if flags & libc::POSIX_SPAWN_SETSIGDEF != 0 {
            sys::set_binary(fd, c"sigdefault", &sigset_bits(&dfl).to_ne_bytes())?;
        }
        if flags & libc::POSIX_SPAWN_SETSIGMASK != 0 {
            sys::set_binary(fd, c"sigmask", &sigset_bits(&mask).to_ne_bytes())?;
        }
        for a in &list {
            use FileActionType as T;
            match a {
                Action::Open(n, p, fl, mode) => {
                    sys::add_file_action(fd, T::Open, *n, 0, u64::from(*fl as u32), *mode, Some(p))
                }
                Action::Close(n) => sys::add_file_action(fd, T::Close, *n, 0, 0, 0, None),
                Action::Dup2(n, m) => sys::add_file_action(fd, T::Dup2, *n, *m, 0, 0, None),
                Action::CloseFrom(n) => sys::add_file_action(fd, T::CloseFrom, *n, 0, 0, 0, None),
                Action::Chdir(p) => sys::add_file_action(fd, T::Chdir, 0, 0, 0, 0, Some(p)),
                Action::Fchdir(n) => sys::add_file_action(fd, T::Fchdir, *n, 0, 0, 0, None),
                Action::TcSetPgrp(n) => sys::add_file_action(fd, T::Tcsetpgrp, *n, 0, 0, 0, None),
            }?;
        }
        let mut args = sys::StartArgs::default();
        sys::pidfd_start(fd, &mut args)?;
        Ok(args)
    };
    match configure() {
        Ok(args) => Road::Started(args.pid as libc::pid_t, embryo),
        Err(e) => Road::Failed(e.raw_os_error().unwrap_or(libc::EINVAL)),
    }
}

type SpawnFn = unsafe extern "C" fn(
    *mut libc::pid_t,
    *const c_char,
    *const FileActions,
    *const Attr,
    *const *mut c_char,
    *const *mut c_char,
) -> c_int;

type PidfdSpawnFn = unsafe extern "C" fn(
    *mut c_int,
    *const c_char,
    *const FileActions,
    *const Attr,
    *const *mut c_char,
    *const *mut c_char,
) -> c_int;

/// What the caller of a spawn wants back.
enum Out {
    Pid(*mut libc::pid_t),
    Pidfd(*mut c_int),
}

/// The common body of the four spawns.
///
/// # Safety
///
/// The arguments of `posix_spawn()` (or `pidfd_spawn()`), valid as it requires them.
#[allow(clippy::too_many_arguments)]
unsafe fn spawn(
    out: Out,
    path: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
    use_path: bool,
    next: Option<*const ()>,
) -> c_int {
    // SAFETY: The caller's arguments, as required.
    match unsafe { embryo_spawn(path, fa, attr, argv, envp, use_path) } {
        Road::Started(pid, fd) => {
            EMBRYO_SPAWNS.fetch_add(1, Ordering::Relaxed);
            match out {
                Out::Pid(p) => {
                    if !p.is_null() {
                        // SAFETY: The caller's pid pointer, null or writable.
                        unsafe { *p = pid };
                    }
                    drop(fd);
                }
                // SAFETY: pidfd_spawn() requires a writable pidfd pointer.
                Out::Pidfd(p) => unsafe { *p = fd.into_raw_fd() },
            }
            0
        }
        Road::Failed(e) => {
            EMBRYO_SPAWNS.fetch_add(1, Ordering::Relaxed);
            e
        }
        Road::Fallback(why) => {
            FALLBACK_SPAWNS.fetch_add(1, Ordering::Relaxed);
            debug(why);
            let Some(f) = next else {
                return libc::ENOSYS;
            };
            if !attr.is_null() && kept_cgroup(attr).is_some_and(|(set, _)| set) {
                // The next definition would start the child outside the cgroup.
                debug("POSIX_SPAWN_SETCGROUP, which the next posix_spawn does not know: ENOSYS");
                return libc::ENOSYS;
            }
            match out {
                // SAFETY: `f` is the next definition of the function with this signature.
                Out::Pid(p) => unsafe {
                    core::mem::transmute::<*const (), SpawnFn>(f)(p, path, fa, attr, argv, envp)
                },
                // SAFETY: As above.
                Out::Pidfd(p) => unsafe {
                    core::mem::transmute::<*const (), PidfdSpawnFn>(f)(
                        p, path, fa, attr, argv, envp,
                    )
                },
            }
        }
    }
}

/// `posix_spawn(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    let next = next!("posix_spawn", SpawnFn).map(|f| f as *const ());
    // SAFETY: The caller's arguments, passed on.
    guard(libc::EINVAL, || unsafe {
        spawn(Out::Pid(pid), path, fa, attr, argv, envp, false, next)
    })
}

/// `posix_spawnp(3)`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut libc::pid_t,
    file: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    let next = next!("posix_spawnp", SpawnFn).map(|f| f as *const ());
    // SAFETY: The caller's arguments, passed on.
    guard(libc::EINVAL, || unsafe {
        spawn(Out::Pid(pid), file, fa, attr, argv, envp, true, next)
    })
}

/// `pidfd_spawn(3)` (glibc 2.39): on the embryo path the pidfd is the embryo itself. Without
/// the syscalls it needs a glibc that has the function, else it fails with `ENOSYS`.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn pidfd_spawn(
    pidfd: *mut c_int,
    path: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    if pidfd.is_null() {
        return libc::EINVAL;
    }
    let next = next!("pidfd_spawn", PidfdSpawnFn).map(|f| f as *const ());
    // SAFETY: The caller's arguments, passed on.
    guard(libc::EINVAL, || unsafe {
        spawn(Out::Pidfd(pidfd), path, fa, attr, argv, envp, false, next)
    })
}

/// `pidfd_spawnp(3)` (glibc 2.39), as [`pidfd_spawn`] with posix_spawnp()'s search.
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn pidfd_spawnp(
    pidfd: *mut c_int,
    file: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    if pidfd.is_null() {
        return libc::EINVAL;
    }
    let next = next!("pidfd_spawnp", PidfdSpawnFn).map(|f| f as *const ());
    // SAFETY: The caller's arguments, passed on.
    guard(libc::EINVAL, || unsafe {
        spawn(Out::Pidfd(pidfd), file, fa, attr, argv, envp, true, next)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_sets() {
        // SAFETY: An all-zero set is valid storage for sigemptyset().
        let mut s: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: `s` is valid storage.
        unsafe {
            libc::sigemptyset(&mut s);
            libc::sigaddset(&mut s, libc::SIGUSR1);
            libc::sigaddset(&mut s, libc::SIGRTMIN() + 1);
        }
        let want = 1u64 << (libc::SIGUSR1 - 1) | 1u64 << (libc::SIGRTMIN());
        assert_eq!(sigset_bits(&s), want);
    }
}
