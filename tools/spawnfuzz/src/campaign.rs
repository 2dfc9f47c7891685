// SPDX-License-Identifier: GPL-2.0
//! One campaign: a seeded sequence of random operations on a few embryos, each result checked
//! against what the man pages promise.
//!
//! Every call's errno must be one the man page of that call lists. On top of that, properties
//! that hold whatever the input:
//!
//! - an unstarted embryo answers the other pidfd operations as a process that does not exist
//!   (`ESRCH`, `ECHILD`, not readable, `PIDFD_INFO_EMBRYO`, `Embryo:` in fdinfo);
//! - a start that fails leaves no zombie and sends no `SIGCHLD`;
//! - a started process is the one whose pid `pidfd_start()` returned, it runs its program and
//!   exits 0 (or is killed), and its embryo refuses a second start and more configuration;
//! - no error number from the kernel's internal range (`-ERESTART*` and others) reaches user
//!   space;
//! - at the end the process holds the descriptors it held at the start, and has no child, and
//!   (with the options that add operations) `pidfd_open(0, PIDFD_EMPTY)` still works: no
//!   charge was left behind.
//!
//! The rarer operations with checks of their own (`SCM_RIGHTS`, sched probes, starts at
//! `RLIMIT_NPROC`, sub-workers that change pid namespace or install seccomp filters) are in
//! [`crate::special`]; campaigns in a process, user and namespaces of their own are set up by
//! [`crate::isolate`].
//!
//! What the kernel must not do on any input (crash, warn, leak) the guest's console and
//! kmemleak report; `make test` checks both after the campaigns ran.

use crate::{
    gen, isolate,
    isolate::Env,
    mem::{Arena, KERNEL_ADDRESS, PAGE},
    rng::Rng,
    scratch::{Scratch, PROGRAMS, RUNNABLE},
};
use pidfd_embryo::sys;
use std::{
    collections::BTreeMap,
    ffi::CString,
    fs,
    os::fd::RawFd,
    ptr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

/// `PIDFD_INFO_PID` and `PIDFD_INFO_EMBRYO` of `struct pidfd_info`'s mask.
const INFO_PID: u64 = 1 << 0;
const INFO_EXIT: u64 = 1 << 3;
const INFO_EMBRYO: u64 = 1 << 8;
/// `PIDFD_INFO_SIZE_VER3`: the size of `struct pidfd_info` as the series leaves it.
const INFO_SIZE: usize = 88;
/// `PIDFD_GET_INFO`: `_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)`.
const PIDFD_GET_INFO: libc::c_ulong =
    (3 << 30) | ((INFO_SIZE as libc::c_ulong) << 16) | (0xff << 8) | 11;
/// `P_PIDFD` of waitid().
const P_PIDFD: libc::idtype_t = 3;
/// The first errno value the kernel keeps to itself (`ERESTARTSYS`).
const KERNEL_ERRNO_MIN: i32 = 512;

/// The errors `pidfd_open(2)` documents for `PIDFD_EMPTY`.
pub(crate) const OPEN_ERRORS: &[i32] = &[
    libc::EAGAIN,
    libc::EINVAL,
    libc::EMFILE,
    libc::ENFILE,
    libc::ENOMEM,
    libc::EOPNOTSUPP,
];

/// The errors `pidfd_config(2)` documents, with those of resolving a path (`SET_PATH`).
pub(crate) const CONFIG_ERRORS: &[i32] = &[
    libc::E2BIG,
    libc::EACCES,
    libc::EBADF,
    libc::EBUSY,
    libc::EFAULT,
    libc::EINVAL,
    libc::ENOENT,
    libc::ENOMEM,
    libc::ENOTDIR,
    libc::EOPNOTSUPP,
    libc::EPERM,
    libc::ENAMETOOLONG,
    libc::ELOOP,
];

/// The errors `pidfd_start(2)` documents: its own, and those of the calls its keys and file
/// actions stand for (setsid, setpgid, setrlimit, sched_setattr, sched_setaffinity, setgroups,
/// setresuid, setresgid, open, dup2, chdir, fchdir, tcsetpgrp, execve, clone3 into a cgroup).
pub(crate) const START_ERRORS: &[i32] = &[
    libc::E2BIG,
    libc::EACCES,
    libc::EAGAIN,
    libc::EBADF,
    libc::EBUSY,
    libc::EEXIST,
    libc::EFAULT,
    libc::EFBIG,
    libc::EINTR,
    libc::EINVAL,
    libc::EIO,
    libc::EISDIR,
    libc::ELIBBAD,
    libc::ELOOP,
    libc::EMFILE,
    libc::ENAMETOOLONG,
    libc::ENFILE,
    libc::ENODEV,
    libc::ENOENT,
    libc::ENOEXEC,
    libc::ENOMEM,
    libc::ENOSPC,
    libc::ENOTDIR,
    libc::ENOTTY,
    libc::ENXIO,
    libc::EOPNOTSUPP,
    libc::EOVERFLOW,
    libc::EPERM,
    libc::EROFS,
    libc::ESRCH,
    libc::ETXTBSY,
    libc::EWOULDBLOCK,
];

/// What a campaign runs. [`Options::new`] gives the defaults: the `SCM_RIGHTS` operations and
/// the out-of-range `sched` values on, the rest off. With `scm` and `sched` off too, a seed runs
/// exactly the operations it ran before those existed.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed: the same seed runs the same operations with the same values.
    pub seed: u64,
    /// How many operations.
    pub ops: u64,
    /// Whether a second thread configures and probes whatever descriptors it finds while the
    /// first one works (it never starts, closes, reads or waits for one).
    pub meddler: bool,
    /// Print each operation before it runs (to find the last one before a crash).
    pub verbose: bool,
    /// Operations that pass embryos and pidfds with `SCM_RIGHTS` over unix socket pairs (an
    /// unstarted embryo must be refused with `EINVAL`, a started one must pass), capture a
    /// socket's end or an io_uring in an embryo, and close it all again.
    pub scm: bool,
    /// `struct sched_attr` values out of every range for the `sched` key, checked at
    /// configuration, and probes that read a started process's nice value back.
    pub sched: bool,
    /// Run in a process of its own in new user, pid, mount and time namespaces, and now and then
    /// `unshare(CLONE_NEWPID)` in a sub-worker whose embryos must then refuse to start.
    pub namespaces: bool,
    /// Run in a process of its own as this user ID (not 0), with `RLIMIT_NPROC` just above the
    /// tasks it runs in, so that embryos often fail with `EAGAIN`; starts at the limit must work.
    pub nproc: Option<u32>,
    /// Now and then a sub-worker under random seccomp filters, whose starts must be refused as
    /// the filters would refuse `execve()`.
    pub seccomp: bool,
}

impl Options {
    /// A campaign of `ops` operations from `seed`, with the default generators.
    pub fn new(seed: u64, ops: u64) -> Self {
        Options {
            seed,
            ops,
            meddler: false,
            verbose: false,
            scm: true,
            sched: true,
            namespaces: false,
            nproc: None,
            seccomp: false,
        }
    }

    /// Whether any operation beyond those of the first campaigns is on.
    pub(crate) fn extended(&self) -> bool {
        self.scm || self.sched || self.namespaces || self.nproc.is_some() || self.seccomp
    }

    /// Whether the campaign runs in a process of its own.
    pub fn isolated(&self) -> bool {
        self.namespaces || self.nproc.is_some()
    }

