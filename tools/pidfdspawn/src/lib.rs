// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
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
//! fails, with the embryo's error if the kernel gave one and `ENOSYS` otherwise, instead of
//! starting a child outside the cgroup.
//!
//! The file-action functions call glibc's, so the object stays a valid glibc object for that
//! fallback, and record each action in a table keyed by the object's address; glibc's private
//! layout is never read. An object the library did not see initialised falls back too.
//!
//! An error before a child exists is never the program's problem: when the kernel refuses the
//! embryo itself (no free descriptor for it, a pid namespace the start cannot serve, a value it
//! does not take, a start that failed before it created the child), the spawn goes to the next
//! definition as well, so that a program sees glibc's answer. Only an error of the child (its
//! file actions, its exec) is returned as the embryo's. A spawn is not a cancellation point and
//! leaves `errno` as it found it, as glibc's; the library's tables stay usable in the child of a
//! `fork()` that raced a thread using them.
//!
//! `pidfdspawn_counts()` tells how many spawns took each road; with `PIDFDSPAWN_DEBUG` set in
//! the environment, each fallback prints its reason on stderr.

use pidfd_embryo::sys::{self, FileActionType};
use std::io::Write as _;
use std::{
    cell::UnsafeCell,
    ffi::{c_char, c_int, CStr, CString},
    ops::{Deref, DerefMut},
    os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd},
    panic::{catch_unwind, AssertUnwindSafe},
    sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
};

type FileActions = libc::posix_spawn_file_actions_t;
type Attr = libc::posix_spawnattr_t;

/// The flag `sched_getscheduler()` or's into a policy set with it.
const SCHED_RESET_ON_FORK: c_int = 0x4000_0000;
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

/// A table of the library, keyed by the address of a caller's object, behind a lock that
/// `fork()` cannot leave held in the child.
///
/// A `std::sync::Mutex` held by another thread when a thread forks stays held in the child,
/// whose next file-action call would then wait for ever. The library registers `fork()`
/// handlers (`pthread_atfork()`, when the library is loaded) that take every table's lock before
/// the fork and release it on both sides after, as glibc does for its own locks.
///
/// # Invariants
///
/// `entries` is only accessed by the holder of `busy`.
struct Table<T> {
    busy: AtomicBool,
    entries: UnsafeCell<Vec<(usize, T)>>,
}

// SAFETY: By the type invariant, one thread at a time reaches `entries`, so the table is shared
// as a mutex would share it.
unsafe impl<T: Send> Sync for Table<T> {}

impl<T> Table<T> {
    const fn new() -> Self {
        // INVARIANT: Nobody holds `busy` yet.
        Self {
            busy: AtomicBool::new(false),
            entries: UnsafeCell::new(Vec::new()),
        }
    }

    fn acquire(&self) {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // The holder only looks a key up, inserts or removes one: a short wait.
            std::thread::yield_now();
        }
    }

    fn release(&self) {
        self.busy.store(false, Ordering::Release);
    }

    fn lock(&self) -> TableGuard<'_, T> {
        self.acquire();
        TableGuard(self)
    }

    /// The lock, if it can be had soon: a spawn that finds it held for long (by the thread a
    /// signal handler interrupted, or by a lower-priority thread that a SCHED_FIFO caller keeps
    /// off the CPU) goes to glibc rather than wait for ever.
    fn try_lock(&self) -> Option<TableGuard<'_, T>> {
        for _ in 0..1000 {
            if self
                .busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Some(TableGuard(self));
            }
            std::thread::yield_now();
        }
        None
    }
}

/// The lock of a [`Table`], held: the table's entries.
struct TableGuard<'a, T>(&'a Table<T>);

impl<T> Deref for TableGuard<'_, T> {
    type Target = Vec<(usize, T)>;

    fn deref(&self) -> &Self::Target {
        // SAFETY: We hold `busy`, so by the type invariant nobody else reaches `entries`.
        unsafe { &*self.0.entries.get() }
    }
}

impl<T> DerefMut for TableGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: As above.
        unsafe { &mut *self.0.entries.get() }
    }
}

impl<T> Drop for TableGuard<'_, T> {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl<T> TableGuard<'_, T> {
    fn get(&self, key: usize) -> Option<&T> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn insert(&mut self, key: usize, value: T) {
        match self.get_mut(key) {
            Some(v) => *v = value,
            None => self.push((key, value)),
        }
    }

