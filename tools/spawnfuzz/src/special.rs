// SPDX-License-Identifier: GPL-2.0
//! The rarer operations of a campaign, each with checks of its own, added by the options of
//! [`Options`](crate::Options):
//!
//! - `scm`: embryos and pidfds sent with `SCM_RIGHTS` over a unix socket pair. An unstarted
//!   embryo, alone or among other descriptors, must be refused with `EINVAL` and leave nothing
//!   queued; a started one must pass. The loop an embryo could make (it captured one end of the
//!   pair as `fd:N` and is sent over the other) is refused, started, then passed; io_uring
//!   files, unstarted embryos and the embryo itself must not be captured (`EINVAL`), a started
//!   one must. Everything is closed in a random order afterwards.
//! - `sched`: a suspended process started with a `sched` nice value from far out of range must
//!   run at the clamped value, or the start must fail with `EPERM` if the caller may not lower
//!   its nice value that far.
//! - `nproc`: embryos opened until `RLIMIT_NPROC` refuses one (`EAGAIN`); a start of one of them
//!   right at the limit must work, and once its process is reaped an embryo must open again.
//! - `namespaces`: a forked sub-worker makes embryos, calls `unshare(CLONE_NEWPID)`, and then
//!   every start of them, in place or as a copy, and every new embryo must fail with
//!   `EOPNOTSUPP`, the embryos staying embryos.
//! - `seccomp`: a forked sub-worker installs one or two random filters; its starts must fail as
//!   the filters would answer `execve()` (see [`crate::seccomp`]), and it must survive them.
//!
//! Where a strict answer depends on the configuration the operation made, it holds only when no
//! meddler runs, since the meddler may configure any embryo meanwhile. Sub-workers are forked
//! processes without a meddler; they hand their results back through a pipe.

use crate::{
    campaign::{
        drain_sigchld, errno_name, result, start_raw, Owner, Report, State, OPEN_ERRORS,
        START_ERRORS,
    },
    gen,
    scm::{self, MAX_FDS},
    seccomp,
};
use pidfd_embryo::sys;
use std::{
    ffi::CStr,
    fs::{self, File},
    io::{self, Read, Write},
    os::fd::{FromRawFd, RawFd},
    panic::{self, AssertUnwindSafe},
    ptr, thread,
    time::Duration,
};

/// The errors `sendmsg(2)` of one byte and a few descriptors may give on a fresh unix socket
/// pair: `EINVAL` for what `SCM_RIGHTS` refuses, and lack of memory or of in-flight room.
const SEND_ERRORS: &[i32] = &[
    libc::EINVAL,
    libc::ENOMEM,
    libc::ENOBUFS,
    libc::ETOOMANYREFS,
    libc::EAGAIN,
];

/// What a send must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `EINVAL`, and nothing queued: an unstarted embryo or an io_uring is in the message.
    Refused,
    /// One byte sent: every descriptor may travel.
    Passes,
    /// Either: an embryo whose start failed is an unstarted embryo or not, by where it failed.
    Either,
}

