// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
//! libpidfdspawn.so against glibc: every scenario of `examples/probe.rs` runs twice, plainly and
//! under `LD_PRELOAD`, and must print the same thing: the same error from the spawn, and a
//! child that sees the same descriptors, directory, signal state, group and session.
//!
//! On a kernel without the syscalls both runs go to glibc (the library falls back). With
//! `PIDFD_EMBRYO_REQUIRE=1` (the guest of `make test`) the library must answer every scenario
//! itself, addtcsetpgrp_np included.

use std::path::PathBuf;
use std::process::Command;

fn target_dir() -> PathBuf {
    // target/debug/deps/preload-HASH -> target/debug
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn probe(scenario: &str, preload: bool) -> (String, String) {
    let mut cmd = Command::new(target_dir().join("examples/probe"));
    cmd.arg(scenario);
    run(cmd, preload, scenario)
}

/// Runs `cmd` without or with `LD_PRELOAD=libpidfdspawn.so`; it must succeed. Its stdout and
/// stderr.
fn run(mut cmd: Command, preload: bool, what: &str) -> (String, String) {
    let dir = target_dir();
    cmd.env_remove("LD_PRELOAD");
    if preload {
        // `cargo test` does not link the cdylib; without it ld.so would only warn and the
        // "preloaded" run would be glibc's again.
        let lib = dir.join("libpidfdspawn.so");
        assert!(
            lib.is_file(),
            "{} is missing: run `cargo build -p pidfdspawn --lib --examples` first",
            lib.display()
        );
        cmd.env("LD_PRELOAD", lib);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it: {e}"));
    assert!(out.status.success(), "{what}: {out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn required() -> bool {
    std::env::var_os("PIDFD_EMBRYO_REQUIRE").is_some()
}

#[test]
fn same_behaviour_as_glibc() {
    let (list, _) = probe("list", false);
    let mut checked = 0;
    for scenario in list.lines().filter(|s| *s != "pidfd_spawn") {
        let (plain, plain_err) = probe(scenario, false);
        let (pre, pre_err) = probe(scenario, true);
        assert!(plain_err.is_empty(), "{scenario}: {plain_err}");
        assert_eq!(plain, pre, "{scenario}: glibc and libpidfdspawn differ");
        assert!(plain.starts_with("ret "), "{scenario}: {plain}");
        assert!(plain.contains("zombie-check none"), "{scenario}: {plain}");
        let want = match (required(), scenario) {
            (true, _) => "via embryo=1 fallback=0",
            (false, _) => "via embryo=0 fallback=1",
        };
        assert_eq!(pre_err.trim(), want, "{scenario}");
        checked += 1;
    }
    assert!(checked >= 16, "only {checked} scenarios");
}

#[test]
fn errors_are_those_of_glibc() {
    // The scenarios that must fail, and how: compared above with glibc, pinned here.
    for (scenario, errno) in [
        ("enoent", libc::ENOENT),
        ("eacces", libc::EACCES),
        ("open_fails", libc::ENOENT),
        ("dup2_ebadf", libc::EBADF),
        ("chdir_enotdir", libc::ENOTDIR),
        ("spawnp_enoent", libc::ENOENT),
        ("setsid_pgroup", libc::EPERM),
    ] {
        let (out, _) = probe(scenario, true);
        assert!(
            out.starts_with(&format!("ret {errno}\n")),
            "{scenario}: {out}"
        );
    }
}

#[test]
fn child_state() {
    let (out, _) = probe("actions", true);
    // 7 from the dup2, 9 kept by dup2 onto itself, nothing from 10 up; below 7, whatever the
    // caller had open.
    let fds = out.lines().find(|l| l.starts_with("fds:")).unwrap_or("");
    assert!(fds.ends_with(" 7 9"), "{out}");
    assert!(
        fds.split(' ')
            .skip(1)
            .all(|n| n.parse::<u32>().is_ok_and(|n| n < 10)),
        "{out}"
    );
    assert!(out.contains("cwd: /proc\n"), "{out}");
    let (out, _) = probe("sigmask", true);
    let bits = (1u64 << (libc::SIGUSR1 - 1)) | (1u64 << (libc::SIGTERM - 1));
    assert!(out.contains(&format!("SigBlk:\t{bits:016x}\n")), "{out}");
    let (out, _) = probe("attrs", true);
    assert!(out.contains("pgrp: own\n"), "{out}");
    let (out, _) = probe("setsid", true);
    assert!(out.contains("session: own\n"), "{out}");
    // SAFETY: geteuid() has no requirements.
    if unsafe { libc::geteuid() } == 0 {
        let (out, _) = probe("sched", true);
        let want = format!("policy {}", libc::SCHED_FIFO);
        assert!(out.lines().any(|l| l == want), "{out}");
    }
}

#[test]
fn pidfd_spawn_returns_a_pidfd() {
    let (out, err) = probe("pidfd_spawn", true);
    if required() {
        assert_eq!(err.trim(), "via embryo=1 fallback=0");
        assert!(out.contains("ret 0\n"), "{out}");
        assert!(out.contains("waitid 0 status 3\n"), "{out}");
    } else {
        // glibc 2.36 has no pidfd_spawn to fall back to: ENOSYS, never a silent fork.
        assert!(
            out.starts_with(&format!("ret {}\n", libc::ENOSYS))
                || out.contains("waitid 0 status 3"),
            "{out}"
        );
    }
}

#[test]
fn c_program_with_every_file_action() {
    // c/every_action.c, built by build.rs: an unmodified C program.
    let exe = env!("PIDFDSPAWN_EVERY_ACTION");
    let (plain, plain_err) = run(Command::new(exe), false, "every_action");
    let (pre, pre_err) = run(Command::new(exe), true, "every_action under LD_PRELOAD");
    assert!(plain_err.is_empty(), "{plain_err}");
    assert_eq!(plain, pre, "glibc and libpidfdspawn differ");
    for line in [
        "posix_spawnp: started",
        "child: fd 0 is the pty",
        "child: fd 1 is a pipe",
        "child: fd 3 is DIR/sub/out.txt",
        "child: cwd DIR/sub",
        "child: process group its own",
        "child: foreground group of its terminal: its own",
        "child: SIGUSR1 blocked",
        "child: SIGUSR2 default",
        "child: exit status 7",
        "DIR/sub/out.txt: written by the child through fd 3",
        "posix_spawnp with a failing addopen: No such file or directory",
        "children left to wait for: none",
    ] {
        assert!(pre.lines().any(|l| l == line), "no {line:?} in:\n{pre}");
    }
    // The descriptor kept by a dup2 onto itself, 7 or the next free one below 10.
    assert!(
        [
            "child: fd 7 is DIR",
            "child: fd 8 is DIR",
            "child: fd 9 is DIR"
        ]
        .iter()
        .any(|l| pre.lines().any(|p| p == *l)),
        "{pre}"
    );
    // Nothing else is open in the child: 0, 1, 2 (the test's stderr), 3 and the kept one.
    let fds = pre.lines().filter(|l| l.starts_with("child: fd ")).count();
    assert_eq!(fds, 5, "{pre}");
    let want = if required() {
        "via embryo=2 fallback=0"
    } else {
        "via embryo=0 fallback=2"
    };
    assert_eq!(pre_err.trim(), want);
}

#[test]
fn setcgroup_np() {
    // glibc 2.36 has no posix_spawnattr_setcgroup_np(); the library has.
    let (plain, _) = probe("cgroup", false);
    assert!(
        plain.starts_with("posix_spawnattr_setcgroup_np absent") || plain.contains("ret 0\n"),
        "{plain}"
    );
    let (real, _) = probe("cgroup", true);
    let (bad, _) = probe("cgroup_ebadf", true);
    // POSIX_SPAWN_SETCGROUP reads back from getflags, even on a glibc that predates it.
    assert!(real.starts_with("flags 0x100\n"), "{real}");
    if required() {
        assert!(real.contains("ret 0\nchild: 0::/probe\n"), "{real}");
        assert!(bad.contains(&format!("ret {}\n", libc::EBADF)), "{bad}");
    } else {
        // Neither the kernel nor glibc 2.36 can do it: an error, not a child elsewhere.
        assert!(real.contains(&format!("ret {}\n", libc::ENOSYS)), "{real}");
        assert!(bad.contains(&format!("ret {}\n", libc::ENOSYS)), "{bad}");
    }
}

/// Runs `c/cases.c` with `scenario`, plainly and under the library: both stdouts must be the
/// same. Returns the stdout and how the library routed the spawns.
fn case(scenario: &str) -> (String, String) {
    let exe = env!("PIDFDSPAWN_CASES");
    let mut plain = Command::new(exe);
    plain.arg(scenario);
    let mut pre = Command::new(exe);
    pre.arg(scenario);
    let (plain, plain_err) = run(plain, false, scenario);
    let (out, err) = run(pre, true, scenario);
    assert!(plain_err.is_empty(), "{scenario}: {plain_err}");
    assert_eq!(plain, out, "{scenario}: glibc and libpidfdspawn differ");
    (out, err.trim().to_string())
}

/// The route a spawn the embryo can take must take: through it on the patched kernel.
fn embryo_route(spawns: u32) -> String {
    if required() {
        format!("via embryo={spawns} fallback=0")
    } else {
        format!("via embryo=0 fallback={spawns}")
    }
}

#[test]
fn no_free_descriptor() {
    // glibc's spawn needs no descriptor; an embryo does, so the library hands the spawn on.
    let (out, via) = case("emfile");
    assert!(
        out.starts_with("table full: EMFILE\nret 0\nchild exited 0\n"),
        "{out}"
    );
    assert_eq!(via, "via embryo=0 fallback=1");
}

#[test]
fn new_pid_namespace() {
    let (out, via) = case("pidns");
    if out.starts_with("unshare:") {
        // Not allowed here (no CAP_SYS_ADMIN): nothing was spawned.
        assert_eq!(via, "via embryo=0 fallback=0", "{out}");
        return;
    }
    // The first child is the namespace's init. An embryo cannot start there (EOPNOTSUPP, before
    // any child exists), so glibc spawns it.
    assert!(
        out.starts_with("ret 0\nchild says: pid 1\nchild exited 0\n"),
        "{out}"
    );
    assert_eq!(via, "via embryo=0 fallback=1");
}

#[test]
fn pending_cancellation() {
    // posix_spawn() is not a cancellation point: the spawn returns, the thread is cancelled at
    // its next cancellation point. The process must not abort.
    let (out, via) = case("cancel");
    assert!(
        out.starts_with("ret 0\nthread cancelled after the spawn\nchild exited 0\n"),
        "{out}"
    );
    assert_eq!(via, embryo_route(1));
}

#[test]
fn fork_while_a_thread_uses_the_tables() {
    let (out, via) = case("fork");
    assert!(
        out.starts_with("children that used file actions after fork(): 300 ok, 0 hung\n"),
        "{out}"
    );
    assert_eq!(via, "via embryo=0 fallback=0");
}

#[test]
fn errno_unchanged() {
    let (out, via) = case("errno");
    assert!(
        out.starts_with("ret 0 errno unchanged\nchild exited 0\n"),
        "{out}"
    );
    assert_eq!(via, embryo_route(1));
}

#[test]
fn dup2_of_a_closed_descriptor() {
    // The embryo's own descriptor must not be found where the program's dup2 names a closed one.
    let (out, via) = case("dup2_closed");
    assert!(out.starts_with(&format!("ret {}\n", libc::EBADF)), "{out}");
    assert_eq!(via, embryo_route(1));
}

#[test]
fn closefrom_then_other_actions() {
    // A table with gaps (10, 12 and 14 open, 11 and 13 not): closefrom(3), then actions onto the
    // lowest descriptors; and the same with 0 closed in the caller and closefrom(2).
    for scenario in ["closefrom", "closefrom_low"] {
        let (out, via) = case(scenario);
        assert!(out.starts_with("ret 0\nchild's descriptors: 0 1 "), "{out}");
        let fds = out.lines().nth(1).unwrap_or("");
        for gone in ["10", "12", "14"] {
            assert!(!fds.split(' ').any(|f| f == gone), "{scenario}: {out}");
        }
        assert!(out.contains("child exited 0\n"), "{out}");
        assert_eq!(via, embryo_route(1), "{scenario}");
    }
}

#[test]
fn pre_2_15_binaries_keep_their_posix_spawn() {
    // c/compat.c is bound to posix_spawn@GLIBC_2.2.5 and posix_spawnp@GLIBC_2.2.5, whose child
    // runs a file without #! through /bin/sh, and to today's versions, which return ENOEXEC.
    assert_eq!(
        env!("PIDFDSPAWN_GLIBC_VERSIONS"),
        "1",
        "libpidfdspawn was built without glibc's symbol versions (its cdylib was not linked by \
         rust-lld): a program linked before glibc 2.15 would get today's posix_spawn"
    );
    let exe = env!("PIDFDSPAWN_COMPAT");
    let (plain, plain_err) = run(Command::new(exe), false, "compat");
    let (pre, pre_err) = run(Command::new(exe), true, "compat under LD_PRELOAD");
    assert!(plain_err.is_empty(), "{plain_err}");
    assert_eq!(plain, pre, "glibc and libpidfdspawn differ");
    assert!(
        pre.starts_with(
            "posix_spawn@GLIBC_2.2.5: ret 0, exit 0, output \"ran by a shell with arg1\"\n\
             posix_spawn@@GLIBC_2.15: ret Exec format error\n"
        ),
        "{pre}"
    );
    // The old versions always go to glibc's; today's take the embryo where there is one.
    let want = if required() {
        "via embryo=2 fallback=2"
    } else {
        "via embryo=0 fallback=4"
    };
    assert_eq!(pre_err.trim(), want);
}

#[test]
fn empty_path_runs_the_file_actions() {
    // glibc's child runs its file actions, then its exec fails with ENOENT: the file exists.
    let (out, via) = case("empty_path");
    assert!(
        out.starts_with("ret No such file or directory\nfile the action creates: present\n"),
        "{out}"
    );
    assert_eq!(via, "via embryo=0 fallback=1");
}
