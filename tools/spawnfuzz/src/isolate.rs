// SPDX-License-Identifier: GPL-2.0
//! Campaigns in a process of their own: as an unprivileged user at its `RLIMIT_NPROC`
//! (`--nproc`), in new user, pid, mount and time namespaces (`--namespaces`), or both.
//!
//! The caller forks a worker, which never returns into the caller's code: it ends with
//! `_exit()` and hands its report back through a pipe as text ([`Report::encode`]). In order:
//!
//! 1. `--nproc UID`: `RLIMIT_NPROC` set to the tasks the campaign runs in plus
//!    [`NPROC_SPARE`], then `setgroups(0)`, `setresgid(UID)`, `setresuid(UID)`, and the process
//!    made dumpable again, so that its `/proc/self` files (`fd/`, `fdinfo/`, `uid_map`) stay its
//!    own.
//! 2. `--namespaces`: `unshare(CLONE_NEWUSER)` with its user and group mapped to 0
//!    (`setgroups` denied first), `unshare(CLONE_NEWPID | CLONE_NEWNS)`, `/` made `rprivate`,
//!    then a fork: the child is pid 1 of the new pid namespace. It mounts a `/proc` of that
//!    namespace, and calls `unshare(CLONE_NEWTIME)` itself, with offsets, so that its children,
//!    the embryos' processes among them, go into a time namespace that is not its own: the case
//!    that oopsed. Its scratch directory gets a tmpfs of the mount namespace.
//! 3. The campaign, in a scratch directory the worker made as the user it runs as.
//!
//! An `unshare()` that fails with `EPERM`, `EINVAL`, `ENOSPC`, `EUSERS` or `EACCES` (no such
//! namespaces, or not allowed here), or credentials the caller cannot change, make the campaign
//! skipped. A worker that runs past its time is killed; pid 1 of the namespaces dies with its
//! parent (`PR_SET_PDEATHSIG`), and with it every process of its pid namespace, so that a
//! `--namespaces` campaign leaves no process and, its mounts being in its own mount namespace,
//! no mount behind even then. Without namespaces, what an `--nproc` campaign left is found by
//! its user, which is the campaign's alone, and killed.

use crate::{
    campaign::{Options, Report},
    scratch::Scratch,
};
use std::{
    ffi::CString,
    fs::{self, File},
    io::{self, Read, Write},
    os::fd::{FromRawFd, RawFd},
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    ptr,
    time::{Duration, Instant},
};

/// Embryos (or processes) an `--nproc` campaign may hold beyond the tasks it runs in.
pub const NPROC_SPARE: u64 = 3;

/// The exit code of a worker whose code panicked.
const PANICKED: i32 = 101;

/// What the campaign's body is told about where it runs.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// In a forked worker of its own.
    pub isolated: bool,
    /// How many embryos must open at the end, once everything is closed (0: no such check).
    pub final_opens: u64,
}

/// A campaign's body: runs the campaign in a scratch directory.
pub type Body = fn(&Options, &Scratch, &Env) -> Report;

/// How long a forked campaign may take before it is killed: two minutes, and 10 ms for each
/// operation (a debug kernel takes about 1 ms for one, a KASAN kernel a few).
pub fn timeout(opts: &Options) -> Duration {
    let ops = opts.ops.min(u64::from(u32::MAX)) as u32;
    Duration::from_secs(120) + Duration::from_millis(10).saturating_mul(ops)
}