    fn remove(&mut self, key: usize) {
        self.retain(|(k, _)| *k != key);
    }

    fn entry_or(&mut self, key: usize, default: T) -> &mut T {
        if self.get(key).is_none() {
            self.push((key, default));
        }
        self.get_mut(key).expect("inserted above")
    }
}

/// The actions of every file-actions object initialised through this library, by address.
static ACTIONS: Table<Vec<Action>> = Table::new();

/// For a next libc without `posix_spawnattr_setcgroup_np()`: per attribute object, by address,
/// whether `POSIX_SPAWN_SETCGROUP` is set and the cgroup descriptor.
static CGROUPS: Table<(bool, c_int)> = Table::new();

static EMBRYO_SPAWNS: AtomicU64 = AtomicU64::new(0);
static FALLBACK_SPAWNS: AtomicU64 = AtomicU64::new(0);

fn actions() -> TableGuard<'static, Vec<Action>> {
    ACTIONS.lock()
}

fn cgroups() -> TableGuard<'static, (bool, c_int)> {
    CGROUPS.lock()
}

/// `pthread_atfork()` prepare handler: takes the tables' locks, in one order, before a fork.
extern "C" fn fork_prepare() {
    ACTIONS.acquire();
    CGROUPS.acquire();
}

/// `pthread_atfork()` parent and child handler: releases what [`fork_prepare`] took.
extern "C" fn fork_done() {
    CGROUPS.release();
    ACTIONS.release();
}

/// Registers the fork handlers when the library is loaded, before any thread can use a table.
///
/// Registering on first use instead raced fork(): a fork() in another thread while the first
/// user was registering left the child waiting for a registration that no thread of its own
/// would finish, and a fork() just before could copy a lock that no handler released. One
/// `pthread_atfork()` call is all the library does at load time.
extern "C" fn register_atfork() {
    // SAFETY: The handlers are `extern "C"` functions that live as long as the process (a
    // preloaded library is never unloaded).
    unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_done), Some(fork_done)) };
}

#[used]
#[link_section = ".init_array"]
static REGISTER_ATFORK: extern "C" fn() = register_atfork;

