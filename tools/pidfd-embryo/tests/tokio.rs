// SPDX-License-Identifier: MIT OR Apache-2.0
//! The tokio `Child` (feature `tokio`): awaited through the pidfd on the reactor, with tokio's
//! pipe types. On the host these run on the posix_spawn fallback; in the guest of `make test`,
//! with `PIDFD_EMBRYO_REQUIRE=1`, on the embryo syscalls.

use pidfd_embryo::{Backend, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn check_backend(b: Backend) {
    if std::env::var_os("PIDFD_EMBRYO_REQUIRE").is_some() {
        assert_eq!(b, Backend::Embryo, "PIDFD_EMBRYO_REQUIRE is set");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sixteen_children_on_one_thread() {
    // One thread keeps 16 children in flight; each ends after its own delay, and the waits
    // finish in the order the children end, not in the order they were started.
    let mut tasks = Vec::new();
    let t = Instant::now();
    for i in 0..16u32 {
        let delay = format!("0.{:02}", (16 - i) * 5);
        let mut child = Command::new("/bin/sleep").arg(delay).spawn_tokio().unwrap();
        check_backend(child.backend());
        tasks.push(tokio::spawn(async move {
            let status = child.wait().await.unwrap();
            (i, status, Instant::now())
        }));
    }
    let mut ends = Vec::new();
    for t in tasks {
        ends.push(t.await.unwrap());
    }
    assert!(ends.iter().all(|(_, s, _)| s.success()));
    // All in flight at once: far less than the 6.8 s the sleeps add up to.
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    ends.sort_by_key(|(_, _, at)| *at);
    assert_eq!(ends.first().unwrap().0, 15, "the shortest sleep ends first");
}

#[tokio::test(flavor = "current_thread")]
async fn pipes_are_tokio_pipes() {
    let mut child = Command::new("/bin/cat")
        .stdin(Stdio::Piped)
        .stdout(Stdio::Piped)
        .spawn_tokio()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"through tokio").await.unwrap();
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    assert_eq!(out, "through tokio");
    assert!(child.wait().await.unwrap().success());
}

#[tokio::test(flavor = "current_thread")]
async fn output_kill_and_status_kept() {
    let out = Command::new("/bin/sh")
        .args([
            "-c",
            "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 6",
        ])
        .output_tokio()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!((out.stdout.len(), out.stderr.len()), (300000, 300000));

    let mut child = Command::new("/bin/sleep").arg("60").spawn_tokio().unwrap();
    assert!(child.try_wait().unwrap().is_none());
    child.kill().await.unwrap();
    let st = child.wait().await.unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    // Reaped: kill is Ok, and the status stays.
    child.start_kill().unwrap();
    assert_eq!(child.wait().await.unwrap(), st);
}
