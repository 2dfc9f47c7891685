// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
//! Runs one posix_spawn() scenario through whatever `posix_spawn` the process resolves (glibc's,
//! or libpidfdspawn's under `LD_PRELOAD`) and prints, on stdout, the error it returned and what
//! the child saw; on stderr, how libpidfdspawn routed the spawns, if it is loaded.
//!
//! Usage: `probe SCENARIO`; `probe list` prints the scenarios that glibc 2.36 can run too.
//! Two more, `cgroup` and `cgroup_ebadf`, try glibc 2.39's `posix_spawnattr_setcgroup_np()`,
//! which only the library provides here.

use std::ffi::{c_char, c_int, CString};
use std::io::Read;
use std::os::fd::FromRawFd;
use std::ptr;

/// What the child prints: its descriptors, directory, ignored signals (its mask is the shell's
/// business, so the `sigmask` scenario execs grep instead), and whether it leads its
/// process group and session.
const SCRIPT: &str = r#"printf 'fds:'; for f in /proc/self/fd/*; do printf ' %s' "${f##*/}"; done; echo
echo "cwd: $(pwd)"
grep -E '^SigIgn' /proc/$$/status
set -- $(cat /proc/$$/stat)
[ "$5" = "$1" ] && echo "pgrp: own" || echo "pgrp: inherited"
[ "$6" = "$1" ] && echo "session: own" || echo "session: inherited"
exit 3"#;

const SCENARIOS: &[&str] = &[
    "plain",
    "actions",
    "attrs",
    "sigmask",
    "setsid",
    "spawnp",
    "enoent",
    "eacces",
    "open_fails",
    "dup2_ebadf",
    "chdir_enotdir",
    "spawnp_enoent",
    "setsid_pgroup",
    "resetids",
    "sched",
    "tcsetpgrp",
    "pidfd_spawn",
];