    /// The options in the words of the command line, for a campaign's heading.
    pub fn describe(&self) -> String {
        let mut s = format!("seed {} ops {}", self.seed, self.ops);
        for (on, name) in [
            (self.meddler, "meddler"),
            (self.namespaces, "namespaces"),
            (self.seccomp, "seccomp"),
            (!self.scm, "no-scm"),
            (!self.sched, "no-sched"),
        ] {
            if on {
                s += " ";
                s += name;
            }
        }
        if let Some(uid) = self.nproc {
            s += &format!(" nproc {uid}");
        }
        s
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new(1, 2000)
    }
}

/// What a campaign did and found.
#[derive(Debug, Default)]
pub struct Report {
    /// Operations run (both threads).
    pub ops: u64,
    /// Results per call: (call, 0 or errno) -> count.
    pub results: BTreeMap<(&'static str, i32), u64>,
    /// Processes started (`pidfd_start()` in place, and copies).
    pub started: u64,
    /// Broken promises, each with the operation and the seed's step.
    pub violations: Vec<String>,
    /// Why the campaign did not run, if it did not (its namespaces or user could not be made):
    /// it is then neither passed nor failed.
    pub skipped: Option<String>,
}

impl Report {
    pub(crate) fn merge(&mut self, other: Report) {
        self.ops += other.ops;
        for (k, v) in other.results {
            *self.results.entry(k).or_default() += v;
        }
        self.started += other.started;
        self.violations.extend(other.violations);
        if self.skipped.is_none() {
            self.skipped = other.skipped;
        }
    }

    /// A report of a campaign that could not run, for `why`.
    pub(crate) fn skip(why: String) -> Self {
        Report {
            skipped: Some(why),
            ..Report::default()
        }
    }

    /// A report of one violation, `what`, outside any operation.
    pub(crate) fn failure(what: String) -> Self {
        Report {
            violations: vec![what],
            ..Report::default()
        }
    }

    /// The report as lines of text, for a forked worker to hand it to its parent.
    pub(crate) fn encode(&self) -> String {
        let mut out = format!("ops {}\nstarted {}\n", self.ops, self.started);
        if let Some(why) = &self.skipped {
            out += &format!("skipped {}\n", escape(why));
        }
        for (&(call, e), n) in &self.results {
            out += &format!("result {e} {n} {call}\n");
        }
        for v in &self.violations {
            out += &format!("violation {}\n", escape(v));
        }
        out
    }

    /// The report that [`Report::encode`] wrote, or what is wrong with the text.
    pub(crate) fn decode(text: &str) -> Result<Report, String> {
        let mut r = Report::default();
        for line in text.lines() {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            let bad = || format!("bad report line {line:?}");
            match tag {
                "ops" => r.ops = rest.parse().map_err(|_| bad())?,
                "started" => r.started = rest.parse().map_err(|_| bad())?,
                "skipped" => r.skipped = Some(unescape(rest)),
                "violation" => r.violations.push(unescape(rest)),
                "result" => {
                    let mut parts = rest.splitn(3, ' ');
                    let (Some(e), Some(n), Some(call)) = (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(bad());
                    };
                    let e: i32 = e.parse().map_err(|_| bad())?;
                    let n: u64 = n.parse().map_err(|_| bad())?;
                    *r.results.entry((intern(call), e)).or_default() += n;
                }
                _ => return Err(bad()),
            }
        }
        Ok(r)
    }

    /// How many calls of `call` returned `errno` (0: succeeded).
    pub fn count(&self, call: &'static str, errno: i32) -> u64 {
        self.results.get(&(call, errno)).copied().unwrap_or(0)
    }

    /// A table of the results, one line per call.
    pub fn summary(&self) -> String {
        let mut out = match &self.skipped {
            Some(why) => format!("skipped: {why}\n"),
            None => String::new(),
        };
        out += &format!(
            "{} operations, {} processes started, {} violations\n",
            self.ops,
            self.started,
            self.violations.len()
        );
        let mut by_call: BTreeMap<&str, Vec<(i32, u64)>> = BTreeMap::new();
        for (&(call, e), &n) in &self.results {
            by_call.entry(call).or_default().push((e, n));
        }
        for (call, list) in by_call {
            let parts: Vec<String> = list
                .iter()
                .map(|&(e, n)| format!("{}={n}", errno_name(e)))
                .collect();
            out += &format!("  {call:<20} {}\n", parts.join(" "));
        }
        out
    }
}

/// `\` and newlines escaped, so that a message is one line.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The name of a call as a `&'static str`, as the results table keys it: each distinct name
/// that a worker reports is kept once for the life of the process.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(n);
    n
}

/// The symbolic name of an errno value (0 is "ok").
pub fn errno_name(e: i32) -> String {
    let names: &[(i32, &str)] = &[
        (0, "ok"),
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::ESRCH, "ESRCH"),
        (libc::EINTR, "EINTR"),
        (libc::EIO, "EIO"),
        (libc::ENXIO, "ENXIO"),
        (libc::E2BIG, "E2BIG"),
        (libc::ENOEXEC, "ENOEXEC"),
        (libc::EBADF, "EBADF"),
        (libc::ECHILD, "ECHILD"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBUSY, "EBUSY"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENODEV, "ENODEV"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENFILE, "ENFILE"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::ETXTBSY, "ETXTBSY"),
        (libc::EFBIG, "EFBIG"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EROFS, "EROFS"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::ELOOP, "ELOOP"),
        (libc::ENODATA, "ENODATA"),
        (libc::EOVERFLOW, "EOVERFLOW"),
        (libc::ELIBBAD, "ELIBBAD"),
        (libc::EMSGSIZE, "EMSGSIZE"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EPIPE, "EPIPE"),
        (libc::EUSERS, "EUSERS"),
        (libc::ENOTSOCK, "ENOTSOCK"),
        (libc::ENOBUFS, "ENOBUFS"),
        (libc::ETOOMANYREFS, "ETOOMANYREFS"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::EXDEV, "EXDEV"),
        (libc::EDOM, "EDOM"),
        (libc::ERANGE, "ERANGE"),
    ];
    names
        .iter()
        .find(|(n, _)| *n == e)
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| format!("errno{e}"))
}

/// The result of a raw syscall: the return value, or the errno.
pub(crate) fn result(ret: libc::c_long) -> Result<libc::c_long, i32> {
    if ret < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(ret)
    }
}

/// `pidfd_start()` on any descriptor number with a `struct pidfd_start_args` of the first size:
/// the return value (a new pidfd for a copy, which the caller owns), or the errno.
pub(crate) fn start_raw(fd: RawFd, args: &mut sys::StartArgs) -> Result<libc::c_long, i32> {
    // SAFETY: `args` is a valid struct of the size given; a bad `fd` is the kernel's to refuse.
    result(unsafe {
        libc::syscall(
            sys::SYS_PIDFD_START,
            fd,
            args as *mut sys::StartArgs,
            sys::START_ARGS_SIZE_VER0,
        )
    })
}

/// What the campaign knows about an embryo it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Never started: every "as a process that does not exist" answer must hold.
    Fresh,
    /// Started in place; its process was reaped.
    Started,
    /// A start failed: the embryo may be spent or not, depending on where it failed.
    Failed,
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) fd: RawFd,
    pub(crate) state: State,
    /// `start-suspended` was set: the started process stops before its first instruction.
    suspended: bool,
}

