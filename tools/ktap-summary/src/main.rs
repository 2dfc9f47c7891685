// SPDX-License-Identifier: GPL-2.0-only

//! Sum the results of one `make test` run and decide whether it passed.
//!
//! ```text
//! ktap-summary [--kunit LOG] [--selftests DIR] [--baseline FILE]
//!              [--known-fail FILE] [--record FILE] [--extra NAME=P,F,S]...
//! ```
//!
//! * `--kunit LOG`: a serial console log with KUnit's KTAP output.
//! * `--selftests DIR`: one `COLLECTION__TEST.tap` (stdout+stderr) and one
//!   `COLLECTION__TEST.rc` (exit code) per kselftest binary.
//! * `--baseline FILE`: tests that pass on the unpatched base; each must
//!   pass here too, or the run fails with a regression.
//! * `--known-fail FILE`: tests that fail, or fail at times, on the
//!   unpatched base too; when they fail they are shown and counted as
//!   skipped, never as passed, and the baseline does not require them.
//! * `--record FILE`: write the names of the tests that passed (to make a
//!   baseline on the base tree).
//! * `--extra NAME=P,F,S`: counts from another runner (cargo test).
//!
//! The last line is `N passed, N failed, N skipped`; the exit code is 1 if
//! anything failed, regressed or went missing.

use ktap_summary::{parse, parse_list, Outcome, Parsed, TestResult};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

/// Exit code of a kselftest that skipped itself (kselftest.h KSFT_SKIP).
const KSFT_SKIP: i32 = 4;

#[derive(Default)]
struct Args {
    kunit: Option<String>,
    selftests: Option<String>,
    baseline: Option<String>,
    known_fail: Option<String>,
    record: Option<String>,
    extra: Vec<(String, usize, usize, usize)>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kunit" => a.kunit = Some(val()?),
            "--selftests" => a.selftests = Some(val()?),
            "--baseline" => a.baseline = Some(val()?),
            "--known-fail" => a.known_fail = Some(val()?),
            "--record" => a.record = Some(val()?),
            "--extra" => {
                let v = val()?;
                let (name, nums) = v.split_once('=').ok_or("--extra takes NAME=P,F,S")?;
                let n: Vec<usize> = nums
                    .split(',')
                    .map(|x| x.parse().map_err(|_| format!("bad count in {v}")))
                    .collect::<Result<_, _>>()?;
                if n.len() != 3 {
                    return Err(format!("--extra takes NAME=P,F,S, got {v}"));
                }
                a.extra.push((name.to_string(), n[0], n[1], n[2]));
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(a)
}

fn read(path: &str) -> Result<String, String> {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("{path}: {e}"))
}