/// Why the worker's set-up did not get to the campaign.
enum Refused {
    /// The system does not allow it: the campaign is skipped.
    Skip(String),
    /// It went wrong: a violation.
    Fail(String),
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn errno_text(e: i32) -> String {
    format!(
        "{} ({})",
        crate::campaign::errno_name(e),
        io::Error::from_raw_os_error(e)
    )
}

/// The errno values with which `unshare()` says that the namespaces cannot be had here.
fn unavailable(e: i32) -> bool {
    matches!(
        e,
        libc::EPERM | libc::EINVAL | libc::ENOSPC | libc::EUSERS | libc::EACCES
    )
}

fn unshare(flags: libc::c_int, what: &str) -> Result<(), Refused> {
    // SAFETY: unshare() reads no memory.
    if unsafe { libc::unshare(flags) } == 0 {
        return Ok(());
    }
    let e = errno();
    let msg = format!("unshare({what}): {}", errno_text(e));
    Err(if unavailable(e) {
        Refused::Skip(msg)
    } else {
        Refused::Fail(msg)
    })
}

/// Runs `body` for `opts` in a forked worker, as the module documentation says, and returns its
/// report, with a violation for a worker that ran past `limit`, died or sent no report.
pub fn run_isolated(opts: &Options, limit: Duration, body: Body) -> Report {
    let kind = match (opts.namespaces, opts.nproc.is_some()) {
        (true, true) => "ns-nproc",
        (true, false) => "ns",
        _ => "nproc",
    };
    let dir = PathBuf::from(format!(
        "/tmp/spawnfuzz-{}-{:x}-{kind}",
        std::process::id(),
        opts.seed
    ));
    let _ = fs::remove_dir_all(&dir);
    let mut p = [0; 2];
    // SAFETY: `p` has room for the two descriptors.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Report::failure(format!("pipe2: {}", errno_text(errno())));
    }
    // Buffered output would be written twice, once by each process.
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: The child only runs the worker, which leaves with _exit(); it never returns here.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = errno();
        // SAFETY: Ours.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
        return Report::failure(format!("fork of the campaign's worker: {}", errno_text(e)));
    }
    if pid == 0 {
        // SAFETY: The read end is the parent's.
        unsafe { libc::close(p[0]) };
        let code = panic::catch_unwind(AssertUnwindSafe(|| worker(opts, &dir, p[1], body)))
            .unwrap_or(PANICKED);
        // SAFETY: Leaves the forked process without running anything of the parent's.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: The write end is the worker's now.
    unsafe { libc::close(p[1]) };
    // SAFETY: The read end is ours, and `File` closes it.
    let mut pipe = unsafe { File::from_raw_fd(p[0]) };
    let (text, timed_out) = collect(&mut pipe, limit);
    drop(pipe);
    if timed_out {
        // SAFETY: Our child, not reaped yet: its pid is still its own.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let status = wait(pid);
    if let (true, false, Some(uid)) = (timed_out, opts.namespaces, opts.nproc) {
        kill_user(uid);
    }
    let mut report = match Report::decode(&String::from_utf8_lossy(&text)) {
        Ok(r) => r,
        Err(e) => Report::failure(format!("the campaign's worker sent a bad report: {e}")),
    };
    if timed_out {
        report.violations.push(format!(
            "the campaign's worker ran past {} s and was killed",
            limit.as_secs()
        ));
    } else if status != Some(0) {
        report.violations.push(format!(
            "the campaign's worker ended with {}",
            describe_status(status)
        ));
    } else if text.is_empty() {
        report
            .violations
            .push("the campaign's worker sent no report".into());
    }
    // What the worker left of its scratch directory: the directory its tmpfs was mounted on.
    let _ = fs::remove_dir_all(&dir);
    report
}

/// Reads `pipe` to its end or until `limit` has passed: what was read, and whether time ran out.
fn collect(pipe: &mut File, limit: Duration) -> (Vec<u8>, bool) {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + limit;
    let mut text = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (text, true);
        }
        let mut pfd = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, 60_000) as libc::c_int;
        // SAFETY: One pollfd of ours.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 && errno() != libc::EINTR {
            return (text, false);
        }
        if n <= 0 {
            continue;
        }
        match pipe.read(&mut buf) {
            Ok(0) => return (text, false),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (text, false),
        }
    }
}

/// Waits for child `pid`: its exit code, 128 + the signal that killed it, or None.
fn wait(pid: libc::pid_t) -> Option<i32> {
    let mut status = 0;
    loop {
        // SAFETY: Our child; `status` is valid.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && errno() != libc::EINTR {
            return None;
        }
    }
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