/// Where a pointer argument points.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A valid copy of the value.
    Valid,
    /// NULL.
    Null,
    /// A kernel address.
    Kernel,
    /// The guard page.
    Guard,
    /// The value, without its terminator where it has one, ending at the guard page.
    Edge,
}

fn place(r: &mut Rng) -> Place {
    match r.below(40) {
        0 => Place::Null,
        1 => Place::Kernel,
        2 => Place::Guard,
        3 | 4 => Place::Edge,
        _ => Place::Valid,
    }
}

/// The state both kinds of worker share.
pub(crate) struct Worker<'a> {
    pub(crate) rng: Rng,
    pub(crate) report: Report,
    pub(crate) scratch: &'a Scratch,
    programs: Vec<Vec<u8>>,
    key_arena: Arena,
    value_arena: Arena,
    out_arena: Arena,
    /// Values whose pointers are passed; kept until the call returned.
    keep: Vec<Vec<u8>>,
    pub(crate) step: u64,
    verbose: bool,
    pub(crate) who: &'static str,
    /// `struct sched_attr` values out of range ([`Options::sched`]).
    wide_sched: bool,
    /// In a sub-worker forked from a process with another thread: print nothing (the other
    /// thread may have held the lock of stderr at the fork); the report carries it all.
    pub(crate) quiet: bool,
}

/// One `pidfd_config()` call that [`Worker::config`] made.
pub(crate) struct ConfigCall {
    /// The key, if a valid pointer to it was passed.
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) cmd: u32,
    /// The value's bytes, and whether a valid pointer to exactly these was passed.
    pub(crate) value: Vec<u8>,
    pub(crate) value_valid: bool,
    pub(crate) aux: i64,
    pub(crate) res: Result<libc::c_long, i32>,
}

impl<'a> Worker<'a> {
    fn new(
        seed: u64,
        scratch: &'a Scratch,
        verbose: bool,
        who: &'static str,
        wide_sched: bool,
    ) -> Self {
        let mut programs: Vec<Vec<u8>> = PROGRAMS
            .iter()
            .map(|p| scratch.cpath(p).into_bytes())
            .collect();
        programs.push(b"noop".to_vec());
        programs.push(b"/nonexistent/program".to_vec());
        programs.push(b"/proc/self/exe/x".to_vec());
        Worker {
            rng: Rng::new(seed),
            report: Report::default(),
            scratch,
            programs,
            // 4 MiB and two pages: a blob at the 4 MiB limit, and one byte more, fit.
            key_arena: Arena::new(2).expect("mmap"),
            value_arena: Arena::new(1026).expect("mmap"),
            out_arena: Arena::new(2).expect("mmap"),
            keep: Vec::new(),
            step: 0,
            verbose,
            who,
            wide_sched,
            quiet: false,
        }
    }

    pub(crate) fn violation(&mut self, what: String) {
        let msg = format!("{} step {}: {what}", self.who, self.step);
        if !self.quiet {
            eprintln!("VIOLATION {msg}");
        }
        self.report.violations.push(msg);
    }

    pub(crate) fn trace(&self, what: &str) {
        if self.verbose && !self.quiet {
            eprintln!("{} {}: {what}", self.who, self.step);
        }
    }

    /// Records a result and checks it against the documented errors of `call`.
    pub(crate) fn check(
        &mut self,
        call: &'static str,
        res: Result<libc::c_long, i32>,
        allowed: &[i32],
        ctx: &str,
    ) {
        let e = match res {
            Ok(_) => 0,
            Err(e) => e,
        };
        *self.report.results.entry((call, e)).or_default() += 1;
        if e == 0 {
            return;
        }
        if e >= KERNEL_ERRNO_MIN {
            self.violation(format!("{call} leaked kernel-internal errno {e} ({ctx})"));
        } else if !allowed.contains(&e) {
            self.violation(format!("{call}: undocumented {} ({ctx})", errno_name(e)));
        }
    }

    /// A pointer to `bytes` (with a NUL added when `nul`) as `p` says, in `arena`.
    fn pointer(&mut self, p: Place, bytes: &[u8], nul: bool, which: u8) -> *const u8 {
        match p {
            Place::Null => ptr::null(),
            Place::Kernel => KERNEL_ADDRESS as *const u8,
            Place::Guard => self.arena(which).guard(),
            Place::Edge => {
                let arena = self.arena(which);
                let n = bytes.len().min(arena.len());
                arena.at_edge(&bytes[..n])
            }
            Place::Valid => {
                let mut v = bytes.to_vec();
                if nul {
                    v.push(0);
                }
                let ptr = v.as_ptr();
                self.keep.push(v);
                ptr
            }
        }
    }

    fn arena(&mut self, which: u8) -> &mut Arena {
        match which {
            0 => &mut self.key_arena,
            _ => &mut self.value_arena,
        }
    }

    /// A descriptor that is not an embryo: a file, a directory, our own pidfd, or none.
    fn other_fd(&mut self, extra: &[RawFd]) -> RawFd {
        // Not 0, 1 or 2: a read() of the log could take bytes of whatever stdin is.
        let mut choices = vec![-1, 9999, libc::AT_FDCWD];
        choices.extend_from_slice(extra);
        *self.rng.pick(&choices)
    }

