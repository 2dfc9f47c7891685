// SPDX-License-Identifier: GPL-2.0
//! Campaigns with fixed seeds, run in the guest of `make test` (`--include-ignored`), where the
//! kernel has the embryo syscalls. On a kernel without them there is nothing to fuzz, so they
//! are ignored by default rather than passed.
//!
//! Every campaign has the `SCM_RIGHTS` and out-of-range `sched` operations (the defaults); seeds
//! 4 to 6 add the modes that run in a process of their own: new user, pid, mount and time
//! namespaces, an unprivileged user at its `RLIMIT_NPROC`, both at once, with seccomp
//! sub-workers. A campaign whose namespaces or user cannot be made reports itself skipped; here
//! that fails the test, since the guest's kernel has them (`ci/config/base.config`) and a skip
//! would silently drop what these campaigns are for.

use spawnfuzz::{run, Options, Report};

fn campaign(opts: Options) -> Report {
    assert!(
        pidfd_embryo::sys::supported(),
        "this kernel has no pidfd_open(0, PIDFD_EMPTY)"
    );
    let report = run(&opts);
    println!("# campaign {}", opts.describe());
    println!("{}", report.summary());
    assert_eq!(
        report.skipped, None,
        "the campaign was skipped: the guest's kernel should allow it"
    );
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    report
}

/// The campaign reached the interesting outcomes, not only the first checks.
fn assert_reached(report: &Report) {
    assert!(report.started > 0, "no process was started");
    assert!(
        report.count("pidfd_config", 0) > 0,
        "no configuration succeeded"
    );
    for e in [libc::EINVAL, libc::EFAULT, libc::EBADF, libc::EBUSY] {
        assert!(
            report.count("pidfd_config", e) > 0,
            "pidfd_config never returned {}",
            spawnfuzz::campaign::errno_name(e)
        );
    }
    assert!(
        report
            .results
            .keys()
            .any(|(c, e)| *c == "pidfd_start" && *e != 0),
        "no start failed"
    );
    // The default operations: SCM_RIGHTS refused an unstarted embryo and passed a started one;
    // sched probes started processes; the embryo at the end opened.
    for (call, e) in [
        ("sendmsg(SCM_RIGHTS)", libc::EINVAL),
        ("sendmsg(SCM_RIGHTS)", 0),
        ("pidfd_config(capture)", libc::EINVAL),
        ("pidfd_start(sched)", 0),
        ("pidfd_open(end)", 0),
    ] {
        assert!(
            report.count(call, e) > 0,
            "{call} never returned {}",
            spawnfuzz::campaign::errno_name(e)
        );
    }
}

fn options(seed: u64, ops: u64) -> Options {
    Options::new(seed, ops)
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_1() {
    assert_reached(&campaign(options(1, 20000)));
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_2() {
    assert_reached(&campaign(options(2, 20000)));
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_3_with_meddler() {
    assert_reached(&campaign(Options {
        meddler: true,
        ..options(3, 20000)
    }));
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_4_in_namespaces() {
    let report = campaign(Options {
        namespaces: true,
        seccomp: true,
        ..options(4, 10000)
    });
    assert_reached(&report);
    // Sub-workers changed their children's pid namespace, and their starts were refused.
    assert!(report.count("unshare(CLONE_NEWPID)", 0) > 0);
    assert!(report.count("pidfd_start(newpid)", libc::EOPNOTSUPP) > 0);
    assert!(report.count("pidfd_open(newpid)", libc::EOPNOTSUPP) > 0);
    assert!(report
        .results
        .keys()
        .any(|(c, _)| *c == "pidfd_start(seccomp)"));
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_5_at_rlimit_nproc() {
    let report = campaign(Options {
        nproc: Some(54505),
        seccomp: true,
        ..options(5, 10000)
    });
    assert_reached(&report);
    assert!(report.count("pidfd_open(EMPTY)", libc::EAGAIN) > 0);
    assert!(report.count("pidfd_start(at-limit)", 0) > 0);
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_6_in_namespaces_at_rlimit_nproc_with_meddler() {
    let report = campaign(Options {
        namespaces: true,
        nproc: Some(54506),
        meddler: true,
        ..options(6, 10000)
    });
    assert_reached(&report);
    assert!(report.count("pidfd_open(EMPTY)", libc::EAGAIN) > 0);
    assert!(report.count("pidfd_start(newpid)", libc::EOPNOTSUPP) > 0);
}
