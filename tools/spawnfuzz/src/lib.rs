// SPDX-License-Identifier: GPL-2.0
//! spawnfuzz: seeded random campaigns against the embryo syscalls (`pidfd_open(0,
//! PIDFD_EMPTY)`, `pidfd_config()`, `pidfd_start()`) and the pidfd operations an embryo
//! answers. Each result is checked against the man pages; the kernel's own checks (the debug
//! config's WARNs, KASAN, kmemleak) watch the rest. See `Documentation/fuzzing.md`.

pub mod campaign;
pub mod gen;
pub mod isolate;
pub mod mem;
pub mod rng;
pub mod scm;
pub mod scratch;
pub mod seccomp;
mod special;

pub use campaign::{run, Options, Report};
