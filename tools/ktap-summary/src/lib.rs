// SPDX-License-Identifier: GPL-2.0-only

//! Parse KTAP (KUnit) and TAP 13 (kselftest) output into leaf test results.
//!
//! Both formats nest: KUnit indents a suite's cases by four spaces, the
//! kselftest runner prefixes nested output with `# `. Only leaves count as
//! tests: a result line that had no result lines nested under it. A suite
//! line (`ok 1 rust_kernel_bitmap`) is a summary of its cases and is not
//! counted again.
//!
//! A plan (`1..N`) that announces more results than arrive means the run
//! died part-way; [`Parsed::missing`] reports that, so a crash is never
//! summed as a clean pass.

use std::collections::BTreeSet;

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `ok` without a SKIP directive.
    Pass,
    /// `not ok` without a SKIP directive.
    Fail,
    /// `ok`/`not ok` with a `# SKIP` directive.
    Skip,
}

/// One leaf result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The names of the enclosing results and this one, joined by `.`.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Everything parsed out of one stream.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Leaf results in the order they appeared.
    pub results: Vec<TestResult>,
    /// Plans whose promised number of results never arrived, as
    /// `(name of the enclosing test, or "" at top level, planned, seen)`.
    pub missing: Vec<(String, usize, usize)>,
    /// Whether any KTAP/TAP line was seen at all.
    pub saw_tap: bool,
}

impl Parsed {
    /// Counts of (passed, failed, skipped).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in &self.results {
            match r.outcome {
                Outcome::Pass => c.0 += 1,
                Outcome::Fail => c.1 += 1,
                Outcome::Skip => c.2 += 1,
            }
        }
        c
    }
}

/// Per nesting level: the plan, the results seen so far, and whether a
/// nested result appeared since the last result at this level.
#[derive(Debug, Default, Clone)]
struct Level {
    plan: Option<usize>,
    seen: usize,
    children: Vec<TestResult>,
    subtest_name: Option<String>,
}

/// Strip a printk timestamp (`[    1.234567] `) if there is one.
fn strip_timestamp(line: &str) -> &str {
    let t = line.trim_end_matches(['\r', '\n']);
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let stamp = &rest[..end];
            if !stamp.is_empty() && stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                let after = &rest[end + 1..];
                return after.strip_prefix(' ').unwrap_or(after);
            }
        }
    }
    t
}

/// Split a line into its nesting depth and the remaining text. Four spaces
/// or one `# ` each make one level; a lone `#` comment is not a level.
fn depth_of(mut s: &str) -> (usize, &str) {
    let mut depth = 0;
    loop {
        if let Some(rest) = s.strip_prefix("    ") {
            s = rest;
            depth += 1;
        } else if let Some(rest) = s.strip_prefix("# ") {
            // "# ok 1 x", "# 1..3", "# TAP version", "# # Subtest" nest;
            // any other "# text" is a comment at the outer level.
            if is_tap_line(rest) || rest.starts_with("# ") || rest.starts_with("    ") {
                s = rest;
                depth += 1;
            } else {
                return (depth, s);
            }
        } else {
            return (depth, s);
        }
    }
}

fn is_tap_line(s: &str) -> bool {
    s.starts_with("ok ")
        || s.starts_with("not ok ")
        || s.starts_with("1..")
        || s.starts_with("KTAP version")
        || s.starts_with("TAP version")
}

/// Parse a result line (`ok 3 name # SKIP why`) into its outcome and name.
fn parse_result(s: &str) -> Option<(Outcome, String)> {
    let (ok, rest) = if let Some(r) = s.strip_prefix("ok ") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("not ok ") {
        (false, r)
    } else {
        return None;
    };
    let rest = rest.trim_start();
    let num_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if num_end == 0 {
        return None;
    }
    let after = rest[num_end..].trim_start();
    let after = after.strip_prefix("- ").unwrap_or(after);
    let (name, directive) = match after.find(" #") {
        Some(i) => (&after[..i], after[i + 2..].trim()),
        None if after.starts_with('#') => ("", after[1..].trim()),
        None => (after, ""),
    };
    let skip = directive.len() >= 4 && directive[..4].eq_ignore_ascii_case("skip");
    let outcome = match (ok, skip) {
        (_, true) => Outcome::Skip,
        (true, false) => Outcome::Pass,
        (false, false) => Outcome::Fail,
    };
    Some((outcome, name.trim().to_string()))
}