    /// One `pidfd_config()` call with random arguments on `fd`.
    fn config(&mut self, fd: RawFd, fds: &[RawFd], no_suspend: bool) -> ConfigCall {
        let r = &mut self.rng;
        let cmd: u32 = if r.chance(1, 25) {
            *r.pick(&[7u32, 8, 255, 0x8000_0000, u32::MAX])
        } else {
            r.below(7) as u32
        };
        let mut key = gen::key(r);
        if no_suspend && key == b"start-suspended" {
            key = b"setsid".to_vec();
        }
        let key_place = if cmd == 6 && r.chance(9, 10) {
            Place::Null
        } else {
            place(r)
        };
        let mut aux: i64 = 0;
        let value_place = place(r);
        let mut value: Vec<u8> = Vec::new();
        let mut value_nul = false;
        let mut null_value = false;
        match cmd {
            0 => null_value = r.chance(9, 10),
            1 => {
                value = gen::string(r, &self.programs);
                value_nul = true;
            }
            2 => {
                value = if r.chance(1, 60) {
                    vec![b'b'; *r.pick(&[4 << 20, (4 << 20) + 1])]
                } else if self.wide_sched && key == b"sched" && r.chance(3, 4) {
                    gen::sched_attr_wide(r)
                } else {
                    gen::blob_with(r, self.wide_sched)
                };
                aux = value.len() as i64;
                if r.chance(1, 15) {
                    aux = *r.pick(&[-1i64, 0, 1 << 31, aux + 1, (4 << 20) + 1]);
                }
            }
            3 | 4 => {
                value = gen::string(r, &self.programs);
                value_nul = true;
                if r.chance(1, 4) {
                    value = b"".to_vec();
                }
                aux = *r.pick(&[libc::AT_FDCWD as i64, libc::AT_FDCWD as i64, -1, 9999]);
                if !fds.is_empty() && r.chance(1, 2) {
                    aux = *r.pick(fds) as i64;
                }
            }
            5 => {
                null_value = r.chance(9, 10);
                aux = if fds.is_empty() || r.chance(1, 5) {
                    *r.pick(&[-1i64, 9999, 0, 1, 2])
                } else {
                    *r.pick(fds) as i64
                };
            }
            6 => {
                let a = gen::file_action(r, &self.programs);
                let path_ptr = match &a.path {
                    Some(p) => {
                        let mut v = p.clone();
                        v.push(0);
                        let ptr = v.as_ptr() as u64;
                        self.keep.push(v);
                        if self.rng.chance(1, 20) {
                            KERNEL_ADDRESS as u64
                        } else {
                            ptr
                        }
                    }
                    None => 0,
                };
                let mut raw = a.raw;
                raw.path = path_ptr;
                // SAFETY: `FileActionRaw` is plain integers; its bytes are its value.
                let bytes = unsafe {
                    core::slice::from_raw_parts(
                        ptr::addr_of!(raw).cast::<u8>(),
                        core::mem::size_of::<sys::FileActionRaw>(),
                    )
                };
                value = bytes.to_vec();
                value.resize(a.size.max(value.len()), 0);
                if a.size > sys::FILE_ACTION_SIZE_VER0 && a.tail_nonzero {
                    value[a.size - 1] = 1;
                }
                value.truncate(a.size);
                aux = a.size as i64;
            }
            _ => {
                value = self.rng.bytes(16);
                aux = self.rng.below(64) as i64;
            }
        }
        let key_ptr = self.pointer(key_place, &key, true, 0);
        let value_ptr = if null_value {
            ptr::null()
        } else {
            self.pointer(value_place, &value, value_nul, 1)
        };
        let valid_key = matches!(key_place, Place::Valid) && cmd != 6;
        self.trace(&format!(
            "pidfd_config({fd}, {cmd}, {:?} {key_place:?}, {} bytes {value_place:?}, {aux})",
            String::from_utf8_lossy(&key),
            value.len()
        ));
        // SAFETY: Every pointer is NULL, refused by the kernel, or points to memory that stays
        // valid for the call (`self.keep`, the arenas); the kernel only reads through them.
        let ret = unsafe {
            libc::syscall(
                sys::SYS_PIDFD_CONFIG,
                fd,
                cmd,
                key_ptr,
                value_ptr,
                aux as libc::c_int,
            )
        };
        let res = result(ret);
        self.keep.clear();
        ConfigCall {
            key: valid_key.then_some(key),
            cmd,
            value_valid: !null_value && matches!(value_place, Place::Valid),
            value,
            aux,
            res,
        }
    }

    pub(crate) fn ctx_errno(&self, res: Result<libc::c_long, i32>) -> String {
        match res {
            Ok(v) => format!("ok {v}"),
            Err(e) => errno_name(e),
        }
    }

    /// A violation unless `res` is the error `want`: what an unstarted embryo must answer.
    pub(crate) fn expect_err(&mut self, what: &str, res: Result<libc::c_long, i32>, want: i32) {
        if res != Err(want) {
            let c = self.ctx_errno(res);
            self.violation(format!("{what}: {c}, not {}", errno_name(want)));
        }
    }

    /// `read()` of an embryo's log.
    fn read_log(&mut self, fd: RawFd, strict: bool) {
        let len = *self.rng.pick(&[0usize, 1, 16, 255, 4096]);
        let buf = self.out_arena.at_start(&[]);
        // SAFETY: The out arena has two pages, more than `len`.
        let ret = unsafe { libc::read(fd, buf.cast(), len) };
        let res = result(ret as libc::c_long);
        let allowed: &[i32] = if strict {
            &[libc::ENODATA, libc::EMSGSIZE]
        } else {
            &[
                libc::ENODATA,
                libc::EMSGSIZE,
                libc::EINVAL,
                libc::EBADF,
                libc::EISDIR,
                libc::EAGAIN,
            ]
        };
        self.check("read(log)", res, allowed, &format!("fd {fd}, {len} bytes"));
        if let Ok(n) = res {
            if n as usize > len || (strict && n == 0) {
                self.violation(format!("read(log) of {len} bytes returned {n}"));
            }
        }
    }

