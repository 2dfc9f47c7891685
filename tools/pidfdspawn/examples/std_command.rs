// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
//! An ordinary Rust program: it starts `sh` with `std::process::Command`, which uses
//! posix_spawnp() with file actions for the pipes. Run under `LD_PRELOAD=libpidfdspawn.so`, it
//! prints how libpidfdspawn routed those spawns.

use std::process::{Command, Stdio};

fn main() {
    let out = Command::new("sh")
        .args(["-c", "echo \"pid $$ started by std::process::Command\""])
        .stdin(Stdio::null())
        .output()
        .expect("spawn sh");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    // SAFETY: dlsym() with RTLD_DEFAULT and a NUL-terminated name.
    let counts = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"pidfdspawn_counts".as_ptr()) };
    if counts.is_null() {
        println!("libpidfdspawn is not loaded");
        return;
    }
    let (mut embryo, mut fallback) = (0u64, 0u64);
    // SAFETY: The library's `void pidfdspawn_counts(uint64_t *, uint64_t *)`.
    unsafe {
        std::mem::transmute::<*mut libc::c_void, unsafe extern "C" fn(*mut u64, *mut u64)>(counts)(
            &mut embryo,
            &mut fallback,
        )
    };
    println!(
        "exit {}; spawns through an embryo: {embryo}, fallbacks: {fallback}",
        out.status
    );
}