fn sigset(sigs: &[c_int]) -> libc::sigset_t {
    // SAFETY: An all-zero set is valid storage for sigemptyset().
    let mut s: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `s` is valid storage.
    unsafe { libc::sigemptyset(&mut s) };
    for &sig in sigs {
        // SAFETY: As above.
        unsafe { libc::sigaddset(&mut s, sig) };
    }
    s
}

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    if scenario == "list" {
        println!("{}", SCENARIOS.join("\n"));
        return;
    }
    if scenario == "cgroup" || scenario == "cgroup_ebadf" {
        cgroup(scenario == "cgroup");
        return;
    }
    assert!(
        SCENARIOS.contains(&scenario.as_str()),
        "unknown scenario {scenario}"
    );

    let mut p = [0 as c_int; 2];
    // SAFETY: `p` has room for two descriptors.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: All-zero objects are what the init functions overwrite.
    let mut fa: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
    // SAFETY: As above.
    let mut attr: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
    let c = |s: &str| CString::new(s).unwrap();
    let (devnull, root, proc_, tmp) = (c("/dev/null"), c("/"), c("proc"), c("/etc/passwd"));
    let mut program = c("/bin/sh");
    let mut spawnp = false;
    let mut flags: c_int = 0;

    // SAFETY: Every call gets initialised objects and valid strings that outlive the spawn.
    unsafe {
        libc::posix_spawn_file_actions_init(&mut fa);
        libc::posix_spawnattr_init(&mut attr);
        libc::posix_spawn_file_actions_adddup2(&mut fa, p[1], 1);
        match scenario.as_str() {
            "actions" => {
                libc::posix_spawn_file_actions_addopen(
                    &mut fa,
                    5,
                    devnull.as_ptr(),
                    libc::O_RDONLY,
                    0,
                );
                libc::posix_spawn_file_actions_adddup2(&mut fa, 5, 7);
                libc::posix_spawn_file_actions_addclose(&mut fa, 5);
                libc::posix_spawn_file_actions_addopen(
                    &mut fa,
                    9,
                    devnull.as_ptr(),
                    libc::O_RDONLY | libc::O_CLOEXEC,
                    0,
                );
                libc::posix_spawn_file_actions_adddup2(&mut fa, 9, 9);
                addchdir_np(&mut fa, root.as_ptr());
                libc::posix_spawn_file_actions_addopen(
                    &mut fa,
                    12,
                    proc_.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    0,
                );
                addfchdir_np(&mut fa, 12);
                addclosefrom_np(&mut fa, 10);
                libc::posix_spawn_file_actions_addclose(&mut fa, 30);
            }
            "attrs" => {
                libc::signal(libc::SIGUSR2, libc::SIG_IGN);
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                libc::posix_spawnattr_setsigmask(&mut attr, &sigset(&[libc::SIGUSR1]));
                libc::posix_spawnattr_setsigdefault(&mut attr, &sigset(&[libc::SIGUSR2]));
                libc::posix_spawnattr_setpgroup(&mut attr, 0);
                flags = libc::POSIX_SPAWN_SETSIGMASK
                    | libc::POSIX_SPAWN_SETSIGDEF
                    | libc::POSIX_SPAWN_SETPGROUP;
            }
            "sigmask" => {
                libc::posix_spawnattr_setsigmask(
                    &mut attr,
                    &sigset(&[libc::SIGUSR1, libc::SIGTERM]),
                );
                flags = libc::POSIX_SPAWN_SETSIGMASK;
                program = c("/bin/grep");
            }
            "setsid" => flags = 0x80,
            "spawnp" => {
                program = c("sh");
                spawnp = true;
            }
            "enoent" => program = c("/nonexistent/program"),
            "eacces" => program = tmp.clone(),
            "open_fails" => {
                let bad = c("/nonexistent/file");
                libc::posix_spawn_file_actions_addopen(&mut fa, 4, bad.as_ptr(), libc::O_RDONLY, 0);
            }
            "dup2_ebadf" => {
                libc::posix_spawn_file_actions_adddup2(&mut fa, 40, 4);
            }
            "chdir_enotdir" => {
                addchdir_np(&mut fa, devnull.as_ptr());
            }
            "spawnp_enoent" => {
                program = c("pidfdspawn-no-such-program");
                spawnp = true;
            }
            "setsid_pgroup" => {
                libc::posix_spawnattr_setpgroup(&mut attr, 0);
                flags = 0x80 | libc::POSIX_SPAWN_SETPGROUP;
            }
            "resetids" => flags = libc::POSIX_SPAWN_RESETIDS,
            "sched" => {
                // glibc's setschedpolicy takes only the POSIX policies; FIFO needs root (the
                // tests run as root, and both roads then report the same error otherwise).
                let param = libc::sched_param { sched_priority: 1 };
                libc::posix_spawnattr_setschedpolicy(&mut attr, libc::SCHED_FIFO);
                libc::posix_spawnattr_setschedparam(&mut attr, &param);
                flags = libc::POSIX_SPAWN_SETSCHEDULER | libc::POSIX_SPAWN_SETSCHEDPARAM;
            }
            "tcsetpgrp" => {
                // /dev/null is no terminal: ENOTTY, from glibc either way.
                libc::posix_spawn_file_actions_addopen(
                    &mut fa,
                    8,
                    devnull.as_ptr(),
                    libc::O_RDONLY,
                    0,
                );
                posix_spawn_file_actions_addtcsetpgrp_np(&mut fa, 8);
            }
            _ => {}
        }
        libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
    }

    // grep reports its own mask: the shell would reset it before any command could see it.
    let (a0, a1, a2) = if scenario == "sigmask" {
        (c("grep"), c("^SigBlk"), c("/proc/self/status"))
    } else if scenario == "sched" {
        // Field 41 of /proc/PID/stat is the scheduling policy.
        (
            c("sh"),
            c("-c"),
            c("echo policy $(cut -d' ' -f41 /proc/$$/stat)"),
        )
    } else {
        (c("sh"), c("-c"), c(SCRIPT))
    };
    let argv: [*mut c_char; 4] = [
        a0.as_ptr().cast_mut(),
        a1.as_ptr().cast_mut(),
        a2.as_ptr().cast_mut(),
        ptr::null_mut(),
    ];
    extern "C" {
        static environ: *const *mut c_char;
    }
    let mut pid = 0;
    let ret = if scenario == "pidfd_spawn" {
        // It reports on its own, waiting through the pidfd; -1 skips the rest.
        pidfd_spawn(&fa, &attr, &argv, p);
        -1
    } else {
        // SAFETY: All pointers are valid; `environ` is the process's environment.
        let ret = unsafe {
            let f = if spawnp {
                libc::posix_spawnp
            } else {
                libc::posix_spawn
            };
            f(
                &mut pid,
                program.as_ptr(),
                &fa,
                &attr,
                argv.as_ptr(),
                environ,
            )
        };
        // SAFETY: Our write end, no longer needed here.
        unsafe { libc::close(p[1]) };
        println!("ret {ret}");
        ret
    };
    if ret == 0 {
        let (out, status) = output_and_status(p[0], pid);
        print!("{out}");
        println!("status {}", libc::WEXITSTATUS(status));
    }
    // No zombie, whatever happened.
    // SAFETY: waitpid() with WNOHANG on any child reads nothing but `status`.
    let left = unsafe { libc::waitpid(-1, ptr::null_mut(), libc::WNOHANG) };
    println!("zombie-check {}", if left < 0 { "none" } else { "left" });

    // SAFETY: dlsym() with RTLD_DEFAULT and a NUL-terminated name.
    let counts = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"pidfdspawn_counts".as_ptr()) };
    if !counts.is_null() {
        let (mut e, mut f) = (0u64, 0u64);
        // SAFETY: The library's pidfdspawn_counts(u64 *, u64 *).
        unsafe {
            std::mem::transmute::<*mut libc::c_void, unsafe extern "C" fn(*mut u64, *mut u64)>(
                counts,
            )(&mut e, &mut f)
        };
        eprintln!("via embryo={e} fallback={f}");
    }
}