/// Kills, by pid, each live process whose real user is `uid`, until there is none (a process
/// may fork while it is looked for); for an `--nproc` worker without a pid namespace that ran
/// past its time, whose processes (a stopped one, a sub-worker) would otherwise stay.
fn kill_user(uid: u32) {
    for _ in 0..50 {
        let mut found = false;
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let status = fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            let real_uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u32>().ok());
            let zombie = status.lines().any(|l| l.starts_with("State:\tZ"));
            if real_uid == Some(uid) && !zombie {
                // SAFETY: kill() reads no memory; the process is one of the campaign's user.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                found = true;
            }
        }
        if !found {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn describe_status(status: Option<i32>) -> String {
    match status {
        Some(PANICKED) => "a panic (exit code 101)".into(),
        Some(c) if c > 128 => format!("signal {}", c - 128),
        Some(c) => format!("exit code {c}"),
        None => "no status".into(),
    }
}

/// The forked worker: its set-up, then the campaign (or the fork of pid 1 that runs it).
fn worker(opts: &Options, dir: &Path, out: RawFd, body: Body) -> i32 {
    // SAFETY: The write end of the pipe is this process's now, and `File` closes it.
    let out = unsafe { File::from_raw_fd(out) };
    let send = |report: &Report| {
        let _ = (&out).write_all(report.encode().as_bytes());
    };
    let refused = |r: Refused| match r {
        Refused::Skip(why) => Report::skip(why),
        Refused::Fail(what) => Report::failure(format!("setting up the campaign: {what}")),
    };
    let mut env = Env {
        isolated: true,
        final_opens: 1,
    };
    if let Some(uid) = opts.nproc {
        // The tasks this user has while the campaign runs: this process, pid 1 of the
        // namespaces, the meddler's thread.
        let tasks = 1 + u64::from(opts.namespaces) + u64::from(opts.meddler);
        if let Err(r) = become_user(uid, tasks + NPROC_SPARE) {
            send(&refused(r));
            return 0;
        }
        env.final_opens = NPROC_SPARE;
    }
    if !opts.namespaces {
        let report = match Scratch::at(dir.to_path_buf()) {
            Ok(scratch) => body(opts, &scratch, &env),
            Err(e) => Report::failure(format!("scratch directory {}: {e}", dir.display())),
        };
        send(&report);
        return 0;
    }
    if let Err(r) = enter_namespaces() {
        send(&refused(r));
        return 0;
    }
    // SAFETY: The child runs `init`, which leaves with _exit().
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        send(&Report::failure(format!(
            "fork into the new pid namespace: {}",
            errno_text(errno())
        )));
        return 0;
    }
    if pid == 0 {
        let code = panic::catch_unwind(AssertUnwindSafe(|| {
            let report = match init(opts, dir) {
                Ok(scratch) => {
                    let r = body(opts, &scratch, &env);
                    drop(scratch);
                    r
                }
                Err(r) => refused(r),
            };
            send(&report);
            0
        }))
        .unwrap_or(PANICKED);
        // SAFETY: Leaves the forked process at once.
        unsafe { libc::_exit(code) };
    }
    // The report's reader sees its end once pid 1 (and all it forked) closed the pipe.
    drop(out);
    wait(pid).unwrap_or(PANICKED)
}

