// SPDX-License-Identifier: GPL-2.0
//! Builds `c/every_action.c`, the C program the tests and the demo run under `LD_PRELOAD`, into
//! `OUT_DIR`, and tells the crate where it is (`PIDFDSPAWN_EVERY_ACTION`).

use std::{env, path::PathBuf, process::Command};

fn main() {
    let src = "c/every_action.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CC");
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("every_action");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc} (install a C compiler): {e}"));
    assert!(status.success(), "{cc} failed on {src}");
    println!("cargo:rustc-env=PIDFDSPAWN_EVERY_ACTION={}", out.display());
}