fn parse_plan(s: &str) -> Option<usize> {
    let n = s.strip_prefix("1..")?;
    let end = n.find(|c: char| !c.is_ascii_digit()).unwrap_or(n.len());
    n[..end].parse().ok()
}

/// Parse one KTAP or TAP stream; `prefix` is prepended to every name.
pub fn parse(text: &str, prefix: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut levels: Vec<Level> = vec![Level::default()];

    for raw in text.lines() {
        let line = strip_timestamp(raw);
        let (depth, s) = depth_of(line);
        if !is_tap_line(s) && !s.starts_with("# Subtest:") {
            continue;
        }
        out.saw_tap = true;
        while levels.len() <= depth + 1 {
            levels.push(Level::default());
        }
        if let Some(name) = s.strip_prefix("# Subtest:") {
            levels[depth].subtest_name = Some(name.trim().to_string());
            continue;
        }
        if s.starts_with("KTAP version") || s.starts_with("TAP version") {
            // A new stream at this depth: forget what the level held.
            levels[depth] = Level::default();
            levels.truncate(depth + 1);
            continue;
        }
        if let Some(n) = parse_plan(s) {
            let name = levels[depth].subtest_name.take();
            levels[depth].plan = Some(n);
            levels[depth].seen = 0;
            levels[depth].subtest_name = name;
            continue;
        }
        let Some((outcome, name)) = parse_result(s) else {
            continue;
        };
        // Close the nested level: its results are this result's children.
        let nested = if levels.len() > depth + 1 {
            levels.drain(depth + 1..).next()
        } else {
            None
        };
        levels[depth].seen += 1;
        match nested {
            Some(child) if !child.children.is_empty() || child.plan.is_some() => {
                if let Some(plan) = child.plan {
                    if child.seen < plan {
                        out.missing.push((name.clone(), plan, child.seen));
                    }
                }
                let mut kids = child.children;
                // A test whose children all passed but that reports failure
                // itself (a crash after the cases) must still fail.
                if outcome == Outcome::Fail && kids.iter().all(|k| k.outcome != Outcome::Fail) {
                    kids.push(TestResult {
                        name: String::from("(the test itself reported failure)"),
                        outcome: Outcome::Fail,
                    });
                }
                for k in kids {
                    levels[depth].children.push(TestResult {
                        name: format!("{name}.{}", k.name),
                        outcome: k.outcome,
                    });
                }
            }
            _ => levels[depth].children.push(TestResult { name, outcome }),
        }
    }

    // Whatever is still open at the end of the stream.
    while levels.len() > 1 {
        let child = levels.pop().unwrap_or_default();
        let parent = levels.last_mut().map(|l| l.subtest_name.clone());
        if let Some(plan) = child.plan {
            if child.seen < plan {
                let name = child.subtest_name.or(parent.flatten()).unwrap_or_default();
                out.missing.push((name, plan, child.seen));
            }
        }
        if let Some(top) = levels.last_mut() {
            top.children.extend(child.children);
        }
    }
    let top = levels.pop().unwrap_or_default();
    if let Some(plan) = top.plan {
        if top.seen < plan {
            out.missing.push((String::new(), plan, top.seen));
        }
    }
    out.results = top
        .children
        .into_iter()
        .map(|r| TestResult {
            name: if prefix.is_empty() {
                r.name
            } else {
                format!("{prefix}{}", r.name)
            },
            outcome: r.outcome,
        })
        .collect();
    out
}