/// `RLIMIT_NPROC` of `limit`, then user and group `uid`, no supplementary groups, dumpable.
fn become_user(uid: u32, limit: u64) -> Result<(), Refused> {
    if uid == 0 {
        return Err(Refused::Skip(
            "--nproc needs a user other than root, whom RLIMIT_NPROC does not bind".into(),
        ));
    }
    let lim = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: A valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &lim) } != 0 {
        return Err(Refused::Fail(format!(
            "setrlimit(RLIMIT_NPROC, {limit}): {}",
            errno_text(errno())
        )));
    }
    // SAFETY: Credential calls with integer arguments; this process has one thread.
    let ret = unsafe {
        if libc::setgroups(0, ptr::null()) != 0
            || libc::setresgid(uid, uid, uid) != 0
            || libc::setresuid(uid, uid, uid) != 0
        {
            Err(errno())
        } else {
            Ok(())
        }
    };
    match ret {
        Err(libc::EPERM) => {
            return Err(Refused::Skip(format!(
                "cannot become user {uid}: EPERM (--nproc needs root to start from)"
            )))
        }
        Err(e) => {
            return Err(Refused::Fail(format!(
                "becoming user {uid}: {}",
                errno_text(e)
            )))
        }
        Ok(()) => {}
    }
    // The credential change made the process undumpable, which gives its /proc files to root.
    // SAFETY: prctl() with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) } != 0 {
        return Err(Refused::Fail(format!(
            "PR_SET_DUMPABLE: {}",
            errno_text(errno())
        )));
    }
    Ok(())
}

fn write_proc(path: &str, text: &str) -> Result<(), Refused> {
    fs::write(path, text).map_err(|e| {
        let msg = format!("writing {text:?} to {path}: {e}");
        if e.raw_os_error() == Some(libc::EPERM) {
            Refused::Skip(msg)
        } else {
            Refused::Fail(msg)
        }
    })
}

/// New user (the caller's user and group mapped to 0), pid and mount namespaces, `/` private.
fn enter_namespaces() -> Result<(), Refused> {
    // SAFETY: getuid() and getgid() read no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    unshare(libc::CLONE_NEWUSER, "CLONE_NEWUSER")?;
    match fs::write("/proc/self/setgroups", "deny") {
        // Kernels before 3.19 have no such file, and no such rule.
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(Refused::Fail(format!("/proc/self/setgroups: {e}")));
        }
        _ => {}
    }
    write_proc("/proc/self/uid_map", &format!("0 {uid} 1\n"))?;
    write_proc("/proc/self/gid_map", &format!("0 {gid} 1\n"))?;
    unshare(
        libc::CLONE_NEWPID | libc::CLONE_NEWNS,
        "CLONE_NEWPID | CLONE_NEWNS",
    )?;
    // SAFETY: A propagation change: no strings but the target path, which is NUL-terminated.
    let ret = unsafe {
        libc::mount(
            ptr::null(),
            c"/".as_ptr(),
            ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            ptr::null(),
        )
    };
    if ret != 0 {
        return Err(Refused::Fail(format!(
            "making / rprivate: {}",
            errno_text(errno())
        )));
    }
    Ok(())
}

/// Pid 1 of the new pid namespace: dies with its parent, mounts its `/proc`, gives its children
/// a time namespace of their own, and makes the scratch directory on a tmpfs of its own.
fn init(opts: &Options, dir: &Path) -> Result<Scratch, Refused> {
    // SAFETY: prctl() with integer arguments; getpid() reads no memory.
    let pid = unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::getpid()
    };
    if pid != 1 {
        return Err(Refused::Fail(format!(
            "the forked worker is pid {pid}, not 1, of its pid namespace"
        )));
    }
    // The /proc of the new pid namespace, where /proc/PID is the pid pidfd_start() returns.
    // Without it the campaign still works; only its messages about a stuck process may read the
    // wrong /proc/PID/stat.
    mount("proc", Path::new("/proc"), "proc", "");
    unshare(libc::CLONE_NEWTIME, "CLONE_NEWTIME")?;
    // Offsets must be set before a process enters the namespace; whole days, from the seed.
    let days = 1 + opts.seed % 1000;
    let offsets = format!(
        "monotonic {} 0\nboottime {} 0\n",
        days * 86400,
        days * 86400
    );
    write_proc("/proc/self/timens_offsets", &offsets)?;
    fs::create_dir(dir).map_err(|e| Refused::Fail(format!("mkdir {}: {e}", dir.display())))?;
    // A tmpfs of this mount namespace: what the campaign writes there goes with it. Without it
    // the directory is used as it is.
    mount("tmpfs", dir, "tmpfs", "mode=0755,size=64m");
    Scratch::at(dir.to_path_buf())
        .map_err(|e| Refused::Fail(format!("scratch directory {}: {e}", dir.display())))
}

