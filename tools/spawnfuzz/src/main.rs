// SPDX-License-Identifier: GPL-2.0
//! `spawnfuzz [--seed N] [--ops N] [--campaigns N] [--meddler] [--verbose] [--namespaces]
//! [--nproc [UID]] [--seccomp] [--no-scm] [--no-sched]`: runs campaigns with seeds N, N+1, ...
//! and prints what each did; exits 1 if any found a violation, 2 if the kernel has no embryo
//! syscalls, 3 if none found a violation but one was skipped (its namespaces or user could not
//! be made).

use spawnfuzz::{run, Options};
use std::process::ExitCode;

/// The first user ID of `--nproc` without one: campaign i runs as 54500 + i.
const NPROC_UID_BASE: u64 = 54500;

fn usage() -> ! {
    eprintln!(
        "usage: spawnfuzz [--seed N] [--ops N] [--campaigns N] [--meddler] [--verbose]\n\
         \x20                [--namespaces] [--nproc [UID]] [--seccomp] [--no-scm] [--no-sched]"
    );
    std::process::exit(2);
}

fn parse(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn number(v: Option<String>) -> u64 {
    v.as_deref().and_then(parse).unwrap_or_else(|| usage())
}

fn main() -> ExitCode {
    let mut opts = Options::new(1, 2000);
    let mut campaigns = 1;
    // --nproc: Some(None) for the default user of each campaign, Some(Some(uid)) for one.
    let mut nproc: Option<Option<u32>> = None;
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => opts.seed = number(args.next()),
            "--ops" => opts.ops = number(args.next()),
            "--campaigns" => campaigns = number(args.next()),
            "--meddler" => opts.meddler = true,
            "--verbose" => opts.verbose = true,
            "--namespaces" => opts.namespaces = true,
            "--seccomp" => opts.seccomp = true,
            "--no-scm" => opts.scm = false,
            "--no-sched" => opts.sched = false,
            "--nproc" => {
                let uid = args.next_if(|v| parse(v).is_some()).map(|v| {
                    match parse(&v).and_then(|n| u32::try_from(n).ok()) {
                        Some(uid) if uid != 0 && uid != u32::MAX => uid,
                        _ => usage(),
                    }
                });
                nproc = Some(uid);
            }
            _ => usage(),
        }
    }
    if !pidfd_embryo::sys::supported() {
        eprintln!("spawnfuzz: this kernel has no pidfd_open(0, PIDFD_EMPTY)");
        return ExitCode::from(2);
    }
    let (mut failed, mut skipped) = (false, false);
    for i in 0..campaigns {
        let o = Options {
            seed: opts.seed + i,
            nproc: nproc.map(|uid| {
                uid.unwrap_or_else(|| u32::try_from(NPROC_UID_BASE + i).unwrap_or_else(|_| usage()))
            }),
            ..opts.clone()
        };
        let report = run(&o);
        println!("# campaign {}", o.describe());
        print!("{}", report.summary());
        for v in &report.violations {
            println!("VIOLATION {v}");
        }
        failed |= !report.violations.is_empty();
        skipped |= report.skipped.is_some();
    }
    if failed {
        ExitCode::FAILURE
    } else if skipped {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}
