// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
//! Builds the C programs the tests and the demo run under `LD_PRELOAD` into `OUT_DIR`, and
//! tells the crate where they are: `c/every_action.c` (`PIDFDSPAWN_EVERY_ACTION`) and
//! `c/cases.c` (`PIDFDSPAWN_CASES`).

use std::{env, path::PathBuf, process::Command};

fn build(src: &str, name: &str, var: &str) {
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join(name);
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc} (install a C compiler): {e}"));
    assert!(status.success(), "{cc} failed on {src}");
    println!("cargo:rustc-env={var}={}", out.display());
}

fn main() {
    println!("cargo:rerun-if-env-changed=CC");
    build(
        "c/every_action.c",
        "every_action",
        "PIDFDSPAWN_EVERY_ACTION",
    );
    build("c/cases.c", "cases", "PIDFDSPAWN_CASES");
}