    /// The answers an unstarted embryo gives (strict), or any descriptor (not strict). With
    /// `meddling`, only calls that take nothing from whoever owns the descriptor: no read(),
    /// which could take bytes from its reader, and no waitid(), which could reap its child.
    fn probe(&mut self, fd: RawFd, strict: bool, meddling: bool) {
        let which = if meddling {
            *self.rng.pick(&[0, 1, 3, 4, 5, 6, 7])
        } else {
            self.rng.below(9)
        };
        match which {
            0 => {
                // Real signals only to our own embryos: any other descriptor may be a pidfd
                // of this very process.
                let (sig, flags) = if !strict || self.rng.chance(1, 2) {
                    (0, 0)
                } else if self.rng.chance(1, 2) {
                    (0, *self.rng.pick(&[1u32, 2, 4, 8]))
                } else {
                    (
                        *self.rng.pick(&[0, libc::SIGUSR1, libc::SIGKILL, 65, -1]),
                        *self.rng.pick(&[0u32, 1, 2, 4, 8]),
                    )
                };
                // SAFETY: A NULL siginfo is allowed.
                let ret = unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        fd,
                        sig,
                        ptr::null::<u8>(),
                        flags,
                    )
                };
                let res = result(ret);
                let allowed: &[i32] = &[libc::ESRCH, libc::EINVAL, libc::EPERM, libc::EBADF];
                self.check(
                    "pidfd_send_signal",
                    res,
                    allowed,
                    &format!("fd {fd} sig {sig} flags {flags}"),
                );
                if strict && sig == 0 && flags == 0 {
                    self.expect_err("pidfd_send_signal(embryo, 0)", res, libc::ESRCH);
                }
            }
            1 => {
                let flags = if self.rng.chance(3, 4) { 0 } else { 1 };
                // SAFETY: pidfd_getfd() reads no memory.
                let ret = unsafe { libc::syscall(libc::SYS_pidfd_getfd, fd, 0, flags) };
                let res = result(ret);
                if let Ok(got) = res {
                    // SAFETY: A descriptor the kernel just gave us.
                    unsafe { libc::close(got as RawFd) };
                }
                let allowed: &[i32] = &[libc::ESRCH, libc::EINVAL, libc::EBADF, libc::EPERM];
                self.check(
                    "pidfd_getfd",
                    res,
                    allowed,
                    &format!("fd {fd} flags {flags}"),
                );
                if strict && flags == 0 {
                    self.expect_err("pidfd_getfd(embryo)", res, libc::ESRCH);
                }
            }
            2 => {
                // SAFETY: An all-zero siginfo_t is valid.
                let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
                // SAFETY: `info` is a valid place for the result.
                let ret = unsafe {
                    libc::waitid(
                        P_PIDFD,
                        fd as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOHANG,
                    )
                };
                let res = result(ret as libc::c_long);
                self.check(
                    "waitid(P_PIDFD)",
                    res,
                    &[libc::ECHILD, libc::EBADF, libc::EINVAL],
                    &format!("fd {fd}"),
                );
                if strict {
                    self.expect_err("waitid(P_PIDFD, embryo)", res, libc::ECHILD);
                }
            }
            3 => {
                // A pidfd's setns() needs at least one namespace; with one, an embryo has no task
                // to take it from.
                let flags = if strict && self.rng.chance(1, 2) {
                    libc::CLONE_NEWUTS
                } else {
                    *self
                        .rng
                        .pick(&[0, libc::CLONE_NEWNET, libc::CLONE_NEWUTS, 1])
                };
                // SAFETY: setns() reads no memory. The descriptor is an embryo, a reaped process
                // or not a pidfd of a process at all: it cannot move us anywhere.
                let ret = unsafe { libc::setns(fd, flags) };
                let res = result(ret as libc::c_long);
                self.check(
                    "setns",
                    res,
                    &[libc::ESRCH, libc::EINVAL, libc::EBADF, libc::EPERM],
                    &format!("fd {fd} flags {flags:#x}"),
                );
                if strict && flags == libc::CLONE_NEWUTS {
                    self.expect_err("setns(embryo, CLONE_NEWUTS)", res, libc::ESRCH);
                }
            }
            4 => {
                let mut byte = 0u8;
                let iov = libc::iovec {
                    iov_base: ptr::addr_of_mut!(byte).cast(),
                    iov_len: 1,
                };
                // SAFETY: One iovec of one byte of ours; MADV_COLD only hints.
                let ret = unsafe {
                    libc::syscall(
                        libc::SYS_process_madvise,
                        fd,
                        &iov as *const libc::iovec,
                        1,
                        libc::MADV_COLD,
                        0,
                    )
                };
                let res = result(ret);
                self.check(
                    "process_madvise",
                    res,
                    &[libc::ESRCH, libc::EINVAL, libc::EBADF, libc::EPERM],
                    &format!("fd {fd}"),
                );
                if strict {
                    self.expect_err("process_madvise(embryo)", res, libc::ESRCH);
                }
            }
            5 => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: One pollfd of ours; no waiting.
                let ret = unsafe { libc::poll(&mut p, 1, 0) };
                let res = result(ret as libc::c_long);
                self.check("poll", res, &[], &format!("fd {fd}"));
                if strict && (ret != 0 || p.revents != 0) {
                    self.violation(format!("poll(embryo): {ret}, revents {:#x}", p.revents));
                }
            }
            6 => {
                let mut info = [0u64; INFO_SIZE / 8];
                info[0] = *self.rng.pick(&[0, INFO_EXIT, INFO_PID, u64::MAX]);
                // SAFETY: `info` has the size the command encodes.
                let ret = unsafe { libc::ioctl(fd, PIDFD_GET_INFO, info.as_mut_ptr()) };
                let res = result(ret as libc::c_long);
                self.check(
                    "PIDFD_GET_INFO",
                    res,
                    &[libc::ESRCH, libc::EINVAL, libc::ENOTTY, libc::EBADF],
                    &format!("fd {fd}"),
                );
                if strict {
                    let pid = info[2] as u32;
                    if res.is_err()
                        || info[0] & (INFO_PID | INFO_EMBRYO) != INFO_PID | INFO_EMBRYO
                        || pid == 0
                    {
                        let c = self.ctx_errno(res);
                        self.violation(format!(
                            "PIDFD_GET_INFO(embryo): {c}, mask {:#x}, pid {pid}",
                            info[0]
                        ));
                    }
                }
            }
            7 => {
                let text = fs::read_to_string(format!("/proc/self/fdinfo/{fd}"));
                *self.report.results.entry(("fdinfo", 0)).or_default() += 1;
                if strict {
                    match text {
                        Ok(t) if t.contains("\nPid:\t-1\n") && t.contains("\nEmbryo:\t") => {}
                        other => self.violation(format!("fdinfo of an embryo: {other:?}")),
                    }
                }
            }
            _ => self.read_log(fd, strict),
        }
    }
}

/// The thread that owns the embryos: opens, configures, starts, probes and closes them.
pub(crate) struct Owner<'a> {
    pub(crate) w: Worker<'a>,
    pub(crate) slots: Vec<Slot>,
    /// Descriptors that are not embryos: a file, a directory, our own pidfd.
    pub(crate) others: Vec<RawFd>,
    /// Whether a meddler runs beside.
    pub(crate) meddled: bool,
    /// The options, for the operations they add.
    pub(crate) opts: Options,
}

pub(crate) const SLOTS: usize = 4;

impl<'a> Owner<'a> {
    fn new(opts: &Options, scratch: &'a Scratch) -> Self {
        let mut others = Vec::new();
        for (path, flags) in [
            (scratch.cpath("data"), libc::O_RDONLY),
            (scratch.cpath("dir"), libc::O_RDONLY | libc::O_DIRECTORY),
            (CString::new("/dev/null").expect("no NUL"), libc::O_RDWR),
        ] {
            // SAFETY: A NUL-terminated path.
            let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
            assert!(fd >= 0, "open {path:?}");
            others.push(fd);
        }
        // SAFETY: pidfd_open() of ourselves reads no memory.
        let me = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
        assert!(me >= 0, "pidfd_open(self)");
        others.push(me as RawFd);
        Owner {
            w: Worker::new(opts.seed, scratch, opts.verbose, "owner", opts.sched),
            slots: Vec::new(),
            others,
            meddled: opts.meddler,
            opts: opts.clone(),
        }
    }

    fn all_fds(&self) -> Vec<RawFd> {
        let mut v: Vec<RawFd> = self.slots.iter().map(|s| s.fd).collect();
        v.extend_from_slice(&self.others);
        v
    }

    /// A slot index, or None when there is none.
    pub(crate) fn slot(&mut self) -> Option<usize> {
        if self.slots.is_empty() {
            None
        } else {
            Some(self.w.rng.index(self.slots.len()))
        }
    }

    fn op(&mut self) {
        // The added operations draw from the generator only when one of them is on, so that
        // without them a seed runs what it always ran.
        if self.opts.extended() {
            let x = self.w.rng.below(1000);
            if self.special(x) {
                return;
            }
        }
        match self.w.rng.below(100) {
            0..=9 => self.open(),
            10..=49 => self.config(),
            50..=57 => self.set_program(),
            58..=71 => self.start(),
            72..=89 => {
                if let Some(i) = self.slot() {
                    let (fd, strict) = (self.slots[i].fd, self.slots[i].state == State::Fresh);
                    self.w.probe(fd, strict, false);
                } else {
                    let fd = self.w.other_fd(&self.others.clone());
                    self.w.probe(fd, false, false);
                }
            }
            90..=95 => self.close(),
            // The limit is the process's: with a meddler, its descriptors come and go meanwhile.
            _ if self.meddled => self.close(),
            _ => self.squeeze(),
        }
    }