/// Reads the child's output to EOF from the pipe's read end `read_end`, which it takes over.
fn read_output(read_end: c_int) -> String {
    let mut out = String::new();
    // SAFETY: The caller gives us its read end, owned from here on.
    let mut r = unsafe { std::fs::File::from_raw_fd(read_end) };
    r.read_to_string(&mut out).unwrap();
    out
}

/// Reads the child's output as [`read_output`] does, then reaps the child `pid`: its output
/// and its wait status.
fn output_and_status(read_end: c_int, pid: libc::pid_t) -> (String, c_int) {
    let out = read_output(read_end);
    let mut status = 0;
    // SAFETY: `pid` is our child and `status` valid storage.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    (out, status)
}

type PidfdSpawn = unsafe extern "C" fn(
    *mut c_int,
    *const c_char,
    *const libc::posix_spawn_file_actions_t,
    *const libc::posix_spawnattr_t,
    *const *mut c_char,
    *const *mut c_char,
) -> c_int;

/// pidfd_spawn() if the process has one (glibc 2.39, or libpidfdspawn): the child is waited
/// for through its pidfd.
fn pidfd_spawn(
    fa: &libc::posix_spawn_file_actions_t,
    attr: &libc::posix_spawnattr_t,
    argv: &[*mut c_char; 4],
    p: [c_int; 2],
) {
    // SAFETY: dlsym() with RTLD_DEFAULT and a NUL-terminated name.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"pidfd_spawn".as_ptr()) };
    if f.is_null() {
        println!("pidfd_spawn absent");
        return;
    }
    extern "C" {
        static environ: *const *mut c_char;
    }
    let mut pidfd = -1;
    // SAFETY: `f` is pidfd_spawn(); all pointers are valid.
    let ret = unsafe {
        std::mem::transmute::<*mut libc::c_void, PidfdSpawn>(f)(
            &mut pidfd,
            c"/bin/sh".as_ptr(),
            fa,
            attr,
            argv.as_ptr(),
            environ,
        )
    };
    // SAFETY: Our write end, no longer needed here.
    unsafe { libc::close(p[1]) };
    println!("ret {ret}");
    if ret != 0 {
        return;
    }
    // Drained so that the child never blocks on a full pipe; the scenario reports only the
    // results of pidfd_spawn() and waitid().
    let _ = read_output(p[0]);
    // SAFETY: An all-zero siginfo_t is valid storage for waitid() to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `pidfd` is the child's pidfd and `info` valid storage.
    let w = unsafe { libc::waitid(libc::P_PIDFD, pidfd as libc::id_t, &mut info, libc::WEXITED) };
    // SAFETY: waitid() filled a CLD_EXITED siginfo.
    println!("waitid {w} status {}", unsafe { info.si_status() });
}

extern "C" {
    fn posix_spawn_file_actions_addtcsetpgrp_np(
        fa: *mut libc::posix_spawn_file_actions_t,
        fd: c_int,
    ) -> c_int;
    fn posix_spawn_file_actions_addchdir_np(
        fa: *mut libc::posix_spawn_file_actions_t,
        path: *const c_char,
    ) -> c_int;
    fn posix_spawn_file_actions_addfchdir_np(
        fa: *mut libc::posix_spawn_file_actions_t,
        fd: c_int,
    ) -> c_int;
    fn posix_spawn_file_actions_addclosefrom_np(
        fa: *mut libc::posix_spawn_file_actions_t,
        from: c_int,
    ) -> c_int;
}

