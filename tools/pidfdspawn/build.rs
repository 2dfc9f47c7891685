// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
//! Builds the C programs the tests and the demo run under `LD_PRELOAD` into `OUT_DIR`, and
//! tells the crate where they are: `c/every_action.c` (`PIDFDSPAWN_EVERY_ACTION`),
//! `c/cases.c` (`PIDFDSPAWN_CASES`) and `c/compat.c` (`PIDFDSPAWN_COMPAT`).
//!
//! On x86-64 with glibc it also gives `libpidfdspawn.so` the two versions glibc has of
//! `posix_spawn` and `posix_spawnp`: a program linked before glibc 2.15 is bound to
//! `posix_spawn@GLIBC_2.2.5`, whose child runs a file without `#!` through `/bin/sh`, and must
//! find that version here too, not today's. rustc links the cdylib with an unversioned script of
//! its own; rust-lld takes a second one that defines the version nodes, to which lib.rs binds
//! its entry points with `.symver`.

use std::{env, fs, path::PathBuf, process::Command};

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

/// Whether the cdylib is linked by rust-lld, rustc's default linker on x86-64 Linux since
/// 1.90 where its sysroot ships it (rustup's does, Debian's does not), which takes a version
/// script of ours beside rustc's own; GNU ld refuses the pair.
fn links_with_lld() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let field = |args: &[&str], key: &str| -> Option<String> {
        let out = Command::new(&rustc).args(args).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if key.is_empty() {
            return Some(text.trim().to_owned());
        }
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_owned())
    };
    let minor =
        field(&["-vV"], "release: 1.").and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    let (Some(host), Some(sysroot)) =
        (field(&["-vV"], "host:"), field(&["--print", "sysroot"], ""))
    else {
        return false;
    };
    let lld = PathBuf::from(sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin/gcc-ld/ld.lld");
    // A linker chosen by hand (RUSTFLAGS) may be GNU ld: no versions then.
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    minor.is_some_and(|m| m >= 90) && lld.exists() && !flags.contains("linker")
}

fn versioned_link() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let map = out.join("glibc-versions.map");
    // Only the nodes: lib.rs binds its two entry points of each name to them with `.symver`.
    fs::write(&map, "GLIBC_2.2.5 { };\nGLIBC_2.15 { } GLIBC_2.2.5;\n")
        .expect("write the version script");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    println!("cargo:rustc-cfg=pidfdspawn_glibc_versions");
}

fn main() {
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo::rustc-check-cfg=cfg(pidfdspawn_glibc_versions)");
    build(
        "c/every_action.c",
        "every_action",
        "PIDFDSPAWN_EVERY_ACTION",
    );
    build("c/cases.c", "cases", "PIDFDSPAWN_CASES");
    build("c/compat.c", "compat", "PIDFDSPAWN_COMPAT");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let versions = arch == "x86_64" && target_env == "gnu" && links_with_lld();
    if versions {
        versioned_link();
    }
    // For the tests: whether this build has glibc's versions.
    println!(
        "cargo:rustc-env=PIDFDSPAWN_GLIBC_VERSIONS={}",
        u8::from(versions)
    );
}
