// SPDX-License-Identifier: GPL-2.0
//! Assembles the no-op child (a static x86-64 program that exits 0) that spawnbench embeds.

use std::{env, path::PathBuf, process::Command};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("noop");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-static", "-nostdlib", "-Wl,--build-id=none", "-o"])
        .arg(&out)
        .arg("src/noop.S")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(status.success(), "{cc} failed to build the no-op child");
    println!("cargo:rerun-if-changed=src/noop.S");
    println!("cargo:rerun-if-env-changed=CC");
}