/// Parse one kselftest binary's output and exit code into results.
fn selftest_results(dir: &Path, stem: &str) -> Result<(Parsed, Vec<String>), String> {
    let tap = read(&dir.join(format!("{stem}.tap")).to_string_lossy())?;
    let rc_text = read(&dir.join(format!("{stem}.rc")).to_string_lossy()).unwrap_or_default();
    let rc: Option<i32> = rc_text.trim().parse().ok();
    let name = stem.replacen("__", "/", 1);
    let mut p = parse(&tap, &format!("{name}:"));
    let mut notes = Vec::new();
    let failed = p.results.iter().any(|r| r.outcome == Outcome::Fail);
    match rc {
        Some(0) => {
            if p.results.is_empty() {
                // A test that prints no TAP and exits 0 is one passing test.
                p.results.push(TestResult {
                    name: name.clone(),
                    outcome: Outcome::Pass,
                });
            }
        }
        Some(KSFT_SKIP) if p.results.is_empty() => {
            p.results.push(TestResult {
                name: name.clone(),
                outcome: Outcome::Skip,
            });
        }
        Some(KSFT_SKIP) => {}
        other => {
            // The program died or timed out: the results it never printed
            // are that one failure, not a second one.
            p.missing.clear();
            if !failed {
                let why = match other {
                    Some(124) => "timed out".to_string(),
                    Some(c) => format!("exited with {c}"),
                    None => "left no exit code (guest died?)".to_string(),
                };
                notes.push(format!("{name}: {why}"));
                p.results.push(TestResult {
                    name: format!("{name}: {why}"),
                    outcome: Outcome::Fail,
                });
            }
        }
    }
    Ok((p, notes))
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    let mut all: Vec<TestResult> = Vec::new();
    let mut problems: Vec<String> = Vec::new();

    if let Some(log) = &args.kunit {
        let p = parse(&read(log)?, "kunit:");
        if !p.saw_tap {
            problems.push(format!(
                "{log}: no KUnit output at all (did the kernel boot?)"
            ));
        }
        for (name, plan, seen) in &p.missing {
            problems.push(format!(
                "kunit {name}: planned {plan} results, got {seen} (crash?)"
            ));
        }
        let (ps, f, s) = p.counts();
        println!("KUnit:      {ps:5} passed, {f:3} failed, {s:3} skipped");
        all.extend(p.results);
    }

    if let Some(dir) = &args.selftests {
        let dir = Path::new(dir);
        let mut stems: Vec<String> = fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".tap"))
                    .map(String::from)
            })
            .collect();
        stems.sort();
        let mut n = (0, 0, 0);
        for stem in &stems {
            let (p, _) = selftest_results(dir, stem)?;
            for (name, plan, seen) in &p.missing {
                problems.push(format!("{stem} {name}: planned {plan} results, got {seen}"));
            }
            let (ps, f, s) = p.counts();
            n = (n.0 + ps, n.1 + f, n.2 + s);
            all.extend(p.results);
        }
        println!(
            "kselftest:  {:5} passed, {:3} failed, {:3} skipped ({} programs)",
            n.0,
            n.1,
            n.2,
            stems.len()
        );
    }

    let known_fail = match &args.known_fail {
        Some(f) => parse_list(&read(f)?),
        None => BTreeSet::new(),
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut xfail = Vec::new();
    for r in &all {
        match r.outcome {
            Outcome::Pass => passed += 1,
            Outcome::Skip => skipped += 1,
            Outcome::Fail if known_fail.contains(&r.name) => {
                skipped += 1;
                xfail.push(r.name.clone());
            }
            Outcome::Fail => {
                failed += 1;
                failures.push(r.name.clone());
            }
        }
    }
    for (name, p, f, s) in &args.extra {
        println!(
            "{:<11} {p:5} passed, {f:3} failed, {s:3} skipped",
            format!("{name}:")
        );
        passed += p;
        failed += f;
        skipped += s;
        if *f > 0 {
            failures.push(format!("{name}: {f} failed"));
        }
    }

    if let Some(b) = &args.baseline {
        let passing: BTreeSet<&str> = all
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .map(|r| r.name.as_str())
            .collect();
        for want in parse_list(&read(b)?) {
            // A known failure of the base tree (a flake, say) is shown above instead.
            if !passing.contains(want.as_str()) && !known_fail.contains(&want) {
                problems.push(format!(
                    "regression: {want} passes on the base tree but not here"
                ));
            }
        }
    }
    if let Some(rec) = &args.record {
        let mut names: Vec<&str> = all
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .map(|r| r.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        fs::write(rec, names.join("\n") + "\n").map_err(|e| format!("{rec}: {e}"))?;
    }

    if !xfail.is_empty() {
        println!("\nKnown to fail on the unpatched base too (counted as skipped):");
        for x in &xfail {
            println!("  xfail {x}");
        }
    }
    if !failures.is_empty() {
        println!("\nFailed:");
        for f in &failures {
            println!("  FAIL {f}");
        }
    }
    if !problems.is_empty() {
        println!("\nProblems:");
        for p in &problems {
            println!("  {p}");
        }
        failed += problems.len();
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    Ok(failed == 0)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ktap-summary: {e}");
            ExitCode::from(2)
        }
    }
}