/// How long a sub-worker may run before its alarm ends it.
const SUB_WORKER_SECS: u32 = 30;

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl Owner<'_> {
    /// Runs the added operation that `x` (below 1000) draws, if its option is on; whether one
    /// ran. Each is rare: 2 % `SCM_RIGHTS`, 0.8 % sched probes, 1 % starts at `RLIMIT_NPROC`,
    /// 0.5 % seccomp and 0.3 % pid namespace sub-workers.
    pub(crate) fn special(&mut self, x: u64) -> bool {
        match x {
            0..=19 if self.opts.scm => self.scm(),
            20..=27 if self.opts.sched => self.sched_probe(),
            28..=30 if self.opts.namespaces => self.sub_worker("newpid sub-worker", Self::newpid),
            31..=35 if self.opts.seccomp => {
                self.sub_worker("seccomp sub-worker", Self::seccomp_filtered)
            }
            36..=45 if self.opts.nproc.is_some() => self.at_limit(),
            _ => return false,
        }
        true
    }

    /// `pidfd_open(0, PIDFD_EMPTY)` for an operation's own use, recorded as `call`; None if it
    /// failed as it may (`EAGAIN` at `RLIMIT_NPROC`, `ENOMEM`), a violation if otherwise.
    fn new_embryo(&mut self, call: &'static str) -> Option<RawFd> {
        // SAFETY: pidfd_open() reads no memory.
        let res = result(unsafe { libc::syscall(libc::SYS_pidfd_open, 0, sys::PIDFD_EMPTY) });
        self.w.check(call, res, OPEN_ERRORS, "a new embryo");
        match res {
            Ok(fd) => Some(fd as RawFd),
            Err(libc::EAGAIN | libc::ENOMEM) => None,
            Err(e) => {
                self.w
                    .violation(format!("pidfd_open(0, PIDFD_EMPTY): {}", errno_name(e)));
                None
            }
        }
    }

    /// [`Owner::new_embryo`], retried for a while on `EAGAIN`: the charge of a process whose
    /// start failed goes a moment after the start returned.
    fn new_embryo_retrying(&mut self, call: &'static str) -> Result<RawFd, i32> {
        for _ in 0..100 {
            // SAFETY: pidfd_open() reads no memory.
            let res = result(unsafe { libc::syscall(libc::SYS_pidfd_open, 0, sys::PIDFD_EMPTY) });
            if res != Err(libc::EAGAIN) {
                self.w.check(call, res, OPEN_ERRORS, "a new embryo");
                return res.map(|fd| fd as RawFd);
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.w
            .check(call, Err(libc::EAGAIN), OPEN_ERRORS, "a new embryo");
        Err(libc::EAGAIN)
    }

    /// One `pidfd_config()` call with a key, a value and `aux`.
    fn config_raw(
        &mut self,
        fd: RawFd,
        cmd: u32,
        key: &CStr,
        value: *const u8,
        aux: libc::c_int,
    ) -> Result<libc::c_long, i32> {
        self.w.trace(&format!(
            "pidfd_config({fd}, {cmd}, {key:?}, {}, {aux})",
            if value.is_null() { "NULL" } else { "value" }
        ));
        // SAFETY: `key` is NUL-terminated; `value` is NULL or points to what `cmd` takes, alive
        // for the call (the callers pass strings and slices they hold).
        result(unsafe { libc::syscall(sys::SYS_PIDFD_CONFIG, fd, cmd, key.as_ptr(), value, aux) })
    }

    /// Configuration of an embryo this operation made, which must succeed.
    fn config_must(&mut self, fd: RawFd, cmd: u32, key: &CStr, value: &[u8], aux: libc::c_int) {
        let ptr = if value.is_empty() {
            ptr::null()
        } else {
            value.as_ptr()
        };
        let res = self.config_raw(fd, cmd, key, ptr, aux);
        let ctx = format!("{key:?} on a new embryo");
        self.w
            .check("pidfd_config", res, crate::campaign::CONFIG_ERRORS, &ctx);
        if res.is_err() {
            let c = self.w.ctx_errno(res);
            self.w.violation(format!("pidfd_config {ctx}: {c}"));
        }
    }

    /// Sets `path` to the scratch directory's `noop`, which must work.
    fn give_noop(&mut self, fd: RawFd) {
        let path = self.w.scratch.cpath("noop");
        let bytes = path.as_bytes_with_nul().to_vec();
        self.config_must(fd, 1, c"path", &bytes, 0);
    }

    /// `pidfd_config(SET_FD, key, aux)`, recorded as `pidfd_config(capture)`; a violation
    /// unless the answer is `want`.
    fn capture(&mut self, fd: RawFd, key: &CStr, aux: RawFd, want: Result<(), i32>, what: &str) {
        let res = self.config_raw(fd, 5, key, ptr::null(), aux);
        let ctx = format!("{key:?} of {what}");
        self.w.check(
            "pidfd_config(capture)",
            res,
            crate::campaign::CONFIG_ERRORS,
            &ctx,
        );
        if res.map(|_| ()) != want && res != Err(libc::ENOMEM) {
            let c = self.w.ctx_errno(res);
            let w = want.err().map_or("ok".into(), errno_name);
            self.w.violation(format!("capturing {ctx}: {c}, not {w}"));
        }
    }

    /// `pidfd_start()` with a plain `struct pidfd_start_args`: the result and the pid.
    fn start_plain(&mut self, fd: RawFd, copy: bool) -> (Result<libc::c_long, i32>, u64) {
        let mut args = sys::StartArgs {
            flags: if copy { sys::START_COPY } else { 0 },
            pid: 0,
        };
        self.w.trace(&format!("pidfd_start({fd}, copy {copy})"));
        let res = start_raw(fd, &mut args);
        (res, args.pid)
    }

    /// After a start of `fd` that worked: the process reaped and checked, and for a copy its
    /// pidfd closed, for a start in place the embryo's refusals checked.
    fn started(&mut self, fd: RawFd, ret: libc::c_long, pid: u64, copy: bool, suspended: bool) {
        self.w.report.started += 1;
        if copy {
            self.reap(ret as RawFd, pid, suspended);
            scm::close(ret as RawFd);
        } else {
            self.reap(fd, pid, suspended);
            self.after_start(fd);
        }
    }

    /// Whether fdinfo shows `fd` as an embryo still.
    fn still_embryo(&mut self, fd: RawFd, what: &str) {
        let text = fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap_or_default();
        if !text.contains("\nEmbryo:\t") {
            self.w
                .violation(format!("{what}: the embryo is no longer one: {text:?}"));
        }
    }

    /// Closes `fds` in a random order; each close must work.
    fn close_all(&mut self, mut fds: Vec<RawFd>) {
        while !fds.is_empty() {
            let i = self.w.rng.index(fds.len());
            let fd = fds.swap_remove(i);
            self.w.trace(&format!("close({fd})"));
            if !scm::close(fd) {
                self.w.violation(format!("close({fd}) failed: {}", errno()));
            }
        }
    }

    // SCM_RIGHTS.

    fn scm(&mut self) {
        let ty = *self.w.rng.pick(&[
            libc::SOCK_STREAM,
            libc::SOCK_STREAM,
            libc::SOCK_DGRAM,
            libc::SOCK_SEQPACKET,
        ]);
        let res = scm::socketpair(ty);
        self.w.check(
            "socketpair",
            res.map(|_| 0),
            &[libc::EMFILE, libc::ENFILE, libc::ENOMEM],
            "AF_UNIX",
        );
        let Ok(sk) = res else {
            return;
        };
        self.w.trace(&format!("socketpair type {ty}: {sk:?}"));
        let mut temps = Vec::new();
        match self.w.rng.below(6) {
            0 | 1 => self.scm_slot(sk, &mut temps),
            2 => self.scm_new(sk, &mut temps),
            3 | 4 => self.scm_loop(sk, &mut temps),
            _ => self.scm_refused_captures(sk, &mut temps),
        }
        temps.extend(sk);
        self.close_all(temps);
    }

    /// Sends `fds` over one end of `sk`, checks the answer against `want`, and then mostly
    /// receives what was sent on the other end (the rest stays in flight until the pair is
    /// closed).
    fn send(&mut self, sk: [RawFd; 2], end: usize, fds: &[RawFd], want: Expect, what: &str) {
        let (sock, peer) = (sk[end], sk[1 - end]);
        self.w
            .trace(&format!("sendmsg({sock}, SCM_RIGHTS {fds:?}): {what}"));
        let res = scm::send_fds(sock, fds);
        let ctx = format!("{what}, fds {fds:?}");
        self.w.check(
            "sendmsg(SCM_RIGHTS)",
            res.map(|n| n as libc::c_long),
            SEND_ERRORS,
            &ctx,
        );
        let ok = match (want, res) {
            (Expect::Refused, Err(libc::EINVAL)) => false,
            (Expect::Passes | Expect::Either, Ok(1)) => true,
            (Expect::Either, Err(libc::EINVAL)) => false,
            (_, Err(libc::ENOMEM | libc::ENOBUFS)) => false,
            (want, res) => {
                let c = self.w.ctx_errno(res.map(|n| n as libc::c_long));
                self.w
                    .violation(format!("sendmsg of {ctx}: {c}, expected {want:?}"));
                res.is_ok()
            }
        };
        if !ok {
            // Nothing of a refused message may be queued.
            let got = scm::recv_fds(peer);
            if got != Err(libc::EAGAIN) {
                self.w.violation(format!(
                    "after a refused sendmsg of {ctx}, the peer received {got:?}"
                ));
                if let Ok((_, fds)) = got {
                    fds.into_iter().for_each(|fd| {
                        scm::close(fd);
                    });
                }
            }
            return;
        }
        if self.w.rng.chance(1, 3) {
            return;
        }
        let got = scm::recv_fds(peer);
        self.w.check(
            "recvmsg(SCM_RIGHTS)",
            got.as_ref().map(|_| 0).map_err(|e| *e),
            &[libc::ENOMEM],
            &ctx,
        );
        if let Ok((n, received)) = got {
            if n != 1 || received.len() != fds.len() {
                self.w.violation(format!(
                    "sent 1 byte and {} fds ({ctx}), received {n} bytes and {} fds",
                    fds.len(),
                    received.len()
                ));
            }
            for fd in received {
                scm::close(fd);
            }
        }
    }

    /// What a send of slot `i` must do, by what the campaign knows of it.
    fn expect_of(&self, i: usize) -> Expect {
        match self.slots[i].state {
            State::Fresh => Expect::Refused,
            State::Started => Expect::Passes,
            State::Failed => Expect::Either,
        }
    }

    /// One of the campaign's embryos, alone or with other descriptors.
    fn scm_slot(&mut self, sk: [RawFd; 2], temps: &mut Vec<RawFd>) {
        let Some(i) = self.slot() else {
            return self.scm_new(sk, temps);
        };
        let want = self.expect_of(i);
        let mut fds = vec![self.slots[i].fd];
        if self.w.rng.chance(1, 3) {
            let others = self.others.clone();
            let n = 1 + self.w.rng.index(MAX_FDS - 1);
            for _ in 0..n {
                fds.push(*self.w.rng.pick(&others));
            }
            let k = self.w.rng.index(fds.len());
            fds.swap(0, k);
        }
        let what = format!("embryo {} ({:?})", self.slots[i].fd, self.slots[i].state);
        let end = self.w.rng.index(2);
        self.send(sk, end, &fds, want, &what);
    }

    /// A new embryo, maybe with a program and a capture: refused.
    fn scm_new(&mut self, sk: [RawFd; 2], temps: &mut Vec<RawFd>) {
        let Some(e) = self.new_embryo("pidfd_open(EMPTY)") else {
            return;
        };
        temps.push(e);
        if self.w.rng.chance(1, 2) {
            self.give_noop(e);
        }
        if self.w.rng.chance(1, 2) {
            let other = *self.w.rng.pick(&self.others.clone());
            self.capture(e, c"fd:3", other, Ok(()), "a file");
        }
        let mut fds = vec![e];
        if self.w.rng.chance(1, 3) {
            fds.insert(0, *self.w.rng.pick(&self.others.clone()));
        }
        let end = self.w.rng.index(2);
        self.send(sk, end, &fds, Expect::Refused, "a new embryo");
    }

    /// The loop: an embryo that captured an end of the pair, sent over the pair; refused while
    /// unstarted, passed once started (its process ran with that end as `fd:N`).
    fn scm_loop(&mut self, sk: [RawFd; 2], temps: &mut Vec<RawFd>) {
        let Some(e) = self.new_embryo("pidfd_open(EMPTY)") else {
            return;
        };
        temps.push(e);
        let a = self.w.rng.index(2);
        let n = 3 + self.w.rng.below(7);
        let key = std::ffi::CString::new(format!("fd:{n}")).expect("no NUL");
        self.capture(e, &key, sk[a], Ok(()), "an end of a socket pair");
        if self.w.rng.chance(1, 3) {
            let key = std::ffi::CString::new(format!("fd:{}", n + 1)).expect("no NUL");
            self.capture(e, &key, sk[1 - a], Ok(()), "the other end");
        }
        // Mostly over the other end, which queues it at the captured one.
        let b = if self.w.rng.chance(3, 4) { 1 - a } else { a };
        self.send(sk, b, &[e], Expect::Refused, "an embryo that holds an end");
        if self.w.rng.chance(1, 2) {
            return;
        }
        self.give_noop(e);
        let (res, pid) = self.start_plain(e, false);
        self.w.check(
            "pidfd_start(scm)",
            res,
            START_ERRORS,
            "an embryo that holds an end",
        );
        let want = match res {
            Ok(ret) => {
                self.started(e, ret, pid, false, false);
                Expect::Passes
            }
            Err(err) => {
                self.no_child("a failed start of an embryo that holds an end");
                if !self.meddled {
                    self.w.violation(format!(
                        "the start of an embryo that holds an end of a socket pair: {}",
                        errno_name(err)
                    ));
                }
                Expect::Either
            }
        };
        self.send(sk, b, &[e], want, "a started embryo that held an end");
    }

    /// What no key may capture: an io_uring, an unstarted embryo, the embryo itself; and what
    /// it may: a started one. The io_uring does not travel either.
    fn scm_refused_captures(&mut self, sk: [RawFd; 2], temps: &mut Vec<RawFd>) {
        let Some(e) = self.new_embryo("pidfd_open(EMPTY)") else {
            return;
        };
        temps.push(e);
        self.capture(e, c"fd:3", e, Err(libc::EINVAL), "the embryo itself");
        if let Some(f) = self.new_embryo("pidfd_open(EMPTY)") {
            temps.push(f);
            self.capture(e, c"fd:4", f, Err(libc::EINVAL), "another unstarted embryo");
        }
        let started: Vec<RawFd> = self
            .slots
            .iter()
            .filter(|s| s.state == State::Started)
            .map(|s| s.fd)
            .collect();
        if let Some(&s) = started.first() {
            self.capture(e, c"fd:5", s, Ok(()), "a started embryo");
        }
        let ring = scm::io_uring();
        self.w.check(
            "io_uring_setup",
            ring.map(|fd| fd as libc::c_long),
            &[
                libc::ENOSYS,
                libc::EPERM,
                libc::EACCES,
                libc::ENOMEM,
                libc::EMFILE,
                libc::ENFILE,
                libc::EINVAL,
            ],
            "1 entry",
        );
        if let Ok(ring) = ring {
            temps.push(ring);
            self.capture(e, c"fd:6", ring, Err(libc::EINVAL), "an io_uring");
            let end = self.w.rng.index(2);
            self.send(sk, end, &[ring], Expect::Refused, "an io_uring");
        }
    }

    // Sched.

    /// The nice value a process started with `nice` must get, or `EPERM`: `sched_setattr(2)`
    /// clamps it, and lowering it below the caller's takes `RLIMIT_NICE` or `CAP_SYS_NICE` in the
    /// initial user namespace.
    fn nice_result(&self, nice: i32) -> Result<i32, i32> {
        let n = gen::clamp_nice(nice);
        // SAFETY: getpriority() reads no memory; errno is set to 0 before, as it must be.
        let current = unsafe {
            *libc::__errno_location() = 0;
            libc::getpriority(libc::PRIO_PROCESS, 0)
        };
        if n >= current {
            return Ok(n);
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: A valid rlimit to fill.
        unsafe { libc::getrlimit(libc::RLIMIT_NICE, &mut lim) };
        if (20 - n) as u64 <= lim.rlim_cur || cap_sys_nice() {
            Ok(n)
        } else {
            Err(libc::EPERM)
        }
    }

    /// A suspended process with a nice value from far out of range: it must run at the clamped
    /// value, or the start must fail with `EPERM`.
    fn sched_probe(&mut self) {
        let Some(e) = self.new_embryo("pidfd_open(EMPTY)") else {
            return;
        };
        self.give_noop(e);
        self.config_must(e, 0, c"start-suspended", &[], 0);
        let r = &mut self.w.rng;
        let nice = match r.below(3) {
            0 => *r.pick(&[i32::MIN, i32::MAX, -21, -20, -1, 0, 19, 20, 1000, -1000]),
            _ => r.below(2001) as i32 - 1000,
        };
        // SCHED_OTHER or SCHED_BATCH: both take the nice value.
        let policy = *r.pick(&[0u32, 3]);
        let blob = gen::sched_nice_only(policy, nice);
        self.config_must(e, 2, c"sched", &blob, blob.len() as libc::c_int);
        let want = self.nice_result(nice);
        let (res, pid) = self.start_plain(e, false);
        let ctx = format!("policy {policy} nice {nice}");
        self.w.check("pidfd_start(sched)", res, START_ERRORS, &ctx);
        match res {
            Ok(ret) => {
                // SAFETY: As above; the process is stopped before its first instruction.
                let got = unsafe {
                    *libc::__errno_location() = 0;
                    let p = libc::getpriority(libc::PRIO_PROCESS, pid as libc::id_t);
                    if *libc::__errno_location() != 0 {
                        Err(errno())
                    } else {
                        Ok(p)
                    }
                };
                if !self.meddled && got != want {
                    self.w.violation(format!(
                        "a process started with {ctx} runs at {got:?}, want {want:?}"
                    ));
                }
                self.started(e, ret, pid, false, true);
            }
            Err(err) => {
                self.no_child("a failed start with a sched nice value");
                if !self.meddled && Err(err) != want {
                    self.w.violation(format!(
                        "the start with {ctx}: {}, want {want:?}",
                        errno_name(err)
                    ));
                }
            }
        }
        self.close_all(vec![e]);
    }

    // RLIMIT_NPROC.

    /// Embryos until `RLIMIT_NPROC` refuses one; a start right at the limit; an embryo again
    /// once its process is reaped.
    fn at_limit(&mut self) {
        let mut temps: Vec<RawFd> = Vec::new();
        let mut hit = false;
        for _ in 0..2 {
            while temps.len() < 16 {
                // SAFETY: pidfd_open() reads no memory.
                let res =
                    result(unsafe { libc::syscall(libc::SYS_pidfd_open, 0, sys::PIDFD_EMPTY) });
                self.w.check(
                    "pidfd_open(at-limit)",
                    res,
                    OPEN_ERRORS,
                    "up to RLIMIT_NPROC",
                );
                match res {
                    Ok(fd) => temps.push(fd as RawFd),
                    Err(e) => {
                        hit = e == libc::EAGAIN;
                        break;
                    }
                }
            }
            if !temps.is_empty() || !hit || self.slots.is_empty() {
                break;
            }
            // The campaign's own embryos fill the limit: make room for one of this operation.
            self.close();
            hit = false;
        }
        if temps.len() >= 16 {
            self.w.violation(format!(
                "{} embryos opened beside {} others under RLIMIT_NPROC",
                temps.len(),
                self.slots.len()
            ));
        }
        if let (true, Some(&e)) = (hit, temps.last()) {
            self.give_noop(e);
            let (res, pid) = self.start_plain(e, false);
            self.w.check(
                "pidfd_start(at-limit)",
                res,
                START_ERRORS,
                "at RLIMIT_NPROC",
            );
            match res {
                Ok(ret) => {
                    self.started(e, ret, pid, false, false);
                    // Its charge went with its process: there is room for one again.
                    match self.new_embryo_retrying("pidfd_open(at-limit)") {
                        Ok(fd) => temps.push(fd),
                        Err(err) if !self.meddled => self.w.violation(format!(
                            "after a start at RLIMIT_NPROC and its reaping, a new embryo: {}",
                            errno_name(err)
                        )),
                        Err(_) => {}
                    }
                }
                Err(err) => {
                    self.no_child("a failed start at RLIMIT_NPROC");
                    if !self.meddled {
                        self.w
                            .violation(format!("a start at RLIMIT_NPROC: {}", errno_name(err)));
                    }
                }
            }
        }
        self.close_all(temps);
    }

    // Sub-workers.

    /// Runs `body` in a forked process that has no meddler and hands its results back: a
    /// violation if it does not end with exit code 0 within its alarm.
    fn sub_worker(&mut self, who: &'static str, body: fn(&mut Self)) {
        if self.opts.nproc.is_some() {
            // Room under RLIMIT_NPROC for the sub-worker and an embryo of its own.
            while self.slots.len() > 1 {
                self.close();
            }
        }
        let mut p = [0; 2];
        // SAFETY: `p` has room for two descriptors.
        if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            self.w
                .violation(format!("pipe2 for the {who}: {}", errno_name(errno())));
            return;
        }
        let _ = io::stdout().flush();
        let _ = io::stderr().flush();
        self.w.trace(&format!("fork {who}"));
        // SAFETY: The child runs `body` and leaves with _exit(); it never returns from here.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = errno();
            self.w
                .check("fork", Err(e), &[libc::EAGAIN, libc::ENOMEM], who);
            scm::close(p[0]);
            scm::close(p[1]);
            return;
        }
        if pid == 0 {
            scm::close(p[0]);
            // SAFETY: SIGALRM unblocked with its default action, then the alarm: a sub-worker
            // that hangs dies.
            unsafe {
                let mut set: libc::sigset_t = core::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGALRM);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
                libc::signal(libc::SIGALRM, libc::SIG_DFL);
                libc::alarm(SUB_WORKER_SECS);
            }
            self.w.report = Report::default();
            self.w.who = who;
            self.w.quiet = true;
            self.meddled = false;
            let ok = panic::catch_unwind(AssertUnwindSafe(|| body(self))).is_ok();
            // SAFETY: The write end is this process's.
            let mut out = unsafe { File::from_raw_fd(p[1]) };
            let _ = out.write_all(self.w.report.encode().as_bytes());
            // SAFETY: Leaves the forked process at once.
            unsafe { libc::_exit(if ok { 0 } else { 101 }) };
        }
        scm::close(p[1]);
        // SAFETY: The read end is ours, and `File` closes it.
        let mut pipe = unsafe { File::from_raw_fd(p[0]) };
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        drop(pipe);
        let mut status = 0;
        loop {
            // SAFETY: Our child; `status` is valid.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid || (r < 0 && errno() != libc::EINTR) {
                break;
            }
        }
        drain_sigchld();
        match Report::decode(&text) {
            Ok(r) => self.w.report.merge(r),
            Err(e) => self.w.violation(format!("the {who}'s report: {e}")),
        }
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            let how = if libc::WIFSIGNALED(status) {
                format!("signal {}", libc::WTERMSIG(status))
            } else {
                format!("status {status:#x}")
            };
            self.w.violation(format!("the {who} ended with {how}"));
        }
    }

    /// In a sub-worker: embryos, `unshare(CLONE_NEWPID)`, then every start and new embryo must
    /// be `EOPNOTSUPP`.
    fn newpid(&mut self) {
        let n = 1 + self.w.rng.below(3);
        let mut embryos = Vec::new();
        for _ in 0..n {
            let Some(e) = self.new_embryo("pidfd_open(EMPTY)") else {
                break;
            };
            self.give_noop(e);
            embryos.push(e);
        }
        let Some(&first) = embryos.first() else {
            return;
        };
        if self.w.rng.chance(1, 2) {
            // The control: before the unshare a copy starts.
            let (res, pid) = self.start_plain(first, true);
            self.w
                .check("pidfd_start(newpid)", res, START_ERRORS, "a copy before");
            match res {
                Ok(ret) => self.started(first, ret, pid, true, false),
                Err(libc::EAGAIN) if self.opts.nproc.is_some() => {}
                Err(e) => self.w.violation(format!(
                    "a copy started before unshare(CLONE_NEWPID): {}",
                    errno_name(e)
                )),
            }
        }
        self.w.trace("unshare(CLONE_NEWPID)");
        // SAFETY: unshare() reads no memory.
        let res = result(unsafe { libc::unshare(libc::CLONE_NEWPID) } as libc::c_long);
        self.w.check(
            "unshare(CLONE_NEWPID)",
            res,
            &[
                libc::EPERM,
                libc::EINVAL,
                libc::ENOSPC,
                libc::EUSERS,
                libc::ENOMEM,
            ],
            "",
        );
        if res.is_ok() {
            for &e in &embryos {
                for _ in 0..1 + self.w.rng.below(2) {
                    let copy = self.w.rng.chance(1, 3);
                    let (res, pid) = self.start_plain(e, copy);
                    let ctx = format!("after unshare(CLONE_NEWPID), copy {copy}");
                    self.w.check("pidfd_start(newpid)", res, START_ERRORS, &ctx);
                    if res != Err(libc::EOPNOTSUPP) {
                        let c = self.w.ctx_errno(res);
                        self.w
                            .violation(format!("pidfd_start {ctx}: {c}, not EOPNOTSUPP"));
                        match res {
                            Ok(ret) => self.started(e, ret, pid, copy, false),
                            Err(_) => self.no_child("a failed start after the unshare"),
                        }
                    }
                }
                self.still_embryo(e, "after starts refused for a new pid namespace");
            }
            // SAFETY: pidfd_open() reads no memory.
            let res = result(unsafe { libc::syscall(libc::SYS_pidfd_open, 0, sys::PIDFD_EMPTY) });
            self.w.check(
                "pidfd_open(newpid)",
                res,
                OPEN_ERRORS,
                "after unshare(CLONE_NEWPID)",
            );
            self.w.expect_err(
                "pidfd_open(0, PIDFD_EMPTY) after unshare(CLONE_NEWPID)",
                res,
                libc::EOPNOTSUPP,
            );
            if let Ok(fd) = res {
                scm::close(fd as RawFd);
            }
        }
        self.close_all(embryos);
        self.no_child("the pid namespace sub-worker");
    }

    /// In a sub-worker: random seccomp filters; starts must fail as they would answer
    /// `execve()`, and kill nothing.
    fn seccomp_filtered(&mut self) {
        let Some(e) = self.new_embryo("pidfd_open(EMPTY)") else {
            return;
        };
        self.give_noop(e);
        let n = 1 + self.w.rng.below(2) as usize;
        let filters: Vec<seccomp::Filter> =
            (0..n).map(|_| seccomp::draw(&mut self.w.rng)).collect();
        for f in &filters {
            self.w.trace(&format!("seccomp filter {f:x?}"));
            let res = seccomp::install(f);
            self.w.check(
                "seccomp(SET_MODE_FILTER)",
                res.map(|_| 0),
                &[libc::EINVAL, libc::ENOMEM, libc::EACCES],
                "",
            );
            if res.is_err() {
                self.close_all(vec![e]);
                return;
            }
        }
        let want = seccomp::start_result(&filters);
        let mut allowed = START_ERRORS.to_vec();
        if let Err(w) = want {
            allowed.push(w);
        }
        let ctx = format!("filters {filters:x?}");
        let copies = if self.w.rng.chance(1, 2) { 1 } else { 0 };
        for copy in (0..copies).map(|_| true).chain([false]) {
            let (res, pid) = self.start_plain(e, copy);
            self.w.check("pidfd_start(seccomp)", res, &allowed, &ctx);
            match (res, want) {
                (Ok(ret), Ok(())) => self.started(e, ret, pid, copy, false),
                (Err(got), Err(w)) if got == w => {
                    self.no_child("a start refused by seccomp");
                    self.still_embryo(e, "after a start refused by seccomp");
                }
                // A copy's pid at RLIMIT_NPROC.
                (Err(libc::EAGAIN), Ok(())) if copy && self.opts.nproc.is_some() => {}
                (res, want) => {
                    let c = self.w.ctx_errno(res);
                    self.w.violation(format!(
                        "pidfd_start (copy {copy}) under {ctx}: {c}, want {want:?}"
                    ));
                    match res {
                        Ok(ret) => self.started(e, ret, pid, copy, false),
                        Err(_) => self.no_child("a failed start under seccomp"),
                    }
                }
            }
        }
        self.close_all(vec![e]);
    }
}

