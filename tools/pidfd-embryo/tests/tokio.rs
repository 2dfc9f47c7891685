// SPDX-License-Identifier: MIT OR Apache-2.0
//! The tokio `Child` (feature `tokio`): awaited through the pidfd on the reactor, with tokio's
//! pipe types. On the host these run on the posix_spawn fallback; in the guest of `make test`,
//! with `PIDFD_EMBRYO_REQUIRE=1`, on the embryo syscalls.

use pidfd_embryo::{Backend, Command, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn check_backend(b: Backend) {
    if std::env::var_os("PIDFD_EMBRYO_REQUIRE").is_some() {
        assert_eq!(b, Backend::Embryo, "PIDFD_EMBRYO_REQUIRE is set");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sixteen_children_on_one_thread() {
    // One thread keeps 16 children in flight. The first cannot end before its stdin is closed;
    // the other 15 end at once, and their waits complete while the first one's is pending on
    // the same thread: no wait blocks the thread, and they end in their own order.
    let mut first = Command::new("/bin/sh")
        .args(["-c", "read line"])
        .stdin(Stdio::Piped)
        .spawn_tokio()
        .unwrap();
    check_backend(first.backend());
    let release = first.stdin.take().unwrap();
    let first = tokio::spawn(async move { first.wait().await });
    let mut others = Vec::new();
    for _ in 0..15 {
        others.push(Command::new("/bin/true").spawn_tokio().unwrap());
    }
    for mut c in others {
        assert!(c.wait().await.unwrap().success());
    }
    assert!(
        !first.is_finished(),
        "the first child ended with its stdin open"
    );
    // EOF on its stdin: `read` fails and the shell exits with 1.
    drop(release);
    let status = first.await.unwrap().unwrap();
    assert_eq!(status.code(), Some(1));
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