    fn open(&mut self) {
        if self.slots.len() >= SLOTS {
            self.close();
        }
        let r = &mut self.w.rng;
        let pid: libc::c_long = if r.chance(9, 10) {
            0
        } else {
            *r.pick(&[1, -1, i32::MAX as libc::c_long])
        };
        let mut flags = sys::PIDFD_EMPTY;
        if r.chance(1, 5) {
            let bit = 1 << r.below(32);
            flags |= *r.pick(&[
                libc::O_NONBLOCK as u32,
                libc::O_EXCL as u32,
                libc::O_TRUNC as u32,
                bit,
            ]);
        }
        self.w.trace(&format!("pidfd_open({pid}, {flags:#x})"));
        // SAFETY: pidfd_open() reads no memory.
        let res = result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) });
        self.w.check(
            "pidfd_open(EMPTY)",
            res,
            OPEN_ERRORS,
            &format!("pid {pid} flags {flags:#x}"),
        );
        let valid = pid == 0 && (flags & !(sys::PIDFD_EMPTY | libc::O_NONBLOCK as u32)) == 0;
        match res {
            Ok(fd) => {
                if !valid {
                    self.w
                        .violation(format!("pidfd_open({pid}, {flags:#x}) succeeded"));
                }
                self.slots.push(Slot {
                    fd: fd as RawFd,
                    state: State::Fresh,
                    suspended: false,
                });
            }
            Err(e) if valid && e != libc::EAGAIN && e != libc::ENOMEM => {
                self.w
                    .violation(format!("pidfd_open(0, {flags:#x}): {}", errno_name(e)));
            }
            Err(e) if !valid && e != libc::EINVAL => {
                self.w.violation(format!(
                    "pidfd_open({pid}, {flags:#x}): {}, not EINVAL",
                    errno_name(e)
                ));
            }
            Err(_) => {}
        }
    }

    fn config(&mut self) {
        let fds = self.all_fds();
        let (fd, slot) = match self.slot() {
            Some(i) if self.w.rng.chance(9, 10) => (self.slots[i].fd, Some(i)),
            _ => (self.w.other_fd(&self.others.clone()), None),
        };
        let call = self.w.config(fd, &fds, false);
        let (key, res) = (call.key.clone(), call.res);
        let ctx = format!(
            "fd {fd}, key {:?}",
            key.as_deref().map(String::from_utf8_lossy)
        );
        self.w.check("pidfd_config", res, CONFIG_ERRORS, &ctx);
        if let Some(i) = slot {
            if self.opts.sched && self.slots[i].state == State::Fresh {
                self.check_sched_config(&call, &ctx);
            }
        }
        if let (Some(i), Ok(_)) = (slot, res) {
            if key.as_deref() == Some(b"start-suspended") {
                self.slots[i].suspended = true;
            }
            if self.slots[i].state == State::Started {
                self.w.violation(format!(
                    "pidfd_config succeeded on a started embryo ({ctx})"
                ));
            }
        }
        if slot.is_none() && res.is_ok() {
            self.w.violation(format!(
                "pidfd_config succeeded on a descriptor that is no embryo ({ctx})"
            ));
        }
        if let (Some(i), Err(_)) = (slot, res) {
            if self.w.rng.chance(1, 3) {
                let fd = self.slots[i].fd;
                let strict = self.slots[i].state != State::Started;
                self.w.read_log(fd, strict);
            }
        }
    }

    /// A well-formed program for a fresh embryo, mostly one that runs: starts need it.
    fn set_program(&mut self) {
        let Some(i) = self.slot() else {
            return self.open();
        };
        if self.slots[i].state != State::Fresh {
            return self.close();
        }
        let name = if self.w.rng.chance(4, 5) {
            *self.w.rng.pick(&RUNNABLE)
        } else {
            *self.w.rng.pick(&PROGRAMS)
        };
        let path = self.w.scratch.cpath(name);
        let fd = self.slots[i].fd;
        self.w.trace(&format!("set path {path:?} on {fd}"));
        // SAFETY: The key and the value are NUL-terminated strings.
        let res = result(unsafe {
            libc::syscall(
                sys::SYS_PIDFD_CONFIG,
                fd,
                1,
                c"path".as_ptr(),
                path.as_ptr(),
                0,
            )
        });
        self.w.check("pidfd_config", res, CONFIG_ERRORS, "path");
        if res.is_err() {
            self.w.violation(format!(
                "setting path {path:?} on a fresh embryo: {}",
                self.w.ctx_errno(res)
            ));
        }
    }

    /// Whether a `sched` blob set on an unstarted embryo got the answer its bytes call for.
    fn check_sched_config(&mut self, call: &ConfigCall, ctx: &str) {
        let plain = call.key.as_deref() == Some(b"sched")
            && call.cmd == 2
            && call.value_valid
            && call.aux == call.value.len() as i64
            && !call.value.is_empty();
        if !plain || call.res == Err(libc::ENOMEM) {
            return;
        }
        let want = gen::sched_config_result(&call.value);
        if call.res.map(|_| ()) != want {
            let got = self.w.ctx_errno(call.res);
            let want = want.err().map_or("ok".into(), errno_name);
            self.w.violation(format!(
                "sched of {} bytes: {got}, not {want} ({ctx})",
                call.value.len()
            ));
        }
    }

    fn start(&mut self) {
        let (fd, slot) = match self.slot() {
            Some(i) if self.w.rng.chance(19, 20) => (self.slots[i].fd, Some(i)),
            _ => (self.w.other_fd(&self.others.clone()), None),
        };
        let r = &mut self.w.rng;
        let flags: u64 = match r.below(20) {
            0..=13 => 0,
            14..=18 => sys::START_COPY,
            _ => *r.pick(&[2u64, 1 << 63, u64::MAX]),
        };
        let size: usize = if r.chance(17, 20) {
            sys::START_ARGS_SIZE_VER0
        } else {
            *r.pick(&[0usize, 8, 15, 24, 4096, 4097])
        };
        let pid_in: u64 = if r.chance(19, 20) { 0 } else { 1 };
        let tail_nonzero = size > 16 && r.chance(1, 2);
        let p = place(r);
        let mut bytes = vec![0u8; size.min(PAGE)];
        if bytes.len() >= 16 {
            bytes[..8].copy_from_slice(&flags.to_ne_bytes());
            bytes[8..16].copy_from_slice(&pid_in.to_ne_bytes());
        }
        if tail_nonzero && bytes.len() > 16 {
            let n = bytes.len();
            bytes[n - 1] = 1;
        }
        let args: *mut u8 = match p {
            Place::Null => ptr::null_mut(),
            Place::Kernel => KERNEL_ADDRESS as *mut u8,
            Place::Guard => self.w.out_arena.guard(),
            Place::Edge => self.w.out_arena.at_edge(&bytes),
            Place::Valid => self.w.out_arena.at_start(&bytes),
        };
        let off = args as usize;
        self.w.trace(&format!(
            "pidfd_start({fd}, {p:?} flags {flags:#x} pid {pid_in}, {size})"
        ));
        // SAFETY: `args` is NULL, refused by the kernel, or in the out arena with `size` bytes
        // readable up to its guard page, which faults; the kernel writes only the pid field.
        let res = result(unsafe { libc::syscall(sys::SYS_PIDFD_START, fd, args, size) });
        self.w.check(
            "pidfd_start",
            res,
            START_ERRORS,
            &format!("fd {fd} flags {flags:#x} size {size} {p:?}"),
        );
        let suspended = slot.is_some_and(|i| self.slots[i].suspended);
        match res {
            Ok(ret) => {
                self.w.report.started += 1;
                // The pid field, from where the kernel wrote it.
                // SAFETY: The call succeeded, so the 16 bytes at `args` were readable and the
                // kernel wrote the pid at offset 8.
                let pid = unsafe { ptr::read_unaligned((off + 8) as *const u64) };
                let Some(i) = slot else {
                    self.w
                        .violation(format!("pidfd_start succeeded on {fd}, not an embryo"));
                    return;
                };
                if flags == sys::START_COPY {
                    let copy = ret as RawFd;
                    self.reap(copy, pid, suspended);
                    // SAFETY: The copy's pidfd is ours.
                    unsafe { libc::close(copy) };
                } else {
                    if ret != 0 {
                        self.w
                            .violation(format!("pidfd_start in place returned {ret}"));
                    }
                    self.reap(fd, pid, suspended);
                    self.slots[i].state = State::Started;
                    self.after_start(fd);
                }
            }
            Err(e) => {
                self.no_child(&format!("failed pidfd_start ({})", errno_name(e)));
                if let Some(i) = slot {
                    if flags != sys::START_COPY && self.slots[i].state == State::Fresh {
                        self.slots[i].state = State::Failed;
                    }
                    if self.w.rng.chance(1, 2) {
                        self.w.read_log(fd, false);
                    }
                }
            }
        }
    }

    /// A started embryo refuses a second start and more configuration.
    pub(crate) fn after_start(&mut self, fd: RawFd) {
        let mut args = sys::StartArgs::default();
        let res = start_raw(fd, &mut args);
        if res != Err(libc::EBUSY) {
            let c = self.w.ctx_errno(res);
            self.w
                .violation(format!("second pidfd_start: {c}, not EBUSY"));
        }
        // SAFETY: The key is a NUL-terminated string; a flag takes no value.
        let res = result(unsafe {
            libc::syscall(
                sys::SYS_PIDFD_CONFIG,
                fd,
                0,
                c"setsid".as_ptr(),
                ptr::null::<u8>(),
                0,
            )
        });
        if res != Err(libc::EBUSY) {
            let c = self.w.ctx_errno(res);
            self.w
                .violation(format!("pidfd_config after the start: {c}, not EBUSY"));
        }
    }

    /// Waits for the process of `pidfd`, which `pidfd_start()` said is `pid`, and checks it.
    pub(crate) fn reap(&mut self, pidfd: RawFd, pid: u64, suspended: bool) {
        if pid == 0 || pid > i32::MAX as u64 {
            self.w.violation(format!("pidfd_start returned pid {pid}"));
        }
        if suspended {
            // SAFETY: pidfd_send_signal() with a NULL siginfo reads no memory.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    pidfd,
                    libc::SIGKILL,
                    ptr::null::<u8>(),
                    0,
                )
            };
        }
        let mut waited = 0;
        loop {
            let mut p = libc::pollfd {
                fd: pidfd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: One pollfd of ours.
            if unsafe { libc::poll(&mut p, 1, 10_000) } > 0 {
                break;
            }
            waited += 10;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let stopped = stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T') || rest.starts_with('t'));
            if !stopped || waited >= 120 {
                self.w.violation(format!(
                    "process {pid} still runs after {waited} s: {stat:?}"
                ));
            }
            if stopped || waited >= 120 {
                // SAFETY: As above.
                unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        pidfd,
                        libc::SIGKILL,
                        ptr::null::<u8>(),
                        0,
                    )
                };
            }
        }
        // SAFETY: An all-zero siginfo_t is valid.
        let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
        // SAFETY: `info` is a valid place for the result.
        let ret = unsafe { libc::waitid(P_PIDFD, pidfd as libc::id_t, &mut info, libc::WEXITED) };
        if ret != 0 {
            let e = result(-1);
            let c = self.w.ctx_errno(e);
            self.w
                .violation(format!("waitid of started process {pid}: {c}"));
            return;
        }
        // SAFETY: waitid() filled in a SIGCHLD siginfo.
        let (spid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if spid as u64 != pid {
            self.w
                .violation(format!("waitid reports pid {spid}, pidfd_start said {pid}"));
        }
        match info.si_code {
            libc::CLD_EXITED if status != 0 => {
                self.w.violation(format!(
                    "process {pid} exited {status}: its exec failed after a successful start"
                ));
            }
            libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED => {}
            c => self.w.violation(format!("process {pid}: si_code {c}")),
        }
        drain_sigchld();
    }

    /// No zombie to reap and no SIGCHLD pending: what a failed start must leave.
    pub(crate) fn no_child(&mut self, what: &str) {
        // SAFETY: An empty set to fill.
        let pending = unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigpending(&mut set);
            libc::sigismember(&set, libc::SIGCHLD) == 1
        };
        if pending {
            self.w.violation(format!("SIGCHLD pending after {what}"));
            drain_sigchld();
        }
        // SAFETY: An all-zero siginfo_t is valid.
        let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
        // SAFETY: `info` is a valid place for the result.
        let ret = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG) };
        let res = result(ret as libc::c_long);
        if res != Err(libc::ECHILD) {
            let c = self.w.ctx_errno(res);
            // SAFETY: waitid() filled in a SIGCHLD siginfo, or left it zero.
            let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
            let stat = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            self.w.violation(format!(
                "a child exists after {what}: waitid {c}, pid {pid} code {} status {status} {stat:?}",
                info.si_code
            ));
        }
    }

    pub(crate) fn close(&mut self) {
        if let Some(i) = self.slot() {
            let s = self.slots.swap_remove(i);
            self.w.trace(&format!("close({})", s.fd));
            // SAFETY: The slot's descriptor is ours.
            if unsafe { libc::close(s.fd) } != 0 {
                self.w.violation(format!("close of embryo {} failed", s.fd));
            }
        }
    }

    /// The descriptor limit lowered to the lowest free descriptor: a new embryo must fail with
    /// EMFILE, and a copy's start must fail; then the limit is restored.
    fn squeeze(&mut self) {
        // SAFETY: dup() and close() of a descriptor we hold.
        let lowest = unsafe {
            let d = libc::dup(0);
            if d >= 0 {
                libc::close(d);
            }
            d
        };
        if lowest < 0 {
            return;
        }
        // SAFETY: An rlimit struct to fill.
        let mut old: libc::rlimit = unsafe { core::mem::zeroed() };
        // SAFETY: A valid rlimit struct.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) };
        let low = libc::rlimit {
            rlim_cur: lowest as libc::rlim_t,
            rlim_max: old.rlim_max,
        };
        self.w.trace(&format!("RLIMIT_NOFILE {lowest}"));
        // SAFETY: As above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) };
        // SAFETY: pidfd_open() reads no memory.
        let res = result(unsafe { libc::syscall(libc::SYS_pidfd_open, 0, sys::PIDFD_EMPTY) });
        self.w
            .check("pidfd_open(EMPTY)", res, OPEN_ERRORS, "at RLIMIT_NOFILE");
        match res {
            Err(libc::EMFILE) => {}
            Ok(fd) => {
                // SAFETY: Ours.
                unsafe { libc::close(fd as RawFd) };
                self.w
                    .violation("pidfd_open(PIDFD_EMPTY) beyond RLIMIT_NOFILE succeeded".into());
            }
            Err(e) => self.w.violation(format!(
                "pidfd_open(PIDFD_EMPTY) at RLIMIT_NOFILE: {}",
                errno_name(e)
            )),
        }
        if let Some(i) = self.slot() {
            if self.slots[i].state == State::Fresh {
                let fd = self.slots[i].fd;
                let mut args = sys::StartArgs {
                    flags: sys::START_COPY,
                    pid: 0,
                };
                let res = start_raw(fd, &mut args);
                self.w
                    .check("pidfd_start", res, START_ERRORS, "copy at RLIMIT_NOFILE");
                if let Ok(copy) = res {
                    self.w.violation(
                        "pidfd_start(PIDFD_START_COPY) beyond RLIMIT_NOFILE succeeded".into(),
                    );
                    let suspended = self.slots[i].suspended;
                    self.reap(copy as RawFd, args.pid, suspended);
                    // SAFETY: Ours.
                    unsafe { libc::close(copy as RawFd) };
                } else {
                    self.no_child("pidfd_start(PIDFD_START_COPY) at RLIMIT_NOFILE");
                }
            }
        }
        // SAFETY: As above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
    }

    fn finish(mut self) -> Report {
        while !self.slots.is_empty() {
            self.close();
        }
        for fd in self.others.drain(..) {
            // SAFETY: Ours.
            unsafe { libc::close(fd) };
        }
        self.no_child("the campaign");
        self.w.report
    }
}