/// `CAP_SYS_NICE`.
const CAP_SYS_NICE: u32 = 23;

/// Whether this process has `CAP_SYS_NICE` in the initial user namespace.
fn cap_sys_nice() -> bool {
    has_cap_sys_nice(
        &fs::read_to_string("/proc/self/status").unwrap_or_default(),
        &fs::read_to_string("/proc/self/uid_map").unwrap_or_default(),
    )
}

/// Whether `CAP_SYS_NICE` is in the effective set of `status` (a `/proc/PID/status`) and
/// `uid_map` is that of the initial user namespace (all IDs mapped to themselves): a capability
/// in another user namespace does not let a process lower its nice value.
fn has_cap_sys_nice(status: &str, uid_map: &str) -> bool {
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let initial = uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    eff & (1 << CAP_SYS_NICE) != 0 && initial
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_sys_nice_counts_in_the_initial_user_namespace_only() {
        let full = "Name:\tx\nCapEff:\t000001ffffffffff\n";
        let none = "Name:\tx\nCapEff:\t0000000000000000\n";
        let init = "         0          0 4294967295\n";
        let child = "         0      54500          1\n";
        assert!(has_cap_sys_nice(full, init));
        assert!(!has_cap_sys_nice(full, child));
        assert!(!has_cap_sys_nice(none, init));
        assert!(!has_cap_sys_nice("", init));
    }
}
