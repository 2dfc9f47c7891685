// SPDX-License-Identifier: GPL-2.0
//! Campaigns with fixed seeds, run in the guest of `make test` (`--include-ignored`), where the
//! kernel has the embryo syscalls. On a kernel without them there is nothing to fuzz, so they
//! are ignored by default rather than passed.

use spawnfuzz::{run, Options, Report};

fn campaign(seed: u64, ops: u64, meddler: bool) -> Report {
    assert!(
        pidfd_embryo::sys::supported(),
        "this kernel has no pidfd_open(0, PIDFD_EMPTY)"
    );
    let report = run(&Options {
        seed,
        ops,
        meddler,
        verbose: false,
    });
    println!("{}", report.summary());
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
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_1() {
    assert_reached(&campaign(1, 20000, false));
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_2() {
    assert_reached(&campaign(2, 20000, false));
}

#[test]
#[ignore = "needs the embryo syscalls: run in the guest with --include-ignored"]
fn seed_3_with_meddler() {
    assert_reached(&campaign(3, 20000, true));
}