/// Takes any pending SIGCHLD (blocked in every thread of a campaign).
pub(crate) fn drain_sigchld() {
    // SAFETY: A set with SIGCHLD, and a zero timeout.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        while libc::sigtimedwait(&set, ptr::null_mut(), &zero) == libc::SIGCHLD {}
    }
}

/// The descriptors the process holds.
fn open_fds() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    // The descriptor read_dir() itself used is gone again; it may be any number, so compare
    // counts, not sets.
    v
}

/// The second thread: configuration and probes on whatever descriptor numbers the owner may
/// hold; never a start, a close, a read() or a waitid().
fn meddle(seed: u64, scratch: &Scratch, stop: &AtomicBool, verbose: bool, sched: bool) -> Report {
    let mut w = Worker::new(
        seed ^ 0x5eed_0f0d_dba1_1e55,
        scratch,
        verbose,
        "meddler",
        sched,
    );
    while !stop.load(Ordering::Relaxed) {
        w.step += 1;
        w.report.ops += 1;
        let fd = 3 + w.rng.below(12) as RawFd;
        match w.rng.below(3) {
            0 | 1 => {
                let fds: Vec<RawFd> = (0..16).collect();
                let call = w.config(fd, &fds, true);
                let ctx = format!(
                    "fd {fd}, key {:?}",
                    call.key.as_deref().map(String::from_utf8_lossy)
                );
                w.check("pidfd_config", call.res, CONFIG_ERRORS, &ctx);
            }
            _ => w.probe(fd, false, true),
        }
    }
    w.report
}

