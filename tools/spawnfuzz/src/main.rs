// SPDX-License-Identifier: GPL-2.0
//! `spawnfuzz [--seed N] [--ops N] [--campaigns N] [--meddler] [--verbose]`: runs campaigns
//! with seeds N, N+1, ... and prints what each did; exits 1 if any found a violation, 2 if the
//! kernel has no embryo syscalls.

use spawnfuzz::{run, Options};
use std::process::ExitCode;

fn usage() -> ! {
    eprintln!("usage: spawnfuzz [--seed N] [--ops N] [--campaigns N] [--meddler] [--verbose]");
    std::process::exit(2);
}

fn number(v: Option<String>) -> u64 {
    let v = v.unwrap_or_else(|| usage());
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.unwrap_or_else(|_| usage())
}

fn main() -> ExitCode {
    let mut opts = Options {
        seed: 1,
        ops: 2000,
        meddler: false,
        verbose: false,
    };
    let mut campaigns = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => opts.seed = number(args.next()),
            "--ops" => opts.ops = number(args.next()),
            "--campaigns" => campaigns = number(args.next()),
            "--meddler" => opts.meddler = true,
            "--verbose" => opts.verbose = true,
            _ => usage(),
        }
    }
    if !pidfd_embryo::sys::supported() {
        eprintln!("spawnfuzz: this kernel has no pidfd_open(0, PIDFD_EMPTY)");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for i in 0..campaigns {
        let o = Options {
            seed: opts.seed + i,
            ..opts.clone()
        };
        let report = run(&o);
        println!(
            "# campaign seed {} ops {}{}",
            o.seed,
            o.ops,
            if o.meddler { " meddler" } else { "" }
        );
        print!("{}", report.summary());
        for v in &report.violations {
            println!("VIOLATION {v}");
        }
        failed |= !report.violations.is_empty();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
