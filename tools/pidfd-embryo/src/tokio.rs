// SPDX-License-Identifier: MIT OR Apache-2.0
//! An async [`Child`] for tokio, with the `tokio` feature.
//!
//! [`Command::spawn_tokio`] starts the child as [`Command::spawn`] does and registers its pidfd
//! with tokio's reactor: [`Child::wait`] sleeps until the pidfd becomes readable (the child has
//! ended), without a thread per child and without SIGCHLD. Piped stdio comes back as tokio's own
//! `ChildStdin`, `ChildStdout` and `ChildStderr`, as from `tokio::process::Command`.
//!
//! # Examples
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use pidfd_embryo::{Command, Stdio};
//! let child = Command::new("/bin/echo").arg("hi").stdout(Stdio::Piped).spawn_tokio()?;
//! let out = child.wait_with_output().await?;
//! assert_eq!(out.stdout, b"hi\n");
//! # Ok(())
//! # }
//! ```

use crate::{Command, ExitStatus, StdioDefault};
use ::tokio::{
    io::{unix::AsyncFd, AsyncReadExt, Interest},
    process::{ChildStderr, ChildStdin, ChildStdout},
};
use std::{
    io,
    os::fd::{AsFd, OwnedFd},
    process::Output,
    time::Duration,
};

/// A started process whose end is awaited through its pidfd on tokio's reactor.
#[derive(Debug)]
pub struct Child {
    inner: crate::Child,
    /// A duplicate of the pidfd, registered with the reactor; `None` for a fallback child
    /// without one, which [`Child::wait`] then polls.
    pidfd: Option<AsyncFd<OwnedFd>>,
    /// The caller's end of a piped stdin.
    pub stdin: Option<ChildStdin>,
    /// The caller's end of a piped stdout.
    pub stdout: Option<ChildStdout>,
    /// The caller's end of a piped stderr.
    pub stderr: Option<ChildStderr>,
}

impl Command {
    /// Starts the child as [`Command::spawn`] does, for tokio: must be called within a tokio
    /// runtime with I/O enabled.
    ///
    /// # Examples
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn_tokio()?;
    /// assert!(child.wait().await?.success());
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_tokio(&mut self) -> io::Result<Child> {
        // Checked before the child exists: after, an error would leave it running unwaited.
        runtime()?;
        Ok(Child::new(self.spawn()?))
    }

    /// Runs the program to its end, as [`Command::output`] does, awaiting it on tokio.
    ///
    /// # Examples
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let out = pidfd_embryo::Command::new("/bin/sh").args(["-c", "echo err >&2"]).output_tokio().await?;
    /// assert_eq!(out.stderr, b"err\n");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn output_tokio(&mut self) -> io::Result<Output> {
        use StdioDefault::*;
        runtime()?;
        Child::new(self.spawn_with([Null, Piped, Piped])?)
            .wait_with_output()
            .await
    }
}

/// `Ok` within a tokio runtime, whose reactor the pidfd and the pipes are registered with.
fn runtime() -> io::Result<()> {
    ::tokio::runtime::Handle::try_current()
        .map(drop)
        .map_err(|e| io::Error::other(e.to_string()))
}

impl Child {
    /// Wraps a started child. Never fails, since the child exists: a pidfd or a pipe that
    /// cannot be registered with the reactor leaves the child waited for by polling, and the
    /// pipe closed (its end of it sees EOF or EPIPE).
    fn new(mut inner: crate::Child) -> Self {
        let pidfd = inner.pidfd().and_then(|fd| {
            let fd = fd.try_clone_to_owned().ok()?;
            // SAFETY: An `OwnedFd` stays open, and its number the same, for as long as the
            // `AsyncFd` owns it.
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok()
        });
        Child {
            stdin: inner
                .stdin
                .take()
                .and_then(|f| ChildStdin::from_std(OwnedFd::from(f).into()).ok()),
            stdout: inner
                .stdout
                .take()
                .and_then(|f| ChildStdout::from_std(OwnedFd::from(f).into()).ok()),
            stderr: inner
                .stderr
                .take()
                .and_then(|f| ChildStderr::from_std(OwnedFd::from(f).into()).ok()),
            inner,
            pidfd,
        }
    }

    /// The child's pid in the caller's pid namespace.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn_tokio()?;
    /// assert!(child.id() > 1);
    /// child.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// How the child was started.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn_tokio()?;
    /// assert_eq!(child.backend(), pidfd_embryo::Command::backend());
    /// child.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn backend(&self) -> crate::Backend {
        self.inner.backend()
    }

    /// Waits for the child to end and reaps it; stdin is closed first. A second call returns
    /// the same status.
    ///
    /// # Examples
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/sh").args(["-c", "exit 4"]).spawn_tokio()?;
    /// assert_eq!(child.wait().await?.code(), Some(4));
    /// assert_eq!(child.wait().await?.code(), Some(4));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        loop {
            if let Some(status) = self.inner.try_wait()? {
                return Ok(status);
            }
            match &self.pidfd {
                Some(fd) => fd.readable().await?.clear_ready(),
                None => ::tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Reaps the child if it has ended; `None` if it still runs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn_tokio()?;
    /// assert_eq!(child.try_wait()?, None);
    /// child.kill().await?;
    /// assert!(child.try_wait()?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Sends SIGKILL through the pidfd; `Ok(())` once the child has ended, as in std. Use
    /// [`Child::wait`] to reap it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn_tokio()?;
    /// child.start_kill()?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// Sends SIGKILL and waits for the child's end, as tokio's `Child::kill`.
    ///
    /// # Examples
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn_tokio()?;
    /// child.kill().await?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for the child to end, reading its stdout and stderr pipes to their end meanwhile;
    /// stdin is closed first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use pidfd_embryo::{Command, Stdio};
    /// let child = Command::new("/bin/sh")
    ///     .args(["-c", "echo out; echo err >&2"])
    ///     .stdout(Stdio::Piped)
    ///     .stderr(Stdio::Piped)
    ///     .spawn_tokio()?;
    /// let out = child.wait_with_output().await?;
    /// assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let read = |pipe: Option<Box<dyn ::tokio::io::AsyncRead + Unpin + Send>>| async move {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                p.read_to_end(&mut buf).await?;
            }
            io::Result::Ok(buf)
        };
        let out = self
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn ::tokio::io::AsyncRead + Unpin + Send>);
        let err = self
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn ::tokio::io::AsyncRead + Unpin + Send>);
        let (stdout, stderr, status) = ::tokio::join!(read(out), read(err), self.wait());
        Ok(Output {
            status: status?.into(),
            stdout: stdout?,
            stderr: stderr?,
        })
    }

    /// The child's pidfd, as [`crate::Child::pidfd`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn_tokio()?;
    /// assert!(child.pidfd().is_some());
    /// child.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|fd| fd.get_ref().as_fd())
    }
}