/// Names listed one per line; blank lines and `#` comments are ignored.
pub fn parse_list(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUNIT: &str = "\
[    1.000000] KTAP version 1
[    1.000001] 1..2
[    1.000002]     KTAP version 1
[    1.000003]     # Subtest: rust_kernel_bitmap
[    1.000004]     # speed: normal
[    1.000005]     1..3
[    1.000006]     ok 1 bitmap_vec_new
[    1.000007] some unrelated kernel message
[    1.000008]     not ok 2 bitmap_set
[    1.000009]     ok 3 bitmap_huge # SKIP needs 64-bit
[    1.000010] # rust_kernel_bitmap: pass:1 fail:1 skip:1 total:3
[    1.000011] not ok 1 rust_kernel_bitmap
[    1.000012]     KTAP version 1
[    1.000013]     # Subtest: rust_doctests_kernel
[    1.000014]     1..1
[    1.000015]     ok 1 rust_doctest_kernel_alloc_0
[    1.000016] ok 2 rust_doctests_kernel
";

    #[test]
    fn kunit_leaves_only() {
        let p = parse(KUNIT, "");
        assert_eq!(p.counts(), (2, 1, 1));
        assert!(p.missing.is_empty());
        assert_eq!(p.results[1].name, "rust_kernel_bitmap.bitmap_set");
        assert_eq!(p.results[1].outcome, Outcome::Fail);
    }

    #[test]
    fn kunit_crash_reports_missing() {
        let cut = KUNIT.lines().take(8).collect::<Vec<_>>().join("\n");
        let p = parse(&cut, "");
        assert_eq!(p.counts(), (1, 0, 0));
        // Two results of the inner plan and both top-level ones never came.
        assert!(p
            .missing
            .contains(&("rust_kernel_bitmap".to_string(), 3, 1)));
        assert!(p.missing.contains(&(String::new(), 2, 0)));
    }

    #[test]
    fn parameterised_cases_count_each_parameter() {
        let text = "KTAP version 1\n1..1\n    # Subtest: s\n    1..1\n        # Subtest: p\n        1..2\n        ok 1 a\n        ok 2 b\n    ok 1 p\nok 1 s\n";
        let p = parse(text, "");
        assert_eq!(p.counts(), (2, 0, 0));
        assert_eq!(p.results[0].name, "s.p.a");
    }

    #[test]
    fn kselftest_harness() {
        let text = "\
TAP version 13
1..3
# Starting 3 tests from 1 test cases.
#  RUN           global.one ...
#            OK  global.one
ok 1 global.one
#  RUN           global.two ...
# two.c:10:two:Expected 0 (0) == 1 (1)
not ok 2 global.two
ok 3 global.three # SKIP not supported
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
";
        let p = parse(text, "pidfd/t:");
        assert_eq!(p.counts(), (1, 1, 1));
        assert_eq!(p.results[1].name, "pidfd/t:global.two");
    }

    #[test]
    fn failing_parent_with_passing_children_fails() {
        let text = "KTAP version 1\n1..1\n    1..1\n    ok 1 a\nnot ok 1 suite\n";
        let p = parse(text, "");
        assert_eq!(p.counts(), (1, 1, 0));
    }

    #[test]
    fn nested_runner_output() {
        let text = "TAP version 13\n1..1\n# TAP version 13\n# 1..2\n# ok 1 x\n# not ok 2 y # SKIP\nok 1 selftests: pidfd: t\n";
        let p = parse(text, "");
        assert_eq!(p.counts(), (1, 0, 1));
        assert_eq!(p.results[0].name, "selftests: pidfd: t.x");
    }

    #[test]
    fn comments_are_not_levels() {
        assert_eq!(depth_of("# Totals: pass:1"), (0, "# Totals: pass:1"));
        assert_eq!(depth_of("    ok 1 a"), (1, "ok 1 a"));
        assert_eq!(depth_of("# ok 1 a"), (1, "ok 1 a"));
    }

    #[test]
    fn result_line_forms() {
        assert_eq!(
            parse_result("ok 1 - a b"),
            Some((Outcome::Pass, "a b".into()))
        );
        assert_eq!(
            parse_result("not ok 12 c # skip x"),
            Some((Outcome::Skip, "c".into()))
        );
        assert_eq!(
            parse_result("ok 2 # SKIP"),
            Some((Outcome::Skip, "".into()))
        );
        assert_eq!(parse_result("ok x"), None);
        assert_eq!(parse_result("okay"), None);
    }

    #[test]
    fn list_files() {
        let l = parse_list("# header\na\n\nb # why\n");
        assert_eq!(l.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn no_tap_is_noticed() {
        let p = parse("Kernel panic - not syncing\n", "");
        assert!(!p.saw_tap);
        assert_eq!(p.counts(), (0, 0, 0));
    }
}
