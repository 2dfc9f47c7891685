// SPDX-License-Identifier: MIT OR Apache-2.0
//! What `make run` shows of the crate: a launch with its pid and pidfd, and a failed launch with
//! the kernel's message. Prints lines starting with "demo: ".

use pidfd_embryo::{errno, Command, SpawnError, Stdio};
use std::io::Read;
use std::os::fd::AsRawFd;

fn main() {
    let backend = Command::backend();
    println!("demo: crate pidfd-embryo, backend {backend:?}");

    let mut child = match Command::new("uname")
        .arg("-sr")
        .stdout(Stdio::Piped)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("demo: spawn failed: {e}");
            std::process::exit(1);
        }
    };
    let mut out = String::new();
    let _ = child.stdout.take().map(|mut s| s.read_to_string(&mut out));
    println!(
        "demo: Command::new(\"uname\").arg(\"-sr\").spawn(): pid {}, pidfd {}, backend {:?}",
        child.id(),
        child.pidfd().expect("a pidfd").as_raw_fd(),
        child.backend()
    );
    println!("demo:   it wrote {:?}", out.trim());
    match child.wait() {
        Ok(st) => println!(
            "demo:   wait() through the pidfd: exit code {:?}",
            st.code()
        ),
        Err(e) => println!("demo:   wait() failed: {e}"),
    }

    match Command::new("/opt/no/such/tool").arg("--help").spawn() {
        Ok(_) => println!("demo: a missing program started?"),
        Err(e) => {
            let msg = e
                .get_ref()
                .and_then(|e| e.downcast_ref::<SpawnError>())
                .and_then(|e| e.message().map(str::to_owned))
                .unwrap_or_else(|| "(no kernel message on this backend)".into());
            println!(
                "demo: Command::new(\"/opt/no/such/tool\").spawn(): errno {:?} ({e})",
                errno(&e)
            );
            println!("demo:   the kernel's log names the failed step: {msg}");
        }
    }
}