/// Looks up the next definition of a symbol once, and returns it as `$ty`.
macro_rules! next {
    (@ident $name:ident, $ty:ty) => {
        next!(@str concat!(stringify!($name), "\0"), $ty)
    };
    ($name:literal, $ty:ty) => {
        next!(@str concat!($name, "\0"), $ty)
    };
    (@str $cname:expr, $ty:ty) => {{
        // 0: not looked up yet; 1: absent. A race looks it up twice, with the same answer, and
        // a fork() cannot leave a lookup half done, as it could leave a `OnceLock`.
        static ADDR: AtomicUsize = AtomicUsize::new(0);
        let mut addr = ADDR.load(Ordering::Relaxed);
        if addr == 0 {
            // SAFETY: dlsym() with RTLD_NEXT and a NUL-terminated name has no other
            // requirement.
            addr = unsafe { libc::dlsym(libc::RTLD_NEXT, $cname.as_ptr().cast()) as usize };
            if addr == 0 {
                addr = 1;
            }
            ADDR.store(addr, Ordering::Relaxed);
        }
        if addr == 1 {
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
    // 0: not read yet; 1: off; 2: on.
    static ON: AtomicU8 = AtomicU8::new(0);
    let mut on = ON.load(Ordering::Relaxed);
    if on == 0 {
        on = if std::env::var_os("PIDFDSPAWN_DEBUG").is_some() {
            2
        } else {
            1
        };
        ON.store(on, Ordering::Relaxed);
    }
    if on == 2 {
        // Never a panic for a stderr that cannot be written.
        let _ = writeln!(
            std::io::stderr(),
            "pidfdspawn: not through an embryo: {reason}"
        );
    }
}

/// Whether the kernel has the syscalls: probed once.
fn supported() -> bool {
    // 0: not probed yet; 1: no; 2: yes.
    static KNOWN: AtomicU8 = AtomicU8::new(0);
    let mut known = KNOWN.load(Ordering::Relaxed);
    if known == 0 {
        known = if sys::supported() { 2 } else { 1 };
        KNOWN.store(known, Ordering::Relaxed);
    }
    known == 2
}

extern "C" {
    /// POSIX's `pthread_setcancelstate()`, which the `libc` crate does not declare.
    fn pthread_setcancelstate(state: c_int, oldstate: *mut c_int) -> c_int;
}

/// `PTHREAD_CANCEL_DISABLE`, the same in glibc and musl.
const PTHREAD_CANCEL_DISABLE: c_int = 1;

/// For the length of a spawn: cancellation disabled (posix_spawn() is not a cancellation point,
/// and a cancellation's unwinding must never reach Rust frames), and `errno` put back as it was.
///
/// With asynchronous cancellation enabled (`PTHREAD_CANCEL_ASYNCHRONOUS`), a cancel pending
/// when the state is restored acts at once; POSIX allows only async-cancel-safe calls in that
/// mode, which posix_spawn() is not, so such a caller is outside the rules already.
struct SpawnScope {
    cancel_state: c_int,
    errno: c_int,
}

impl SpawnScope {
    fn enter() -> Self {
        let mut cancel_state = 0;
        // SAFETY: `cancel_state` is valid for a write.
        unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut cancel_state) };
        // SAFETY: `__errno_location()` returns the calling thread's errno, valid while it runs.
        let errno = unsafe { *libc::__errno_location() };
        Self {
            cancel_state,
            errno,
        }
    }
}

impl Drop for SpawnScope {
    fn drop(&mut self) {
        // SAFETY: As in `enter()`.
        unsafe { *libc::__errno_location() = self.errno };
        let mut old = 0;
        // SAFETY: `old` is valid for a write; `cancel_state` is what the thread had. Restoring
        // it acts on a pending cancellation only at the thread's next cancellation point.
        unsafe { pthread_setcancelstate(self.cancel_state, &mut old) };
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
        match (map.get_mut(fa as usize), action) {
            (Some(list), Some(a)) => list.push(a),
            // An action that cannot be copied: forget the object, so that it falls back.
            (Some(_), None) => map.remove(fa as usize),
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
        actions().remove(fa as usize);
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
        Some(cgroups().get(a as usize).copied().unwrap_or((false, 0)))
    }
}

/// Forgets what this library kept for `a` (on init and destroy, which reset the object).
fn forget_cgroup(a: *const Attr) {
    cgroups().remove(a as usize);
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
            cgroups().entry_or(a as usize, (false, 0)).0 = v & cg != 0;
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
        cgroups().entry_or(a as usize, (false, 0)).1 = v;
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
    /// Not expressible here, or refused before a child existed: the next definition must do it.
    /// With the embryo's errno, if the kernel refused it.
    Fallback(&'static str, Option<c_int>),
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
    if !supported() {
        return Road::Fallback("the kernel has no pidfd_config()", None);
    }
    if path.is_null() {
        // glibc's child runs the file actions before its exec fails (EFAULT): let it.
        return Road::Fallback("a NULL path", None);
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
        return Road::Fallback("a flag this library does not know", None);
    }
    let list = if fa.is_null() {
        Vec::new()
    } else {
        let Some(table) = ACTIONS.try_lock() else {
            return Road::Fallback("the library's table stayed busy", None);
        };
        match table.get(fa as usize) {
            Some(l) => l.clone(),
            None => return Road::Fallback("a file-actions object this library did not see", None),
        }
    };
    // SAFETY: `path` is a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(path) };
    if name.is_empty() {
        // As for NULL: the file actions first, then ENOENT, in glibc's child.
        return Road::Fallback("an empty path", None);
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
            _ => return Road::Fallback("a PATH longer than the kernel takes", None),
        }
    } else {
        None
    };
    // SAFETY: The caller's arrays, valid as posix_spawn() requires.
    let (argv, envp) = unsafe { (pack(argv), pack(envp)) };
    if argv.is_empty() {
        return Road::Fallback("an empty argv", None);
    }

    // No embryo, no child: whatever the reason (EMFILE with a full table, which glibc's spawn
    // does not need a descriptor for; ENOSYS or EINVAL without PIDFD_EMPTY; ENOMEM), glibc answers.
    // SETSCHEDULER: sched_setscheduler(0, policy, param); SETSCHEDPARAM alone:
    // sched_setparam(0, param), which keeps the policy the child inherits (ours).
    let sched_policy = if flags & libc::POSIX_SPAWN_SETSCHEDULER != 0 {
        policy
    } else {
        // SAFETY: sched_getscheduler(0) reads nothing.
        let ours = unsafe { libc::sched_getscheduler(0) };
        if ours < 0 {
            return Road::Fallback("sched_getscheduler() failed", None);
        }
        // SCHED_RESET_ON_FORK comes or'ed in: a flag of sched_setattr(), not a policy.
        ours & !SCHED_RESET_ON_FORK
    };
    let embryo = match sys::pidfd_open_empty(0) {
        Ok(embryo) => embryo,
        Err(e) => return Road::Fallback("pidfd_open(PIDFD_EMPTY) failed", e.raw_os_error()),
    };
    let Some(embryo) = out_of_the_way(embryo, &list) else {
        return Road::Fallback(
            "no descriptor for the embryo that no file action names",
            None,
        );
    };
    let fd = embryo.as_fd();
    let configure = || -> std::io::Result<()> {
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
            sys::set_binary(
                fd,
                c"sched",
                &sched_attr(sched_policy, param.sched_priority),
            )?;
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
        Ok(())
    };
    if let Err(e) = configure() {
        // A value the kernel does not take: glibc's child would try it, and answer.
        return Road::Fallback("pidfd_config() refused the configuration", e.raw_os_error());
    }
    let mut args = sys::StartArgs::default();
    match sys::pidfd_start(fd, &mut args) {
        Ok(()) => Road::Started(args.pid as libc::pid_t, embryo),
        // Still an embryo: the start failed before it created the child (EOPNOTSUPP after
        // unshare(CLONE_NEWPID), EAGAIN, ENOMEM, a seccomp filter's errno for clone()).
        Err(e) if is_embryo(fd) => Road::Fallback(
            "the start failed before the child existed",
            e.raw_os_error(),
        ),
        // The child existed: its file actions or its exec failed, and that is the answer.
        Err(e) => Road::Failed(e.raw_os_error().unwrap_or(libc::EINVAL)),
    }
}

/// The descriptors a file action reads in the child: if the embryo's own descriptor had one of
/// those numbers, the child would find the embryo there (inherit-fds copies the caller's table)
/// where glibc's child finds nothing and fails with `EBADF`.
fn named_by_actions(list: &[Action]) -> impl Iterator<Item = c_int> + '_ {
    list.iter().filter_map(|a| match a {
        Action::Dup2(from, _) | Action::Fchdir(from) | Action::TcSetPgrp(from) => Some(*from),
        _ => None,
    })
}

/// `embryo`, moved above every descriptor a file action reads if it is one of them; `None` if
/// there is no room for it.
fn out_of_the_way(embryo: OwnedFd, list: &[Action]) -> Option<OwnedFd> {
    let raw = embryo.as_raw_fd();
    if !named_by_actions(list).any(|n| n == raw) {
        return Some(embryo);
    }
    let above = named_by_actions(list)
        .max()
        .unwrap_or(raw)
        .saturating_add(1);
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own reads no memory.
    let moved = unsafe { libc::fcntl(raw, libc::F_DUPFD_CLOEXEC, above) };
    // The original closes here, without being a cancellation point's business: cancellation is
    // disabled for the spawn.
    drop(embryo);
    if moved < 0 {
        return None;
    }
    // SAFETY: fcntl() returned a new descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// `PIDFD_GET_INFO`, `_IOWR(0xFF, 11, struct pidfd_info)` with the 64 bytes of its first version.
const PIDFD_GET_INFO: libc::c_ulong = 0xC040_FF0B;
/// `PIDFD_INFO_EMBRYO`: the pidfd is an embryo that was not started.
const PIDFD_INFO_EMBRYO: u64 = 1 << 8;

/// Whether `fd` is still an unstarted embryo, after a start that failed.
fn is_embryo(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    // The first version of `struct pidfd_info`: the mask first.
    let mut info = [0u64; 8];
    // SAFETY: `info` is 64 writable bytes, the size the request names.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), PIDFD_GET_INFO, info.as_mut_ptr()) };
    ret == 0 && info[0] & PIDFD_INFO_EMBRYO != 0
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
    let _scope = SpawnScope::enter();
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
        Road::Fallback(why, errno) => {
            FALLBACK_SPAWNS.fetch_add(1, Ordering::Relaxed);
            debug(why);
            let Some(f) = next else {
                return libc::ENOSYS;
            };
            if !attr.is_null() && kept_cgroup(attr).is_some_and(|(set, _)| set) {
                // The next definition would start the child outside the cgroup: the embryo's
                // answer stands if it had one (what glibc 2.39's clone3() would have said of
                // the cgroup), else ENOSYS.
                debug("POSIX_SPAWN_SETCGROUP, which the next posix_spawn does not know");
                return errno.unwrap_or(libc::ENOSYS);
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

/// `posix_spawn(3)`: `posix_spawn@@GLIBC_2.15` where the library has glibc's versions.
///
/// # Safety
///
/// As for glibc's.
#[cfg_attr(not(pidfdspawn_glibc_versions), no_mangle)]
#[cfg_attr(pidfdspawn_glibc_versions, export_name = "pidfdspawn_posix_spawn")]
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

/// `posix_spawnp(3)`: `posix_spawnp@@GLIBC_2.15` where the library has glibc's versions.
///
/// # Safety
///
/// As for glibc's.
#[cfg_attr(not(pidfdspawn_glibc_versions), no_mangle)]
#[cfg_attr(pidfdspawn_glibc_versions, export_name = "pidfdspawn_posix_spawnp")]
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

/// `posix_spawn@GLIBC_2.2.5` and `posix_spawnp@GLIBC_2.2.5`, the versions programs linked
/// before glibc 2.15 call: their child runs an executable without `#!` through `/bin/sh` when
/// its exec fails with `ENOEXEC`. An embryo's start cannot retry its exec that way without
/// running the file actions twice, so these always go to the next definition of the same version.
///
/// # Safety
///
/// The arguments of `posix_spawn()`, valid as it requires them.
unsafe fn spawn_compat(
    compat: &(AtomicUsize, &CStr),
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    let _scope = SpawnScope::enter();
    FALLBACK_SPAWNS.fetch_add(1, Ordering::Relaxed);
    debug("the pre-2.15 version of posix_spawn, whose child runs /bin/sh on ENOEXEC");
    let (cache, name) = compat;
    let mut addr = cache.load(Ordering::Relaxed);
    if addr == 0 {
        // SAFETY: dlvsym() with RTLD_NEXT and NUL-terminated names.
        addr = unsafe { libc::dlvsym(libc::RTLD_NEXT, name.as_ptr(), c"GLIBC_2.2.5".as_ptr()) }
            as usize;
        if addr == 0 {
            addr = 1;
        }
        cache.store(addr, Ordering::Relaxed);
    }
    if addr == 1 {
        return libc::ENOSYS;
    }
    // SAFETY: `addr` is the next definition of this version, with posix_spawn()'s signature.
    let f = unsafe { core::mem::transmute::<usize, SpawnFn>(addr) };
    // SAFETY: The caller's arguments, passed on.
    unsafe { f(pid, path, fa, attr, argv, envp) }
}

/// `posix_spawn@GLIBC_2.2.5` (see [`spawn_compat`]).
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn pidfdspawn_posix_spawn_compat(
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    static NEXT: (AtomicUsize, &CStr) = (AtomicUsize::new(0), c"posix_spawn");
    // SAFETY: The caller's arguments, passed on.
    guard(libc::EINVAL, || unsafe {
        spawn_compat(&NEXT, pid, path, fa, attr, argv, envp)
    })
}

/// `posix_spawnp@GLIBC_2.2.5` (see [`spawn_compat`]).
///
/// # Safety
///
/// As for glibc's.
#[no_mangle]
pub unsafe extern "C" fn pidfdspawn_posix_spawnp_compat(
    pid: *mut libc::pid_t,
    file: *const c_char,
    fa: *const FileActions,
    attr: *const Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    static NEXT: (AtomicUsize, &CStr) = (AtomicUsize::new(0), c"posix_spawnp");
    // SAFETY: The caller's arguments, passed on.
    guard(libc::EINVAL, || unsafe {
        spawn_compat(&NEXT, pid, file, fa, attr, argv, envp)
    })
}

// Both versions of both names, as glibc has them; build.rs's link defines the version nodes.
// The default (`@@`) is what a program linked since glibc 2.15 and `dlsym()` find.
#[cfg(all(pidfdspawn_glibc_versions, not(test)))]
core::arch::global_asm!(
    ".symver pidfdspawn_posix_spawn, posix_spawn@@GLIBC_2.15",
    ".symver pidfdspawn_posix_spawnp, posix_spawnp@@GLIBC_2.15",
    ".symver pidfdspawn_posix_spawn_compat, posix_spawn@GLIBC_2.2.5",
    ".symver pidfdspawn_posix_spawnp_compat, posix_spawnp@GLIBC_2.2.5",
);

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