/// # Safety
/// As for glibc's.
unsafe fn addchdir_np(fa: &mut libc::posix_spawn_file_actions_t, path: *const c_char) -> c_int {
    // SAFETY: The caller's arguments, passed on.
    unsafe { posix_spawn_file_actions_addchdir_np(fa, path) }
}

/// # Safety
/// As for glibc's.
unsafe fn addfchdir_np(fa: &mut libc::posix_spawn_file_actions_t, fd: c_int) -> c_int {
    // SAFETY: The caller's arguments, passed on.
    unsafe { posix_spawn_file_actions_addfchdir_np(fa, fd) }
}

/// # Safety
/// As for glibc's.
unsafe fn addclosefrom_np(fa: &mut libc::posix_spawn_file_actions_t, from: c_int) -> c_int {
    // SAFETY: The caller's arguments, passed on.
    unsafe { posix_spawn_file_actions_addclosefrom_np(fa, from) }
}

type SetCgroup = unsafe extern "C" fn(*mut libc::posix_spawnattr_t, c_int) -> c_int;

/// POSIX_SPAWN_SETCGROUP with `posix_spawnattr_setcgroup_np()`, if the process has it: into a
/// new cgroup of a cgroup2 mounted in a mount namespace of the probe's own (`real`, and only
/// where the library must start embryos: elsewhere the spawn must fail before using it), or
/// with a descriptor that is not open (`!real`). The child prints its cgroup.
fn cgroup(real: bool) {
    // SAFETY: dlsym() with RTLD_DEFAULT and a NUL-terminated name.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"posix_spawnattr_setcgroup_np".as_ptr()) };
    if f.is_null() {
        println!("posix_spawnattr_setcgroup_np absent");
        return;
    }
    let c = |s: &str| CString::new(s).unwrap();
    let mnt = c("/tmp/pidfdspawn-probe-cgroup");
    let dir = c("/tmp/pidfdspawn-probe-cgroup/probe");
    let mut cg = 999;
    if real && std::env::var_os("PIDFD_EMBRYO_REQUIRE").is_some() {
        // SAFETY: Plain system calls on valid strings; the namespace is this process's alone.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare");
            assert_eq!(
                libc::mount(
                    ptr::null(),
                    c"/".as_ptr(),
                    ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    ptr::null()
                ),
                0
            );
            libc::mkdir(mnt.as_ptr(), 0o700);
            assert_eq!(
                libc::mount(
                    c"none".as_ptr(),
                    mnt.as_ptr(),
                    c"cgroup2".as_ptr(),
                    0,
                    ptr::null()
                ),
                0,
                "mount cgroup2"
            );
            libc::mkdir(dir.as_ptr(), 0o755);
            cg = libc::open(
                dir.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            assert!(cg >= 0, "open the cgroup");
        }
    } else if real {
        // SAFETY: As above; a directory that is no cgroup, which the spawn must not reach.
        cg = unsafe {
            libc::open(
                c"/".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
    }
    let mut p = [0 as c_int; 2];
    // SAFETY: `p` has room for two descriptors.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: All-zero objects are what the init functions overwrite.
    let mut fa: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
    // SAFETY: As above.
    let mut attr: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
    let (a0, a1) = (c("cat"), c("/proc/self/cgroup"));
    let argv: [*mut c_char; 3] = [
        a0.as_ptr().cast_mut(),
        a1.as_ptr().cast_mut(),
        ptr::null_mut(),
    ];
    extern "C" {
        static environ: *const *mut c_char;
    }
    let mut pid = 0;
    // SAFETY: Initialised objects, valid strings and descriptors; `f` is setcgroup_np().
    let ret = unsafe {
        libc::posix_spawn_file_actions_init(&mut fa);
        libc::posix_spawn_file_actions_adddup2(&mut fa, p[1], 1);
        libc::posix_spawnattr_init(&mut attr);
        std::mem::transmute::<*mut libc::c_void, SetCgroup>(f)(&mut attr, cg);
        libc::posix_spawnattr_setflags(&mut attr, 0x100);
        let mut flags = 0;
        libc::posix_spawnattr_getflags(&attr, &mut flags);
        println!("flags {flags:#x}");
        let ret = libc::posix_spawn(
            &mut pid,
            c"/bin/cat".as_ptr(),
            &fa,
            &attr,
            argv.as_ptr(),
            environ,
        );
        libc::close(p[1]);
        ret
    };
    println!("ret {ret}");
    if ret == 0 {
        let (out, _) = output_and_status(p[0], pid);
        print!("child: {out}");
    }
    // SAFETY: Removing the (now empty) cgroup; nothing if there is none.
    unsafe { libc::rmdir(dir.as_ptr()) };
}