/// Mounts `fstype` on `target`, nosuid and nodev; whether that worked.
fn mount(source: &str, target: &Path, fstype: &str, data: &str) -> bool {
    let (Ok(source), Ok(target), Ok(fstype), Ok(data)) = (
        CString::new(source),
        CString::new(target.as_os_str().as_encoded_bytes()),
        CString::new(fstype),
        CString::new(data),
    ) else {
        return false;
    };
    // SAFETY: NUL-terminated strings that live for the call.
    let ret = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            data.as_ptr().cast(),
        )
    };
    ret == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::errno_name;

    /// Whether this process may make what a test needs; otherwise the test says so and does
    /// nothing (these check the set-up on the host, where they can; the campaigns in the guest
    /// check it again).
    fn root() -> bool {
        // SAFETY: geteuid() reads no memory.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            println!("not root: this set-up cannot be checked here");
        }
        root
    }

    fn readlink(p: &str) -> String {
        fs::read_link(p)
            .map(|l| l.display().to_string())
            .unwrap_or_default()
    }

    /// The body of the namespace test: what it finds, as results ("call" = check, errno 0 =
    /// held).
    fn look_around(_: &Options, scratch: &Scratch, env: &Env) -> Report {
        let mut r = Report::default();
        let mut check = |what: &'static str, ok: bool| {
            *r.results.entry((what, i32::from(!ok))).or_default() += 1;
            if !ok {
                r.violations.push(what.into());
            }
        };
        // SAFETY: These read no memory.
        let (pid, uid, gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
        check("pid 1", pid == 1);
        check("uid 0", uid == 0 && gid == 0);
        check("isolated", env.isolated);
        let map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        check("one uid mapped", map.lines().count() == 1);
        // The campaign does without these two, so a host that refuses them fails nothing.
        let optional = |what: &str, ok: bool| {
            if !ok {
                println!("not here: {what}");
            }
        };
        optional(
            "a /proc of the new pid namespace",
            readlink("/proc/self") == "1",
        );
        check(
            "children in another time namespace",
            readlink("/proc/self/ns/time") != readlink("/proc/self/ns/time_for_children"),
        );
        check(
            "noop runs from the scratch tmpfs",
            std::process::Command::new(scratch.path("noop"))
                .status()
                .is_ok_and(|s| s.success()),
        );
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = scratch.dir().display().to_string();
        optional(
            "a tmpfs on the scratch directory",
            mounts
                .lines()
                .any(|l| l.split(' ').nth(4) == Some(&dir) && l.contains(" - tmpfs ")),
        );
        // A child of pid 1 is in the new time namespace, and is not pid 1.
        // SAFETY: The child exits at once.
        let child = unsafe { libc::fork() };
        if child == 0 {
            let same = readlink("/proc/self/ns/time") == readlink("/proc/1/ns/time_for_children");
            // SAFETY: Leaves the child.
            unsafe { libc::_exit(if same { 0 } else { 1 }) };
        }
        check("child is not pid 1", child > 1);
        check("child in the time namespace", wait(child) == Some(0));
        r.ops = 1;
        r
    }

    #[test]
    fn namespaces_are_made_or_skipped() {
        if !root() {
            return;
        }
        let mut opts = Options::new(7, 1);
        opts.namespaces = true;
        let dir_glob = format!("/tmp/spawnfuzz-{}-7-ns", std::process::id());
        let report = run_isolated(&opts, Duration::from_secs(30), look_around);
        if let Some(why) = &report.skipped {
            println!("skipped: {why}");
            assert!(report.violations.is_empty(), "{:?}", report.violations);
            return;
        }
        assert!(report.violations.is_empty(), "{}", report.summary());
        assert_eq!(report.ops, 1);
        assert!(!Path::new(&dir_glob).exists(), "{dir_glob} left behind");
    }

    fn as_user(_: &Options, scratch: &Scratch, env: &Env) -> Report {
        let mut r = Report::default();
        // SAFETY: These read no memory.
        let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
        if (uid, euid) != (54321, 54321) {
            r.violations.push(format!("uid {uid} euid {euid}"));
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: A valid rlimit to fill.
        unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) };
        if lim.rlim_cur != 1 + NPROC_SPARE || env.final_opens != NPROC_SPARE {
            r.violations.push(format!("RLIMIT_NPROC {}", lim.rlim_cur));
        }
        if fs::read_dir("/proc/self/fd").is_err()
            || fs::read_to_string("/proc/self/fdinfo/0").is_err()
        {
            r.violations.push("its /proc/self is not its own".into());
        }
        if !scratch.path("noop").exists() {
            r.violations.push("no scratch".into());
        }
        // Forks up to the limit: NPROC_SPARE work, the next one is EAGAIN.
        let mut kids = Vec::new();
        let mut last = 0;
        for _ in 0..=NPROC_SPARE {
            // SAFETY: The child sleeps until killed.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                loop {
                    // SAFETY: pause() until the SIGKILL below.
                    unsafe { libc::pause() };
                }
            }
            if pid < 0 {
                last = errno();
                break;
            }
            kids.push(pid);
        }
        for &k in &kids {
            // SAFETY: Our children.
            unsafe { libc::kill(k, libc::SIGKILL) };
            wait(k);
        }
        if kids.len() as u64 != NPROC_SPARE || last != libc::EAGAIN {
            r.violations.push(format!(
                "{} forks worked, then {}",
                kids.len(),
                errno_name(last)
            ));
        }
        r
    }

    #[test]
    fn an_nproc_worker_runs_as_its_user_at_its_limit() {
        if !root() {
            return;
        }
        let mut opts = Options::new(8, 1);
        opts.nproc = Some(54321);
        let report = run_isolated(&opts, Duration::from_secs(30), as_user);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        if let Some(why) = &report.skipped {
            println!("skipped: {why}");
            return;
        }
        let dir = format!("/tmp/spawnfuzz-{}-8-nproc", std::process::id());
        assert!(!Path::new(&dir).exists(), "{dir} left behind");
    }

    fn sleeper(_: &Options, scratch: &Scratch, _: &Env) -> Report {
        // A child that would outlive its parent: it stops itself.
        // SAFETY: The child only raises SIGSTOP and leaves with _exit().
        let child = unsafe { libc::fork() };
        if child == 0 {
            // SAFETY: As above.
            unsafe {
                libc::raise(libc::SIGSTOP);
                libc::_exit(0);
            }
        }
        let _ = fs::write(scratch.path("child"), child.to_string());
        std::thread::sleep(Duration::from_secs(60));
        Report::default()
    }

    #[test]
    fn a_worker_past_its_time_is_killed() {
        if !root() {
            return;
        }
        let mut opts = Options::new(9, 1);
        opts.nproc = Some(54322);
        let t = Instant::now();
        let report = run_isolated(&opts, Duration::from_secs(1), sleeper);
        assert!(t.elapsed() < Duration::from_secs(30));
        if let Some(why) = &report.skipped {
            println!("skipped: {why}");
            return;
        }
        assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
        assert!(report.violations[0].contains("killed"));
        // Its stopped child went with it.
        let left = (0..50).all(|_| {
            std::thread::sleep(Duration::from_millis(20));
            let procs = fs::read_dir("/proc").unwrap();
            procs.flatten().any(|e| {
                let s = fs::read_to_string(e.path().join("status")).unwrap_or_default();
                s.contains("\nUid:\t54322\t") && !s.contains("State:\tZ")
            })
        });
        assert!(!left, "a process of user 54322 was left");
    }

    #[test]
    fn root_is_no_nproc_user() {
        let mut opts = Options::new(10, 1);
        opts.nproc = Some(0);
        let report = run_isolated(&opts, Duration::from_secs(30), sleeper);
        assert!(report.skipped.is_some(), "{report:?}");
        assert!(report.violations.is_empty());
    }
}