/// Runs one campaign in a scratch directory of its own, which is the working directory
/// meanwhile: in this process, or with [`Options::namespaces`] or [`Options::nproc`] in a
/// forked process of its own, which may report the campaign as skipped.
pub fn run(opts: &Options) -> Report {
    if opts.isolated() {
        return isolate::run_isolated(opts, isolate::timeout(opts), run_in);
    }
    let scratch = Scratch::new(&format!("{:x}", opts.seed)).expect("scratch directory");
    let env = Env {
        isolated: false,
        final_opens: u64::from(opts.extended()),
    };
    run_in(opts, &scratch, &env)
}

/// Runs one campaign in `scratch`, in this process as it is.
pub(crate) fn run_in(opts: &Options, scratch: &Scratch, env: &Env) -> Report {
    let cwd = std::env::current_dir().expect("current directory");
    std::env::set_current_dir(scratch.dir()).expect("chdir to the scratch directory");
    // SIGCHLD blocked (and inherited by the meddler), so that its arrival can be checked.
    // SAFETY: Sets of our own; the old mask is restored below.
    let old_mask = unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    };
    drain_sigchld();
    let fds_before = open_fds().len();

    let stop = Arc::new(AtomicBool::new(false));
    let mut report = thread::scope(|s| {
        let meddler = opts.meddler.then(|| {
            let stop = stop.clone();
            let (seed, verbose, sched) = (opts.seed, opts.verbose, opts.sched);
            s.spawn(move || meddle(seed, scratch, &stop, verbose, sched))
        });
        let mut owner = Owner::new(opts, scratch);
        for step in 1..=opts.ops {
            owner.w.step = step;
            owner.w.report.ops += 1;
            owner.op();
        }
        let mut report = owner.finish();
        stop.store(true, Ordering::Relaxed);
        if let Some(m) = meddler {
            report.merge(m.join().expect("the meddler panicked"));
        }
        report
    });

    if env.final_opens > 0 {
        final_opens(&mut report, env.final_opens);
    }
    let fds_after = open_fds().len();
    if fds_after != fds_before {
        report.violations.push(format!(
            "the campaign held {fds_before} descriptors before and {fds_after} after"
        ));
    }
    // SAFETY: The mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, ptr::null_mut()) };
    if env.isolated {
        // A forked worker ends here; its caller's directory may be out of its reach.
        let _ = std::env::set_current_dir(cwd);
    } else {
        std::env::set_current_dir(cwd).expect("chdir back");
    }
    report
}

/// Once everything is closed: `count` embryos must open (and are closed again), so that no
/// embryo, start or socket left an `RLIMIT_NPROC` or `pids.max` charge behind. `EAGAIN` is
/// retried for a while: a process whose start failed, or the meddler's thread, is released by
/// the kernel a moment after it is gone for user space.
fn final_opens(report: &mut Report, count: u64) {
    let mut fds = Vec::new();
    for i in 0..count {
        let mut tries = 0;
        let res = loop {
            // SAFETY: pidfd_open() reads no memory.
            let res = result(unsafe { libc::syscall(libc::SYS_pidfd_open, 0, sys::PIDFD_EMPTY) });
            if res != Err(libc::EAGAIN) || tries >= 100 {
                break res;
            }
            tries += 1;
            thread::sleep(Duration::from_millis(20));
        };
        *report
            .results
            .entry(("pidfd_open(end)", res.err().unwrap_or(0)))
            .or_default() += 1;
        match res {
            Ok(fd) => fds.push(fd as RawFd),
            Err(e) => {
                report.violations.push(format!(
                    "at the end, with everything closed, embryo {} of {count} failed: {}",
                    i + 1,
                    errno_name(e)
                ));
                break;
            }
        }
    }
    for fd in fds {
        // SAFETY: Ours.
        unsafe { libc::close(fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_survive_their_text() {
        let mut r = Report {
            ops: 12,
            started: 3,
            skipped: Some("no\\time\nnamespaces".into()),
            ..Report::default()
        };
        r.results
            .insert(("pidfd_start(newpid)", libc::EOPNOTSUPP), 4);
        r.results.insert(("read(log)", 0), 1);
        r.violations
            .push("owner step 9: two\nlines, a \\n and \\".into());
        let back = Report::decode(&r.encode()).unwrap();
        assert_eq!(back.ops, 12);
        assert_eq!(back.started, 3);
        assert_eq!(back.skipped, r.skipped);
        assert_eq!(back.results, r.results);
        assert_eq!(back.violations, r.violations);
        assert!(Report::decode("result x 1 y\n").is_err());
        assert!(Report::decode("nonsense\n").is_err());
        let mut sum = Report::default();
        sum.merge(back);
        sum.merge(Report::decode(&r.encode()).unwrap());
        assert_eq!(sum.count("pidfd_start(newpid)", libc::EOPNOTSUPP), 8);
        assert!(sum.summary().starts_with("skipped: no\\time\nnamespaces\n"));
    }

    #[test]
    fn without_the_new_options_nothing_new_is_drawn() {
        let mut o = Options::new(1, 1);
        assert!(o.extended() && !o.isolated());
        o.scm = false;
        o.sched = false;
        assert!(!o.extended());
        assert_eq!(o.describe(), "seed 1 ops 1 no-scm no-sched");
        o.nproc = Some(54500);
        assert!(o.extended() && o.isolated());
    }
}
