// SPDX-License-Identifier: MIT OR Apache-2.0
//! Start processes through embryonic pidfds.
//!
//! A kernel with the embryonic-process series creates a process in three steps:
//! `pidfd_open(0, PIDFD_EMPTY)` returns an *embryo*, `pidfd_config()` sets what the process is
//! born with (program, arguments, environment, working directory, descriptors), and
//! `pidfd_start()` creates it, execs the program and returns the exec error, if any. The child
//! never copies the caller's memory or descriptor table, so its cost does not depend on how big
//! the caller is.
//!
//! [`Command`] is a builder in the style of [`std::process::Command`] over those syscalls. On a
//! kernel without them it starts the process with glibc's `posix_spawn()` instead, with the same
//! result for everything the builder can express, and says so through [`Child::backend`] and
//! [`Command::backend`]; it never changes what the child gets without saying so.
//!
//! [`sys`] has the raw syscalls.
//!
//! # Examples
//!
//! ```no_run
//! use pidfd_embryo::{Command, Stdio};
//!
//! let mut child = Command::new("/bin/echo")
//!     .arg("hello")
//!     .stdout(Stdio::Null)
//!     .spawn()?;
//! let status = child.wait()?;
//! assert_eq!(status.code(), Some(0));
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod sys;
#[cfg(feature = "tokio")]
pub mod tokio;

use std::{
    ffi::{CString, OsStr, OsString},
    fs::File,
    io::{self, Read},
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
        unix::ffi::OsStrExt,
    },
    path::{Path, PathBuf},
    process::Output,
    ptr,
    time::{Duration, Instant},
};

/// How a [`Child`] was started.
///
/// # Examples
/// ```
/// use pidfd_embryo::{Backend, Command};
/// let mut child = Command::new("/bin/true").spawn()?;
/// match child.backend() {
///     Backend::Embryo => println!("started through pidfd_start()"),
///     Backend::PosixSpawn => println!("this kernel has no embryos: posix_spawn() did it"),
/// }
/// child.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Through `pidfd_open(PIDFD_EMPTY)`, `pidfd_config()` and `pidfd_start()`.
    Embryo,
    /// Through glibc's `posix_spawn()`, because the kernel lacks the embryo syscalls.
    PosixSpawn,
}

/// What one of the child's standard descriptors is.
///
/// # Examples
/// ```
/// use pidfd_embryo::{Command, Stdio};
/// use std::io::Read;
/// let mut child = Command::new("/bin/echo")
///     .arg("hi")
///     .stdin(Stdio::Null)
///     .stdout(Stdio::Piped)
///     .spawn()?;
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out)?;
/// assert_eq!(out, "hi\n");
/// child.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum Stdio {
    /// The caller's own descriptor of the same number.
    Inherit,
    /// `/dev/null`, opened read-write.
    Null,
    /// A new pipe; the caller's end is in [`Child::stdin`], [`Child::stdout`] or
    /// [`Child::stderr`].
    Piped,
    /// This descriptor's file.
    Fd(OwnedFd),
}

/// The status of a child that has ended.
///
/// # Examples
/// ```
/// let status = pidfd_embryo::Command::new("/bin/false").spawn()?.wait()?;
/// assert!(!status.success());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    code: libc::c_int,
    status: libc::c_int,
}

impl ExitStatus {
    /// The exit code, if the child exited rather than being killed.
    ///
    /// # Examples
    /// ```
    /// let status = pidfd_embryo::Command::new("/bin/sh").args(["-c", "exit 3"]).spawn()?.wait()?;
    /// assert_eq!(status.code(), Some(3));
    /// assert_eq!(status.signal(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn code(&self) -> Option<i32> {
        (self.code == libc::CLD_EXITED).then_some(self.status)
    }

    /// The signal that killed the child, if one did.
    ///
    /// # Examples
    /// ```
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn()?;
    /// child.kill()?;
    /// let status = child.wait()?;
    /// assert_eq!(status.signal(), Some(libc::SIGKILL));
    /// assert_eq!(status.code(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signal(&self) -> Option<i32> {
        (self.code == libc::CLD_KILLED || self.code == libc::CLD_DUMPED).then_some(self.status)
    }

    /// Whether the child exited with code 0.
    ///
    /// # Examples
    /// ```
    /// assert!(pidfd_embryo::Command::new("/bin/true").spawn()?.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn success(&self) -> bool {
        self.code() == Some(0)
    }

    /// Whether the child dumped core when a signal killed it.
    ///
    /// # Examples
    /// ```
    /// let status = pidfd_embryo::Command::new("/bin/true").spawn()?.wait()?;
    /// assert!(!status.core_dumped());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn core_dumped(&self) -> bool {
        self.code == libc::CLD_DUMPED
    }

    /// The status word wait(2) reports for this end: the exit code shifted left by 8, or the
    /// signal, with 0x80 when a core was dumped.
    ///
    /// # Examples
    /// ```
    /// let status = pidfd_embryo::Command::new("/bin/sh").args(["-c", "exit 3"]).spawn()?.wait()?;
    /// assert_eq!(status.into_raw(), 3 << 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_raw(self) -> i32 {
        match self.code {
            libc::CLD_EXITED => (self.status & 0xff) << 8,
            libc::CLD_DUMPED => (self.status & 0x7f) | 0x80,
            _ => self.status & 0x7f,
        }
    }
}

/// As [`std::process::ExitStatus`] shows itself: `exit status: 3`, `signal: 9 (SIGKILL)`.
///
/// # Examples
/// ```
/// let status = pidfd_embryo::Command::new("/bin/sh").args(["-c", "exit 3"]).spawn()?.wait()?;
/// assert_eq!(status.to_string(), "exit status: 3");
/// # Ok::<(), std::io::Error>(())
/// ```
impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::process::ExitStatus::from(*self).fmt(f)
    }
}

/// The same end, as std's type, for code written against [`std::process`].
///
/// # Examples
/// ```
/// use std::os::unix::process::ExitStatusExt;
/// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn()?;
/// child.kill()?;
/// let status: std::process::ExitStatus = child.wait()?.into();
/// assert_eq!(status.signal(), Some(libc::SIGKILL));
/// # Ok::<(), std::io::Error>(())
/// ```
impl From<ExitStatus> for std::process::ExitStatus {
    fn from(s: ExitStatus) -> Self {
        std::os::unix::process::ExitStatusExt::from_raw(s.into_raw())
    }
}

/// A failed start on the embryo path: the errno, and the message the kernel left in the embryo's
/// log naming the key or step that failed.
///
/// The [`io::Error`] that [`Command::spawn`] returns is a plain OS error on every backend, so
/// that [`io::Error::raw_os_error`] works as with [`std::process::Command`]; the kernel's
/// account of the same failure is kept for the calling thread, until its next spawn, and read
/// with [`last_spawn_error`].
///
/// # Examples
/// ```
/// use pidfd_embryo::Command;
/// let err = Command::new("/no/such/program").spawn().unwrap_err();
/// assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
/// // Only the embryo path has a kernel log to quote.
/// if let Some(e) = pidfd_embryo::last_spawn_error() {
///     println!("errno {}, kernel says: {:?}", e.errno(), e.message());
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError {
    errno: i32,
    message: Option<String>,
}

impl SpawnError {
    /// The errno of the failed call.
    ///
    /// # Examples
    /// ```
    /// use pidfd_embryo::Command;
    /// let err = Command::new("/no/such/program").spawn().unwrap_err();
    /// if let Some(e) = pidfd_embryo::last_spawn_error() {
    ///     assert_eq!(e.errno(), libc::ENOENT);
    /// }
    /// ```
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The kernel's message, if it left one.
    ///
    /// # Examples
    /// ```
    /// use pidfd_embryo::Command;
    /// let _ = Command::new("/no/such/program").spawn().unwrap_err();
    /// if let Some(msg) = pidfd_embryo::last_spawn_error().and_then(|e| e.message().map(String::from)) {
    ///     eprintln!("the kernel's log: {msg}");
    /// }
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = io::Error::from_raw_os_error(self.errno);
        match &self.message {
            Some(m) => write!(f, "{e} ({m})"),
            None => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpawnError {}

thread_local! {
    static LAST_SPAWN_ERROR: std::cell::RefCell<Option<SpawnError>> =
        const { std::cell::RefCell::new(None) };
}

/// The kernel's account of this thread's last spawn, if it failed on the embryo path: its errno
/// and the message of the embryo's log. Each [`Command::spawn`], [`Command::template`] and
/// [`Template::spawn`] clears it first.
///
/// # Examples
/// ```
/// let err = pidfd_embryo::Command::new("/no/such/program").spawn().unwrap_err();
/// if pidfd_embryo::Command::backend() == pidfd_embryo::Backend::Embryo {
///     let e = pidfd_embryo::last_spawn_error().expect("the embryo path keeps its log");
///     assert_eq!(Some(e.errno()), err.raw_os_error());
/// }
/// ```
pub fn last_spawn_error() -> Option<SpawnError> {
    LAST_SPAWN_ERROR.with(|l| l.borrow().clone())
}

fn clear_spawn_error() {
    LAST_SPAWN_ERROR.with(|l| l.borrow_mut().take());
}

/// The errno of an error from this crate, as [`io::Error::raw_os_error`] gives it.
///
/// ```
/// let err = std::io::Error::from_raw_os_error(libc::ENOENT);
/// assert_eq!(pidfd_embryo::errno(&err), Some(libc::ENOENT));
/// ```
pub fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error().or_else(|| {
        err.get_ref()
            .and_then(|e| e.downcast_ref::<SpawnError>())
            .map(SpawnError::errno)
    })
}

/// A process builder over the embryo syscalls.
///
/// Unlike [`std::process::Command`], descriptors other than 0, 1 and 2 are not inherited unless
/// [`Command::inherit_fds`] asks for it, and the child gets exactly the descriptors set here.
///
/// # Examples
/// ```
/// use pidfd_embryo::{Command, Stdio};
/// let status = Command::new("/bin/sh")
///     .args(["-c", "test \"$(pwd)\" = / && test \"$GREETING\" = hello"])
///     .env_clear()
///     .env("GREETING", "hello")
///     .current_dir("/")
///     .stdout(Stdio::Null)
///     .spawn()?
///     .wait()?;
/// assert!(status.success());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    /// Whether the child's environment starts empty rather than as the caller's at spawn time.
    env_cleared: bool,
    /// The variables set (`Some`) or removed (`None`) over that start, in order; what
    /// [`Command::get_envs`] reports.
    env_changes: Vec<(OsString, Option<OsString>)>,
    kill_on_drop: bool,
    cwd: Option<PathBuf>,
    stdio: [Option<Stdio>; 3],
    fds: Vec<(u32, OwnedFd)>,
    inherit_fds: bool,
    sigmask: Option<u64>,
    sigdefault: u64,
    pgid: Option<u32>,
    setsid: bool,
    umask: Option<u32>,
    no_new_privs: bool,
    actions: Vec<FileAction>,
    uid: Option<u32>,
    gid: Option<u32>,
    groups: Option<Vec<u32>>,
    rlimits: Vec<(String, u64, u64)>,
    start_suspended: bool,
    cpus: Option<Vec<usize>>,
    cgroup: Option<OwnedFd>,
    numa_node: Option<u32>,
}

/// One of posix_spawn()'s file actions, run by the child in the order added, after the
/// descriptors of [`Command::stdin`], [`Command::fd`] and the others are in place and before
/// the exec. Paths are relative to the child's working directory at that point.
///
/// # Examples
/// ```
/// use pidfd_embryo::{Command, FileAction, Stdio};
/// use std::io::Read;
/// // The child opens /etc/hostname on fd 0 itself, then runs cat on it.
/// let mut child = Command::new("/bin/cat")
///     .file_action(FileAction::Open {
///         fd: 0,
///         path: "/etc/hostname".into(),
///         flags: libc::O_RDONLY,
///         mode: 0,
///     })
///     .stdout(Stdio::Piped)
///     .spawn()?;
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out)?;
/// assert_eq!(out, std::fs::read_to_string("/etc/hostname")?);
/// child.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    /// Open `path` with open(2) `flags` and `mode` onto descriptor `fd`, closing what was there.
    Open {
        /// The child's descriptor.
        fd: u32,
        /// The file.
        path: PathBuf,
        /// open(2) flags (`O_CLOEXEC` included).
        flags: libc::c_int,
        /// The mode of a created file, before the umask.
        mode: libc::mode_t,
    },
    /// Close a descriptor; one that is not open is not an error.
    Close(u32),
    /// dup2(from, to); onto itself it clears close-on-exec.
    Dup2 {
        /// The source descriptor.
        from: u32,
        /// The target descriptor.
        to: u32,
    },
    /// Close every descriptor from this one up.
    CloseFrom(u32),
    /// Change the working directory.
    Chdir(PathBuf),
    /// Change the working directory to an open directory descriptor of the child.
    Fchdir(u32),
    /// Make the child's process group the foreground group of the terminal on this descriptor
    /// of the child (`tcsetpgrp(fd, getpgrp())`).
    Tcsetpgrp(u32),
}

/// The `__u64` signal set of the UAPI: bit n - 1 for signal n.
///
/// ```
/// assert_eq!(pidfd_embryo::sigset(&[libc::SIGUSR1]), 1 << (libc::SIGUSR1 - 1));
/// ```
pub fn sigset(signals: &[libc::c_int]) -> u64 {
    signals
        .iter()
        .filter(|&&s| (1..=64).contains(&s))
        .fold(0, |set, &s| set | 1 << (s - 1))
}

/// A started process, which owns its pidfd.
///
/// # Examples
/// ```
/// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn()?;
/// assert!(child.try_wait()?.is_none());
/// child.kill()?;
/// assert!(child.wait()?.signal().is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    /// `None` only on the fallback, when no descriptor was left for it after the child existed.
    pidfd: Option<OwnedFd>,
    backend: Backend,
    /// How it ended, once reaped: a second wait returns it again.
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// The caller's end of a piped stdin.
    pub stdin: Option<File>,
    /// The caller's end of a piped stdout.
    pub stdout: Option<File>,
    /// The caller's end of a piped stderr.
    pub stderr: Option<File>,
}

/// What a standard descriptor that [`Command`] was not told about becomes: inherited for
/// [`Command::spawn`], as [`std::process::Command::output`] sets it for [`Command::output`].
#[derive(Debug, Clone, Copy)]
enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// Shows the program, its arguments, the working directory and the names of the variables set
/// or removed, never their values (an environment may hold secrets).
///
/// ```
/// let mut cmd = pidfd_embryo::Command::new("env");
/// cmd.env("TOKEN", "s3cr3t");
/// let shown = format!("{cmd:?}");
/// assert!(shown.contains("TOKEN") && !shown.contains("s3cr3t"));
/// ```
impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let envs: Vec<_> = self.env_changes.iter().map(|(k, _)| k).collect();
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &&self.args[1..])
            .field("env_cleared", &self.env_cleared)
            .field("env_changed", &envs)
            .field("cwd", &self.cwd)
            .field("stdio", &self.stdio)
            .finish_non_exhaustive()
    }
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2() returned two new descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Command {
    /// A builder for `program`. A program without a `/` is looked up in `PATH` (of the
    /// configured environment if set, else the caller's) when the child is started.
    ///
    /// ```
    /// let cmd = pidfd_embryo::Command::new("true");
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Self {
        let program = program.as_ref().to_owned();
        Command {
            args: vec![program.clone()],
            program,
            env_cleared: false,
            env_changes: Vec::new(),
            kill_on_drop: false,
            cwd: None,
            stdio: [None, None, None],
            fds: Vec::new(),
            inherit_fds: false,
            sigmask: None,
            sigdefault: 0,
            pgid: None,
            setsid: false,
            umask: None,
            no_new_privs: false,
            actions: Vec::new(),
            uid: None,
            gid: None,
            groups: None,
            rlimits: Vec::new(),
            start_suspended: false,
            cpus: None,
            cgroup: None,
            numa_node: None,
        }
    }

    /// Adds an argument (argv[1] onwards).
    ///
    /// ```
    /// pidfd_embryo::Command::new("ls").arg("-l");
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    ///
    /// ```
    /// pidfd_embryo::Command::new("ls").args(["-l", "/"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Sets argv[0], which is the program's name by default.
    ///
    /// ```
    /// pidfd_embryo::Command::new("/bin/busybox").arg0("sh");
    /// ```
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg0: S) -> &mut Self {
        self.args[0] = arg0.as_ref().to_owned();
        self
    }

    /// The child's environment as `KEY=VALUE` strings: the caller's as it is now (or none after
    /// [`Command::env_clear`]), with the changes applied, as std builds it at each spawn.
    fn env_list(&self) -> Vec<OsString> {
        let mut vars: Vec<(OsString, OsString)> = if self.env_cleared {
            Vec::new()
        } else {
            std::env::vars_os().collect()
        };
        for (k, v) in &self.env_changes {
            vars.retain(|(key, _)| key != k);
            if let Some(v) = v {
                vars.push((k.clone(), v.clone()));
            }
        }
        vars.into_iter()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                kv
            })
            .collect()
    }

    /// Sets an environment variable. The environment starts as the caller's at spawn time.
    ///
    /// ```
    /// pidfd_embryo::Command::new("env").env("LANG", "C");
    /// ```
    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, value: V) -> &mut Self {
        self.note_env(key.as_ref(), Some(value.as_ref()));
        self
    }

    /// Removes an environment variable.
    ///
    /// ```
    /// pidfd_embryo::Command::new("env").env_remove("HOME");
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Self {
        self.note_env(key.as_ref(), None);
        self
    }

    /// Starts from an empty environment.
    ///
    /// ```
    /// pidfd_embryo::Command::new("env").env_clear();
    /// ```
    pub fn env_clear(&mut self) -> &mut Self {
        self.env_cleared = true;
        self.env_changes.clear();
        self
    }

    fn note_env(&mut self, key: &OsStr, value: Option<&OsStr>) {
        self.env_changes.retain(|(k, _)| k != key);
        self.env_changes
            .push((key.to_owned(), value.map(OsStr::to_owned)));
    }

    /// The program, as given to [`Command::new`].
    ///
    /// ```
    /// assert_eq!(pidfd_embryo::Command::new("ls").get_program(), "ls");
    /// ```
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments after the program's name, as [`std::process::Command::get_args`] gives
    /// them.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("ls");
    /// cmd.args(["-l", "/"]);
    /// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-l", "/"]);
    /// ```
    pub fn get_args(&self) -> impl ExactSizeIterator<Item = &OsStr> {
        self.args[1..].iter().map(OsString::as_os_str)
    }

    /// The variables set (`Some`) or removed (`None`) since [`Command::new`] or the last
    /// [`Command::env_clear`], in the order first set, as [`std::process::Command::get_envs`].
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("env");
    /// cmd.env("LANG", "C").env_remove("HOME");
    /// let envs: Vec<_> = cmd.get_envs().collect();
    /// assert_eq!(envs, [("LANG".as_ref(), Some("C".as_ref())), ("HOME".as_ref(), None)]);
    /// ```
    pub fn get_envs(&self) -> impl ExactSizeIterator<Item = (&OsStr, Option<&OsStr>)> {
        self.env_changes
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_deref()))
    }

    /// The working directory set with [`Command::current_dir`].
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("pwd");
    /// assert_eq!(cmd.get_current_dir(), None);
    /// cmd.current_dir("/tmp");
    /// assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/tmp")));
    /// ```
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// Kills the child (SIGKILL through its pidfd) when its [`Child`] is dropped before it was
    /// reaped, as tokio's `kill_on_drop`; off by default, as in std.
    ///
    /// ```
    /// let child = pidfd_embryo::Command::new("/bin/sleep").arg("60").kill_on_drop(true).spawn()?;
    /// drop(child); // the sleep is killed here
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Self {
        self.kill_on_drop = on;
        self
    }

    /// Sets the child's working directory; the caller's by default.
    ///
    /// ```
    /// pidfd_embryo::Command::new("pwd").current_dir("/tmp");
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Sets the child's stdin (descriptor 0); inherited by default.
    ///
    /// ```
    /// use pidfd_embryo::{Command, Stdio};
    /// Command::new("cat").stdin(Stdio::Null);
    /// ```
    pub fn stdin(&mut self, s: Stdio) -> &mut Self {
        self.stdio[0] = Some(s);
        self
    }

    /// Sets the child's stdout (descriptor 1); inherited by default.
    ///
    /// ```
    /// use pidfd_embryo::{Command, Stdio};
    /// Command::new("echo").stdout(Stdio::Piped);
    /// ```
    pub fn stdout(&mut self, s: Stdio) -> &mut Self {
        self.stdio[1] = Some(s);
        self
    }

    /// Sets the child's stderr (descriptor 2); inherited by default.
    ///
    /// ```
    /// use pidfd_embryo::{Command, Stdio};
    /// Command::new("ls").stderr(Stdio::Null);
    /// ```
    pub fn stderr(&mut self, s: Stdio) -> &mut Self {
        self.stdio[2] = Some(s);
        self
    }

    /// Makes `file` the child's descriptor `child_fd` (3 or above; use the stdio methods for
    /// 0 to 2).
    ///
    /// ```no_run
    /// let log = std::fs::File::create("/tmp/log")?;
    /// pidfd_embryo::Command::new("prog").fd(3, log.into());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fd(&mut self, child_fd: u32, file: OwnedFd) -> &mut Self {
        self.fds.retain(|(n, _)| *n != child_fd);
        self.fds.push((child_fd, file));
        self
    }

    /// Also gives the child the caller's descriptors that are not close-on-exec, as
    /// posix_spawn() does; off by default.
    ///
    /// ```
    /// pidfd_embryo::Command::new("prog").inherit_fds(true);
    /// ```
    pub fn inherit_fds(&mut self, on: bool) -> &mut Self {
        self.inherit_fds = on;
        self
    }

    /// Sets the signal mask the program starts with (see [`sigset`]); the caller's by default.
    ///
    /// ```
    /// use pidfd_embryo::{sigset, Command};
    /// Command::new("prog").signal_mask(sigset(&[libc::SIGINT]));
    /// ```
    pub fn signal_mask(&mut self, set: u64) -> &mut Self {
        self.sigmask = Some(set);
        self
    }

    /// Resets these signals to their default disposition in the child (see [`sigset`]).
    ///
    /// ```
    /// use pidfd_embryo::{sigset, Command};
    /// Command::new("prog").signal_default(sigset(&[libc::SIGPIPE]));
    /// ```
    pub fn signal_default(&mut self, set: u64) -> &mut Self {
        self.sigdefault = set;
        self
    }

    /// Puts the child in process group `pgid`; 0 makes a new group led by the child.
    ///
    /// ```
    /// pidfd_embryo::Command::new("prog").process_group(0);
    /// ```
    pub fn process_group(&mut self, pgid: u32) -> &mut Self {
        self.pgid = Some(pgid);
        self
    }

    /// Makes the child the leader of a new session (before [`Command::process_group`]).
    ///
    /// ```
    /// pidfd_embryo::Command::new("prog").setsid(true);
    /// ```
    pub fn setsid(&mut self, on: bool) -> &mut Self {
        self.setsid = on;
        self
    }

    /// Sets the child's umask. Not expressible with posix_spawn(): on the fallback path,
    /// [`Command::spawn`] fails with `ENOTSUP` instead of ignoring it.
    ///
    /// ```
    /// pidfd_embryo::Command::new("prog").umask(0o027);
    /// ```
    pub fn umask(&mut self, mask: u32) -> &mut Self {
        self.umask = Some(mask);
        self
    }

    /// Execs the child with no_new_privs. Not expressible with posix_spawn(): on the fallback
    /// path, [`Command::spawn`] fails with `ENOTSUP` instead of ignoring it.
    ///
    /// ```
    /// pidfd_embryo::Command::new("prog").no_new_privs(true);
    /// ```
    pub fn no_new_privs(&mut self, on: bool) -> &mut Self {
        self.no_new_privs = on;
        self
    }

    /// The child's user ID: it calls `setresuid(uid, uid, uid)` before its file actions, with
    /// that syscall's permission checks (`EPERM` from [`Command::spawn`] if the caller may not).
    /// posix_spawn() cannot express it: the fallback fails with `ENOTSUP`.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("id");
    /// cmd.uid(65534).gid(65534).groups(&[65534]);
    /// ```
    pub fn uid(&mut self, uid: u32) -> &mut Self {
        self.uid = Some(uid);
        self
    }

    /// The child's group ID: it calls `setresgid(gid, gid, gid)` before `uid` applies.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("id");
    /// cmd.gid(100);
    /// ```
    pub fn gid(&mut self, gid: u32) -> &mut Self {
        self.gid = Some(gid);
        self
    }

    /// The child's supplementary groups: it calls `setgroups()` before `gid` applies. At least
    /// one group; an empty list is `EINVAL` at spawn.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("id");
    /// cmd.groups(&[100, 65534]);
    /// ```
    pub fn groups(&mut self, groups: &[u32]) -> &mut Self {
        self.groups = Some(groups.to_vec());
        self
    }

    /// A resource limit of the child, by the lower-case name of `RLIMIT_*` (`"nofile"`,
    /// `"core"`, ...): soft and hard, `u64::MAX` for infinity. Set in the child before the
    /// credentials change. posix_spawn() cannot express it: the fallback fails with `ENOTSUP`.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("true");
    /// cmd.rlimit("nofile", 64, 128).rlimit("core", 0, 0);
    /// ```
    pub fn rlimit(&mut self, resource: &str, soft: u64, hard: u64) -> &mut Self {
        self.rlimits.retain(|(r, _, _)| r != resource);
        self.rlimits.push((resource.to_owned(), soft, hard));
        self
    }

    /// The CPUs the child may run on (`sched_setaffinity()` in the child, with its checks: a
    /// set with no usable CPU is `EINVAL` at spawn). posix_spawn() cannot express it: the
    /// fallback fails with `ENOTSUP`.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("true");
    /// cmd.cpu_affinity(&[0, 2]);
    /// ```
    pub fn cpu_affinity(&mut self, cpus: &[usize]) -> &mut Self {
        self.cpus = Some(cpus.to_vec());
        self
    }

    /// Creates the child in a cgroup2 directory (open, `O_PATH` will do), as clone3()'s
    /// `CLONE_INTO_CGROUP` does: it never runs in the caller's cgroup, and the permission checks
    /// are the caller's at spawn time. glibc 2.36's posix_spawn() cannot express it: the
    /// fallback fails with `ENOTSUP`.
    ///
    /// ```no_run
    /// let cg = std::fs::File::open("/sys/fs/cgroup/jobs")?;
    /// pidfd_embryo::Command::new("true").cgroup(cg.into()).spawn()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cgroup(&mut self, dir: OwnedFd) -> &mut Self {
        self.cgroup = Some(dir);
        self
    }

    /// Allocates the child's kernel structures (task, kernel stack, descriptor table, the mm of
    /// its program) on a NUMA node, which must be online with memory (`EINVAL` otherwise). It is
    /// not a memory policy or an affinity. posix_spawn() cannot express it: the fallback fails
    /// with `ENOTSUP`.
    ///
    /// ```no_run
    /// pidfd_embryo::Command::new("true").numa_node(1).spawn()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn numa_node(&mut self, node: u32) -> &mut Self {
        self.numa_node = Some(node);
        self
    }

    /// Starts the child stopped before its first instruction: it runs when it gets `SIGCONT`
    /// (for example from [`Child::signal`]). posix_spawn() cannot express it: the fallback fails
    /// with `ENOTSUP`.
    ///
    /// ```
    /// let mut cmd = pidfd_embryo::Command::new("true");
    /// cmd.start_suspended(true);
    /// ```
    pub fn start_suspended(&mut self, on: bool) -> &mut Self {
        self.start_suspended = on;
        self
    }

    /// Appends a file action for the child to run before its exec.
    ///
    /// ```
    /// use pidfd_embryo::{Command, FileAction};
    /// let mut cmd = Command::new("cat");
    /// cmd.file_action(FileAction::Open {
    ///     fd: 0,
    ///     path: "/etc/hostname".into(),
    ///     flags: libc::O_RDONLY,
    ///     mode: 0,
    /// })
    /// .file_action(FileAction::Chdir("/tmp".into()));
    /// ```
    pub fn file_action(&mut self, action: FileAction) -> &mut Self {
        self.actions.push(action);
        self
    }

    /// How [`Command::spawn`] will start the child on this kernel.
    ///
    /// ```
    /// let backend = pidfd_embryo::Command::backend();
    /// ```
    pub fn backend() -> Backend {
        use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
        // 0: not probed yet; 1: posix_spawn; 2: embryo. One probe per process, so that this
        // and every spawn give the same answer.
        static PROBED: AtomicU8 = AtomicU8::new(0);
        let mut b = PROBED.load(Relaxed);
        if b == 0 {
            b = if sys::supported() { 2 } else { 1 };
            PROBED.store(b, Relaxed);
        }
        if b == 2 {
            Backend::Embryo
        } else {
            Backend::PosixSpawn
        }
    }

    /// The `PATH` a program name is searched in: the configured environment's, else the caller's,
    /// else a default.
    fn path_var(&self) -> Vec<u8> {
        let set = self.env_changes.iter().rev().find(|(k, _)| k == "PATH");
        match set {
            Some((_, v)) => v.as_ref().map(|v| v.as_bytes().to_vec()),
            None if self.env_cleared => None,
            None => std::env::var_os("PATH").map(|v| v.as_bytes().to_vec()),
        }
        .unwrap_or_else(|| b"/usr/local/bin:/usr/bin:/bin".to_vec())
    }

    /// Resolves the program for the posix_spawn fallback: as given if it has a `/`, else the
    /// first executable in `PATH`. (An embryo searches in the child, with execvp()'s rules.)
    fn resolve(&self) -> io::Result<CString> {
        let prog = self.program.as_bytes();
        if prog.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        if prog.contains(&b'/') {
            return cstring(&self.program);
        }
        let path_var = self.path_var();
        let mut err = libc::ENOENT;
        for dir in path_var.split(|&b| b == b':') {
            let dir = if dir.is_empty() { &b"."[..] } else { dir };
            let mut cand = dir.to_vec();
            cand.push(b'/');
            cand.extend_from_slice(prog);
            let c = CString::new(cand).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            // A directory of that name is skipped, as execvp() skips it (EACCES, search on).
            let is_file =
                std::fs::metadata(OsStr::from_bytes(c.as_bytes())).is_ok_and(|m| m.is_file());
            // SAFETY: `c` is NUL-terminated.
            if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                if is_file {
                    return Ok(c);
                }
                err = libc::EACCES;
                continue;
            }
            let e = io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::ENOENT);
            if e == libc::EACCES {
                err = e;
            }
        }
        Err(io::Error::from_raw_os_error(err))
    }

    /// Prepares the standard descriptors: the child's file for each, and the caller's pipe ends.
    /// A descriptor not set here gets `defaults`' entry. The settings stay, so that the next
    /// spawn gets the same (a [`Stdio::Fd`] is duplicated, not given away).
    #[allow(clippy::type_complexity)]
    fn stdio_files(
        &self,
        defaults: [StdioDefault; 3],
    ) -> io::Result<(Vec<(u32, OwnedFd)>, [Option<File>; 3])> {
        let mut child = Vec::new();
        let mut parent: [Option<File>; 3] = [None, None, None];
        for (n, slot) in self.stdio.iter().enumerate() {
            let which = match slot {
                Some(Stdio::Inherit) => StdioDefault::Inherit,
                Some(Stdio::Null) => StdioDefault::Null,
                Some(Stdio::Piped) => StdioDefault::Piped,
                Some(Stdio::Fd(fd)) => {
                    child.push((n as u32, fd.try_clone()?));
                    continue;
                }
                None => defaults[n],
            };
            let fd = match which {
                StdioDefault::Inherit => {
                    // SAFETY: Descriptor n is borrowed only to duplicate it.
                    let b = unsafe { BorrowedFd::borrow_raw(n as RawFd) };
                    match b.try_clone_to_owned() {
                        Ok(fd) => fd,
                        // The caller has no such descriptor: neither has the child.
                        Err(e) if e.raw_os_error() == Some(libc::EBADF) => continue,
                        Err(e) => return Err(e),
                    }
                }
                StdioDefault::Null => File::options()
                    .read(true)
                    .write(true)
                    .open("/dev/null")?
                    .into(),
                StdioDefault::Piped => {
                    let (r, w) = pipe()?;
                    if n == 0 {
                        parent[n] = Some(w.into());
                        r
                    } else {
                        parent[n] = Some(r.into());
                        w
                    }
                }
            };
            child.push((n as u32, fd));
        }
        Ok((child, parent))
    }

    /// Starts the child and returns it; its exec error, if any, comes back here.
    ///
    /// ```no_run
    /// let mut child = pidfd_embryo::Command::new("true").spawn()?;
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.spawn_with([StdioDefault::Inherit; 3])
    }

    /// Runs the program to its end with stdout and stderr captured and stdin `/dev/null`, unless
    /// set otherwise, as [`std::process::Command::output`].
    ///
    /// ```
    /// let out = pidfd_embryo::Command::new("/bin/sh").args(["-c", "echo out; echo err >&2"]).output()?;
    /// assert!(out.status.success());
    /// assert_eq!(out.stdout, b"out\n");
    /// assert_eq!(out.stderr, b"err\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn output(&mut self) -> io::Result<Output> {
        use StdioDefault::*;
        self.spawn_with([Null, Piped, Piped])?.wait_with_output()
    }

    /// Runs the program to its end, its standard descriptors inherited unless set otherwise, as
    /// [`std::process::Command::status`].
    ///
    /// ```
    /// assert!(pidfd_embryo::Command::new("/bin/true").status()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn_with([StdioDefault::Inherit; 3])?.wait()
    }

    fn spawn_with(&mut self, defaults: [StdioDefault; 3]) -> io::Result<Child> {
        clear_spawn_error();
        if self.program.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let name = cstring(&self.program)?;
        let (mut fds, pipes) = self.stdio_files(defaults)?;
        for (n, fd) in &self.fds {
            fds.push((*n, fd.try_clone()?));
        }
        let argv = sys::pack(&self.args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>())?;
        let env = self.env_list();
        let envp = sys::pack(&env.iter().map(|e| e.as_bytes()).collect::<Vec<_>>())?;
        let [stdin, stdout, stderr] = pipes;

        let (pid, pidfd, backend) = match Self::backend() {
            Backend::Embryo => {
                let embryo = sys::pidfd_open_empty(0)?;
                let pid = self.start_embryo(embryo.as_fd(), &name, &argv, &envp, &fds)?;
                (pid, Some(embryo), Backend::Embryo)
            }
            Backend::PosixSpawn => {
                let path = self.resolve()?;
                let (pid, pidfd) = self.start_posix_spawn(&path, &argv, &envp, &fds)?;
                (pid, pidfd, Backend::PosixSpawn)
            }
        };
        Ok(Child {
            pid,
            pidfd,
            backend,
            status: None,
            kill_on_drop: self.kill_on_drop,
            stdin,
            stdout,
            stderr,
        })
    }

    fn start_embryo(
        &self,
        embryo: BorrowedFd<'_>,
        path: &CString,
        argv: &[u8],
        envp: &[u8],
        fds: &[(u32, OwnedFd)],
    ) -> io::Result<libc::pid_t> {
        self.configure_embryo(embryo, path, argv, envp, fds)?;
        let mut args = sys::StartArgs::default();
        sys::pidfd_start(embryo, &mut args).map_err(|e| with_log(embryo, e))?;
        Ok(args.pid as libc::pid_t)
    }

    /// Keeps this configuration in an embryo that is never started itself: each
    /// [`Template::spawn`] starts a copy of it (`PIDFD_START_COPY`) without configuring anything
    /// again. The program, its directory and the descriptors are captured now; later changes to
    /// this `Command` do not reach the template.
    ///
    /// Needs the embryo syscalls (`ENOTSUP` without them); [`Stdio::Piped`] is `EINVAL`, since
    /// every child would share one pipe.
    ///
    /// ```no_run
    /// let template = pidfd_embryo::Command::new("true").template()?;
    /// for _ in 0..3 {
    ///     assert!(template.spawn()?.wait()?.success());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn template(&mut self) -> io::Result<Template> {
        clear_spawn_error();
        if self.program.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        if self.stdio.iter().any(|s| matches!(s, Some(Stdio::Piped))) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let embryo = match sys::pidfd_open_empty(0) {
            Ok(embryo) => embryo,
            Err(e)
                if e.raw_os_error() == Some(libc::ENOSYS)
                    || e.raw_os_error() == Some(libc::EINVAL) =>
            {
                return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
            }
            Err(e) => return Err(e),
        };
        let name = cstring(&self.program)?;
        let (mut fds, _) = self.stdio_files([StdioDefault::Inherit; 3])?;
        for (n, fd) in &self.fds {
            fds.push((*n, fd.try_clone()?));
        }
        let argv = sys::pack(&self.args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>())?;
        let env = self.env_list();
        let envp = sys::pack(&env.iter().map(|e| e.as_bytes()).collect::<Vec<_>>())?;
        self.configure_embryo(embryo.as_fd(), &name, &argv, &envp, &fds)?;
        Ok(Template {
            embryo,
            kill_on_drop: self.kill_on_drop,
        })
    }

    /// Applies this configuration to an unstarted embryo.
    fn configure_embryo(
        &self,
        embryo: BorrowedFd<'_>,
        path: &CString,
        argv: &[u8],
        envp: &[u8],
        fds: &[(u32, OwnedFd)],
    ) -> io::Result<()> {
        let with_log = |e| with_log(embryo, e);
        sys::set_string(embryo, c"path", path).map_err(with_log)?;
        if !path.as_bytes().contains(&b'/') {
            let dirs = CString::new(self.path_var())
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            sys::set_string(embryo, c"path-search", &dirs).map_err(with_log)?;
        }
        sys::set_binary(embryo, c"argv", argv).map_err(with_log)?;
        if !envp.is_empty() {
            sys::set_binary(embryo, c"envp", envp).map_err(with_log)?;
        }
        if let Some(cwd) = &self.cwd {
            let c = cstring(cwd.as_os_str())?;
            sys::set_path(embryo, c"cwd", &c, None).map_err(with_log)?;
        }
        for (n, fd) in fds {
            let key = CString::new(format!("fd:{n}")).expect("no NUL in a number");
            sys::set_fd(embryo, &key, fd.as_fd()).map_err(with_log)?;
        }
        if self.inherit_fds {
            sys::set_flag(embryo, c"inherit-fds").map_err(with_log)?;
        }
        if let Some(set) = self.sigmask {
            sys::set_binary(embryo, c"sigmask", &set.to_ne_bytes()).map_err(with_log)?;
        }
        if self.sigdefault != 0 {
            sys::set_binary(embryo, c"sigdefault", &self.sigdefault.to_ne_bytes())
                .map_err(with_log)?;
        }
        if self.setsid {
            sys::set_flag(embryo, c"setsid").map_err(with_log)?;
        }
        if let Some(pgid) = self.pgid {
            let v = CString::new(pgid.to_string()).expect("no NUL in a number");
            sys::set_string(embryo, c"pgid", &v).map_err(with_log)?;
        }
        if let Some(mask) = self.umask {
            let v = CString::new(format!("{mask:o}")).expect("no NUL in a number");
            sys::set_string(embryo, c"umask", &v).map_err(with_log)?;
        }
        if self.no_new_privs {
            sys::set_flag(embryo, c"no-new-privs").map_err(with_log)?;
        }
        for (resource, soft, hard) in &self.rlimits {
            let key = CString::new(format!("rlimit:{resource}"))
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            let mut v = soft.to_ne_bytes().to_vec();
            v.extend_from_slice(&hard.to_ne_bytes());
            sys::set_binary(embryo, &key, &v).map_err(with_log)?;
        }
        if self.start_suspended {
            sys::set_flag(embryo, c"start-suspended").map_err(with_log)?;
        }
        if let Some(dir) = &self.cgroup {
            sys::set_fd(embryo, c"cgroup", dir.as_fd()).map_err(with_log)?;
        }
        if let Some(node) = self.numa_node {
            let v = CString::new(node.to_string()).expect("a number has no NUL");
            sys::set_string(embryo, c"numa-node", &v).map_err(with_log)?;
        }
        if let Some(cpus) = &self.cpus {
            // The UAPI's byte bitmap: bit n % 8 of byte n / 8 for CPU n.
            let len = cpus.iter().max().map_or(1, |m| m / 8 + 1);
            let mut bits = vec![0u8; len];
            for &c in cpus {
                bits[c / 8] |= 1 << (c % 8);
            }
            sys::set_binary(embryo, c"cpu-affinity", &bits).map_err(with_log)?;
        }
        if let Some(groups) = &self.groups {
            let blob: Vec<u8> = groups.iter().flat_map(|g| g.to_ne_bytes()).collect();
            sys::set_binary(embryo, c"groups", &blob).map_err(with_log)?;
        }
        if let Some(gid) = self.gid {
            let v = CString::new(gid.to_string()).expect("no NUL in a number");
            sys::set_string(embryo, c"gid", &v).map_err(with_log)?;
        }
        if let Some(uid) = self.uid {
            let v = CString::new(uid.to_string()).expect("no NUL in a number");
            sys::set_string(embryo, c"uid", &v).map_err(with_log)?;
        }
        for action in &self.actions {
            add_action(embryo, action).map_err(with_log)?;
        }
        Ok(())
    }

    /// Starts the child with the C library: with `pidfd_spawn()` where it has one (glibc 2.39),
    /// which creates the pidfd with the child (`clone3(CLONE_PIDFD)`), else with `posix_spawn()`
    /// and then `pidfd_open()`. Once the child exists this never fails: without a pidfd (no
    /// descriptor left for it), the child is waited for and signalled by its pid.
    #[allow(clippy::type_complexity)]
    fn start_posix_spawn(
        &self,
        path: &CString,
        argv: &[u8],
        envp: &[u8],
        fds: &[(u32, OwnedFd)],
    ) -> io::Result<(libc::pid_t, Option<OwnedFd>)> {
        // The packed blobs again as NULL-terminated pointer arrays.
        let ptrs = |blob: &[u8]| -> Vec<*mut libc::c_char> {
            let mut v: Vec<*mut libc::c_char> = Vec::new();
            let mut start = 0;
            for (i, b) in blob.iter().enumerate() {
                if *b == 0 {
                    v.push(blob[start..].as_ptr().cast_mut().cast());
                    start = i + 1;
                }
            }
            v.push(ptr::null_mut());
            v
        };
        let argv_p = ptrs(argv);
        let envp_p = ptrs(envp);

        // SAFETY: An all-zero posix_spawn_file_actions_t is what init overwrites.
        let mut fa: libc::posix_spawn_file_actions_t = unsafe { core::mem::zeroed() };
        // SAFETY: `fa` is valid storage.
        unsafe { libc::posix_spawn_file_actions_init(&mut fa) };
        let mut attr: libc::posix_spawnattr_t =
            // SAFETY: An all-zero posix_spawnattr_t is what init overwrites.
            unsafe { core::mem::zeroed() };
        // SAFETY: `attr` is valid storage.
        unsafe { libc::posix_spawnattr_init(&mut attr) };

        let result = (|| {
            let chk = |r: libc::c_int| {
                if r == 0 {
                    Ok(())
                } else {
                    Err(io::Error::from_raw_os_error(r))
                }
            };
            if self.umask.is_some()
                || self.no_new_privs
                || self.uid.is_some()
                || self.gid.is_some()
                || self.groups.is_some()
                || !self.rlimits.is_empty()
                || self.start_suspended
                || self.cpus.is_some()
                || self.cgroup.is_some()
                || self.numa_node.is_some()
            {
                return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
            }
            let mut flags = 0;
            if let Some(set) = self.sigmask {
                // SAFETY: An all-zero sigset_t is valid storage for sigemptyset().
                let mut ss: libc::sigset_t = unsafe { core::mem::zeroed() };
                fill_sigset(&mut ss, set);
                // SAFETY: `attr` was initialised; `ss` is a valid set.
                chk(unsafe { libc::posix_spawnattr_setsigmask(&mut attr, &ss) })?;
                flags |= libc::POSIX_SPAWN_SETSIGMASK;
            }
            if self.sigdefault != 0 {
                // SAFETY: As above.
                let mut ss: libc::sigset_t = unsafe { core::mem::zeroed() };
                fill_sigset(&mut ss, self.sigdefault);
                // SAFETY: `attr` was initialised; `ss` is a valid set.
                chk(unsafe { libc::posix_spawnattr_setsigdefault(&mut attr, &ss) })?;
                flags |= libc::POSIX_SPAWN_SETSIGDEF;
            }
            if let Some(pgid) = self.pgid {
                // SAFETY: `attr` was initialised.
                chk(unsafe { libc::posix_spawnattr_setpgroup(&mut attr, pgid as libc::pid_t) })?;
                flags |= libc::POSIX_SPAWN_SETPGROUP;
            }
            if self.setsid {
                flags |= POSIX_SPAWN_SETSID;
            }
            // SAFETY: `attr` was initialised.
            chk(unsafe { libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short) })?;
            if let Some(cwd) = &self.cwd {
                let c = cstring(cwd.as_os_str())?;
                // SAFETY: `fa` was initialised; glibc copies the NUL-terminated path.
                chk(unsafe { posix_spawn_file_actions_addchdir_np(&mut fa, c.as_ptr()) })?;
            }
            // Move every source above every target first, so that no dup2() overwrites a
            // source that a later one still needs.
            let above = fds
                .iter()
                .map(|(n, _)| *n)
                .max()
                .map_or(3, |m| m + 1)
                .max(3);
            let mut sources = Vec::with_capacity(fds.len());
            for (n, fd) in fds {
                // SAFETY: F_DUPFD_CLOEXEC duplicates a valid descriptor.
                let high = unsafe {
                    libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, above as libc::c_int)
                };
                if high < 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: A new descriptor that nothing else owns.
                let high = unsafe { OwnedFd::from_raw_fd(high) };
                // SAFETY: `fa` was initialised; both numbers are valid.
                chk(unsafe {
                    libc::posix_spawn_file_actions_adddup2(
                        &mut fa,
                        high.as_raw_fd(),
                        *n as libc::c_int,
                    )
                })?;
                sources.push(high);
            }
            // The numbers below 3 that the child must not have.
            for n in 0..3u32 {
                if !fds.iter().any(|(m, _)| *m == n) {
                    // SAFETY: `fa` was initialised.
                    chk(unsafe {
                        libc::posix_spawn_file_actions_addclose(&mut fa, n as libc::c_int)
                    })?;
                }
            }
            if !self.inherit_fds {
                // Like the embryo: only the descriptors given. Below `above`, each number from
                // 3 that is no target; from `above` up, everything (the moved sources too).
                for n in 3..above {
                    if !fds.iter().any(|(m, _)| *m == n) {
                        // SAFETY: `fa` was initialised.
                        chk(unsafe {
                            libc::posix_spawn_file_actions_addclose(&mut fa, n as libc::c_int)
                        })?;
                    }
                }
                // SAFETY: `fa` was initialised.
                chk(unsafe { add_close_from(&mut fa, above as libc::c_int) })?;
            }
            for action in &self.actions {
                chk(glibc_action(&mut fa, action)?)?;
            }
            static PIDFD_SPAWN: std::sync::atomic::AtomicUsize =
                std::sync::atomic::AtomicUsize::new(0);
            if let Some(addr) = libc_fn(&PIDFD_SPAWN, c"pidfd_spawn") {
                type PidfdSpawn = unsafe extern "C" fn(
                    *mut libc::c_int,
                    *const libc::c_char,
                    *const libc::posix_spawn_file_actions_t,
                    *const libc::posix_spawnattr_t,
                    *const *mut libc::c_char,
                    *const *mut libc::c_char,
                ) -> libc::c_int;
                // SAFETY: `addr` is the C library's pidfd_spawn(), whose signature this is.
                let f = unsafe { core::mem::transmute::<usize, PidfdSpawn>(addr) };
                let mut pidfd = -1;
                // SAFETY: All pointers are valid and NUL-terminated where required.
                chk(unsafe {
                    f(
                        &mut pidfd,
                        path.as_ptr(),
                        &fa,
                        &attr,
                        argv_p.as_ptr(),
                        envp_p.as_ptr(),
                    )
                })?;
                drop(sources);
                // SAFETY: pidfd_spawn() returned a new pidfd that nothing else owns.
                let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
                return match pid_of(pidfd.as_fd()) {
                    Ok(pid) => Ok((pid, Some(pidfd))),
                    Err(e) => {
                        // A child nobody could name: take it back rather than leave it running
                        // unwaited for, and say why.
                        kill_and_reap(pidfd.as_fd());
                        Err(e)
                    }
                };
            }
            let mut pid = 0;
            // SAFETY: All pointers are valid and NUL-terminated where required.
            chk(unsafe {
                libc::posix_spawn(
                    &mut pid,
                    path.as_ptr(),
                    &fa,
                    &attr,
                    argv_p.as_ptr(),
                    envp_p.as_ptr(),
                )
            })?;
            drop(sources);
            // SAFETY: pidfd_open() takes a pid and flags and reads no memory.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            // SAFETY: A new descriptor that nothing else owns.
            let pidfd = (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
            Ok((pid, pidfd))
        })();
        // SAFETY: Both were initialised above.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut fa);
            libc::posix_spawnattr_destroy(&mut attr);
        }
        result
    }
}

/// `PIDFD_GET_INFO`, `_IOWR(0xFF, 11, struct pidfd_info)` with the 64 bytes of its first version.
const PIDFD_GET_INFO: libc::c_ulong = 0xC040_FF0B;

/// The pid of the process of `pidfd`: from `PIDFD_GET_INFO` (Linux 6.13), else its fdinfo.
fn pid_of(pidfd: BorrowedFd<'_>) -> io::Result<libc::pid_t> {
    // The first version of `struct pidfd_info`: mask and cgroupid (`__u64`), then the pid.
    let mut info = [0u64; 8];
    // SAFETY: `info` is 64 writable bytes, the size the request names.
    if unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_INFO, info.as_mut_ptr()) } == 0 {
        let bytes = info[2].to_ne_bytes();
        let pid = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as libc::pid_t;
        if pid > 0 {
            return Ok(pid);
        }
    }
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:")?.trim().parse().ok())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
}

/// Kills the child of `pidfd` and reaps it.
fn kill_and_reap(pidfd: BorrowedFd<'_>) {
    // SAFETY: pidfd_send_signal() with a NULL siginfo reads no memory.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            ptr::null::<u8>(),
            0,
        )
    };
    // SAFETY: An all-zero siginfo_t is valid storage.
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    // SAFETY: `info` is valid storage for the result.
    while unsafe {
        libc::waitid(
            libc::P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED,
        )
    } < 0
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// A descriptor number as the C interfaces take it; `EBADF` beyond `c_int`.
fn c_fd(fd: u32) -> io::Result<libc::c_int> {
    libc::c_int::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))
}

/// Appends one file action to an embryo.
fn add_action(embryo: BorrowedFd<'_>, action: &FileAction) -> io::Result<()> {
    use sys::FileActionType as T;
    match action {
        FileAction::Open {
            fd,
            path,
            flags,
            mode,
        } => {
            let p = cstring(path.as_os_str())?;
            // The kernel takes the flags as the unsigned bits they are.
            let flags = u64::from(*flags as u32);
            sys::add_file_action(embryo, T::Open, c_fd(*fd)?, 0, flags, *mode, Some(&p))
        }
        FileAction::Close(fd) => sys::add_file_action(embryo, T::Close, c_fd(*fd)?, 0, 0, 0, None),
        FileAction::Dup2 { from, to } => {
            sys::add_file_action(embryo, T::Dup2, c_fd(*from)?, c_fd(*to)?, 0, 0, None)
        }
        FileAction::CloseFrom(fd) => {
            sys::add_file_action(embryo, T::CloseFrom, c_fd(*fd)?, 0, 0, 0, None)
        }
        FileAction::Chdir(path) => {
            let p = cstring(path.as_os_str())?;
            sys::add_file_action(embryo, T::Chdir, 0, 0, 0, 0, Some(&p))
        }
        FileAction::Fchdir(fd) => {
            sys::add_file_action(embryo, T::Fchdir, c_fd(*fd)?, 0, 0, 0, None)
        }
        FileAction::Tcsetpgrp(fd) => {
            sys::add_file_action(embryo, T::Tcsetpgrp, c_fd(*fd)?, 0, 0, 0, None)
        }
    }
}

/// Appends one file action to a glibc action list; glibc's return value.
fn glibc_action(
    fa: &mut libc::posix_spawn_file_actions_t,
    action: &FileAction,
) -> io::Result<libc::c_int> {
    // SAFETY (all calls below): `fa` was initialised by the caller, and glibc copies paths.
    Ok(match action {
        FileAction::Open {
            fd,
            path,
            flags,
            mode,
        } => {
            let p = cstring(path.as_os_str())?;
            // SAFETY: See above.
            unsafe {
                libc::posix_spawn_file_actions_addopen(fa, c_fd(*fd)?, p.as_ptr(), *flags, *mode)
            }
        }
        // SAFETY: See above.
        FileAction::Close(fd) => unsafe { libc::posix_spawn_file_actions_addclose(fa, c_fd(*fd)?) },
        FileAction::Dup2 { from, to } => {
            // SAFETY: See above.
            unsafe { libc::posix_spawn_file_actions_adddup2(fa, c_fd(*from)?, c_fd(*to)?) }
        }
        // SAFETY: See above.
        FileAction::CloseFrom(fd) => unsafe { add_close_from(fa, c_fd(*fd)?) },
        FileAction::Chdir(path) => {
            let p = cstring(path.as_os_str())?;
            // SAFETY: See above.
            unsafe { posix_spawn_file_actions_addchdir_np(fa, p.as_ptr()) }
        }
        // SAFETY: See above.
        FileAction::Fchdir(fd) => unsafe { posix_spawn_file_actions_addfchdir_np(fa, c_fd(*fd)?) },
        // SAFETY: See above.
        FileAction::Tcsetpgrp(fd) => unsafe {
            posix_spawn_file_actions_addtcsetpgrp_np(fa, c_fd(*fd)?)
        },
    })
}

/// glibc's `POSIX_SPAWN_SETSID` (2.26).
const POSIX_SPAWN_SETSID: libc::c_int = 0x80;

/// Fills a libc signal set from the UAPI's `__u64` set.
fn fill_sigset(ss: &mut libc::sigset_t, set: u64) {
    // SAFETY: `ss` is valid storage for a set.
    unsafe { libc::sigemptyset(ss) };
    for sig in 1..=64 {
        if set & (1 << (sig - 1)) != 0 {
            // SAFETY: As above; a number the libc does not know only fails with EINVAL.
            unsafe { libc::sigaddset(ss, sig) };
        }
    }
}

/// The C library's function `name`, looked up once at run time: the GNU `_np` file actions
/// arrived in glibc 2.29 (chdir, fchdir), 2.34 (closefrom) and 2.35 (tcsetpgrp), musl has some,
/// and linking against them would tie the crate to the newest. `None` where it is absent.
fn libc_fn(cache: &std::sync::atomic::AtomicUsize, name: &std::ffi::CStr) -> Option<usize> {
    use std::sync::atomic::Ordering::Relaxed;
    // 0: not looked up yet; 1: absent.
    let mut addr = cache.load(Relaxed);
    if addr == 0 {
        // SAFETY: dlsym() with RTLD_DEFAULT and a NUL-terminated name.
        addr = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) } as usize;
        if addr == 0 {
            addr = 1;
        }
        cache.store(addr, Relaxed);
    }
    (addr != 1).then_some(addr)
}

/// Defines a wrapper that calls the C library's `$name` if it has one, else returns `ENOTSUP`.
macro_rules! np_action {
    ($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty)) => {
        $(#[$doc])*
        ///
        /// # Safety
        ///
        /// `fa` must be an initialised file-actions object; the argument as the C function
        /// takes it.
        unsafe fn $name(fa: *mut libc::posix_spawn_file_actions_t, $arg: $ty) -> libc::c_int {
            static ADDR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let name = concat!(stringify!($name), "\0");
            let Ok(name) = std::ffi::CStr::from_bytes_with_nul(name.as_bytes()) else {
                return libc::ENOTSUP;
            };
            match libc_fn(&ADDR, name) {
                Some(addr) => {
                    // SAFETY: `addr` is the C library's `$name`, whose signature this is.
                    let f = unsafe {
                        core::mem::transmute::<
                            usize,
                            unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, $ty)
                                -> libc::c_int,
                        >(addr)
                    };
                    // SAFETY: By the safety requirements.
                    unsafe { f(fa, $arg) }
                }
                None => libc::ENOTSUP,
            }
        }
    };
}

np_action!(
    /// `posix_spawn_file_actions_addclosefrom_np()` (glibc 2.34).
    posix_spawn_file_actions_addclosefrom_np(from: libc::c_int)
);
np_action!(
    /// `posix_spawn_file_actions_addchdir_np()` (glibc 2.29).
    posix_spawn_file_actions_addchdir_np(path: *const libc::c_char)
);
np_action!(
    /// `posix_spawn_file_actions_addfchdir_np()` (glibc 2.29).
    posix_spawn_file_actions_addfchdir_np(fd: libc::c_int)
);
np_action!(
    /// `posix_spawn_file_actions_addtcsetpgrp_np()` (glibc 2.35).
    posix_spawn_file_actions_addtcsetpgrp_np(fd: libc::c_int)
);

/// Closes, in the child, every descriptor from `from` up: with the closefrom action where the C
/// library has it, else with a close action for each descriptor the caller has open now.
///
/// # Safety
///
/// `fa` must be an initialised file-actions object.
unsafe fn add_close_from(
    fa: *mut libc::posix_spawn_file_actions_t,
    from: libc::c_int,
) -> libc::c_int {
    // SAFETY: By the safety requirements.
    let r = unsafe { posix_spawn_file_actions_addclosefrom_np(fa, from) };
    if r != libc::ENOTSUP {
        return r;
    }
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return libc::ENOTSUP;
    };
    for fd in dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::c_int>().ok())
        .filter(|fd| *fd >= from)
    {
        // SAFETY: By the safety requirements; closing one that is not open is not an error.
        let r = unsafe { libc::posix_spawn_file_actions_addclose(fa, fd) };
        if r != 0 {
            return r;
        }
    }
    0
}

/// Names the failing step of a call on `embryo` from its log, when the kernel left a message.
/// Records the kernel's message for `e` (see [`last_spawn_error`]) and returns `e` unchanged.
fn with_log(embryo: BorrowedFd<'_>, e: io::Error) -> io::Error {
    if let Some(errno) = e.raw_os_error() {
        let message = sys::read_log(embryo)
            .ok()
            .flatten()
            .map(|m| m.trim_end().to_owned());
        LAST_SPAWN_ERROR.with(|l| *l.borrow_mut() = Some(SpawnError { errno, message }));
    }
    e
}

/// A configured embryo that starts copies of itself: see [`Command::template`].
///
/// It can be shared between threads; each [`Template::spawn`] is one `pidfd_start()` call.
///
/// # Examples
/// ```no_run
/// // Needs the series' kernel: templates have no posix_spawn fallback.
/// let template = pidfd_embryo::Command::new("/bin/true").template()?;
/// let children: Vec<_> = (0..4).map(|_| template.spawn()).collect::<Result<_, _>>()?;
/// for mut c in children {
///     assert!(c.wait()?.success());
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Template {
    embryo: OwnedFd,
    kill_on_drop: bool,
}

impl Template {
    /// Starts a copy of the template as a new child; its exec error, if any, comes back here.
    ///
    /// # Examples
    /// ```no_run
    /// let template = pidfd_embryo::Command::new("/bin/true").template()?;
    /// let mut child = template.spawn()?;
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn(&self) -> io::Result<Child> {
        clear_spawn_error();
        let mut args = sys::StartArgs {
            flags: sys::START_COPY,
            pid: 0,
        };
        let pidfd = sys::pidfd_start_copy(self.embryo.as_fd(), &mut args)
            .map_err(|e| with_log(self.embryo.as_fd(), e))?;
        Ok(Child {
            pid: args.pid as libc::pid_t,
            pidfd: Some(pidfd),
            backend: Backend::Embryo,
            status: None,
            kill_on_drop: self.kill_on_drop,
            stdin: None,
            stdout: None,
            stderr: None,
        })
    }
}

impl Child {
    /// The child's pid in the caller's pid namespace.
    ///
    /// # Examples
    /// ```
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn()?;
    /// assert!(child.id() > 1);
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// How the child was started.
    ///
    /// # Examples
    /// ```
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn()?;
    /// assert_eq!(child.backend(), pidfd_embryo::Command::backend());
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The child's pidfd, readable (POLLIN) once it has ended: usable with poll, epoll and
    /// async runtimes. `None` only for a child of the posix_spawn fallback whose pidfd could not
    /// be opened once it existed: no descriptor left, a kernel before 5.3, or a child already
    /// reaped by the kernel because the caller ignores SIGCHLD.
    ///
    /// # Examples
    /// ```
    /// use std::os::fd::AsRawFd;
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn()?;
    /// let pidfd = child.pidfd().expect("a descriptor was free");
    /// let mut pfd = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    /// // SAFETY: One valid pollfd.
    /// assert_eq!(unsafe { libc::poll(&mut pfd, 1, -1) }, 1);
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(AsFd::as_fd)
    }

    fn waitid(&self, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
        // SAFETY: An all-zero siginfo_t is valid.
        let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
        loop {
            let (idtype, id) = match &self.pidfd {
                Some(fd) => (libc::P_PIDFD, fd.as_raw_fd() as libc::id_t),
                None => (libc::P_PID, self.pid as libc::id_t),
            };
            // SAFETY: `info` is valid storage for the result.
            let r = unsafe { libc::waitid(idtype, id, &mut info, libc::WEXITED | flags) };
            if r == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        // SAFETY: waitid() filled in a SIGCHLD siginfo (or left it zeroed with WNOHANG).
        let pid = unsafe { info.si_pid() };
        if pid == 0 {
            return Ok(None);
        }
        Ok(Some(ExitStatus {
            code: info.si_code,
            // SAFETY: As above.
            status: unsafe { info.si_status() },
        }))
    }

    /// Waits for the child to end and reaps it.
    ///
    /// # Examples
    /// ```
    /// let mut child = pidfd_embryo::Command::new("/bin/true").spawn()?;
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self
            .waitid(0)?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
        self.status = Some(status);
        Ok(status)
    }

    /// Waits at most `timeout` for the child to end, through its pidfd, and reaps it if it did;
    /// `None` if it still runs. Unlike [`Child::wait`], stdin stays open.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn()?;
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
    /// child.kill()?;
    /// assert!(child.wait_timeout(Duration::from_secs(60))?.is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let deadline = Instant::now().checked_add(timeout);
        let Some(pidfd) = self.pidfd.as_ref().map(AsRawFd::as_raw_fd) else {
            // No pidfd to poll: look every 10 ms.
            loop {
                if let Some(status) = self.try_wait()? {
                    return Ok(Some(status));
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
                let left =
                    deadline.map_or(timeout, |d| d.saturating_duration_since(Instant::now()));
                std::thread::sleep(Duration::from_millis(10).min(left));
            }
        };
        loop {
            let left = deadline.map_or(-1, |d| {
                let left = d.saturating_duration_since(Instant::now());
                // Round up, so that a wait never ends before the timeout.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
            });
            let mut pfd = libc::pollfd {
                fd: pidfd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: One valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, left) };
            if n > 0 {
                return self.try_wait();
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            } else if left == 0 || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }

    /// Waits for the child to end, reading its stdout and stderr pipes to their end meanwhile
    /// (both at once, so that a child that fills one while the caller reads the other cannot
    /// block), as [`std::process::Child::wait_with_output`]. Stdin is closed first.
    ///
    /// # Examples
    /// ```
    /// use pidfd_embryo::{Command, Stdio};
    /// let child = Command::new("/bin/sh")
    ///     .args(["-c", "head -c 200000 /dev/zero; head -c 200000 /dev/zero >&2"])
    ///     .stdout(Stdio::Piped)
    ///     .stderr(Stdio::Piped)
    ///     .spawn()?;
    /// let out = child.wait_with_output()?;
    /// assert_eq!((out.stdout.len(), out.stderr.len()), (200000, 200000));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = read2(self.stdout.take(), self.stderr.take())?;
        let status = self.wait()?;
        Ok(Output {
            status: status.into(),
            stdout,
            stderr,
        })
    }

    /// Reaps the child if it has ended; `None` if it still runs.
    ///
    /// # Examples
    /// ```
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn()?;
    /// assert_eq!(child.try_wait()?, None);
    /// child.kill()?;
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.waitid(libc::WNOHANG)?;
        }
        Ok(self.status)
    }

    /// Sends SIGKILL through the pidfd.
    ///
    /// # Examples
    /// ```
    /// let mut child = pidfd_embryo::Command::new("/bin/sleep").arg("60").spawn()?;
    /// child.kill()?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// A child that has ended already, reaped or not, is `Ok(())`, as in std.
    pub fn kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        match self.signal(libc::SIGKILL) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            r => r,
        }
    }

    /// Sends a signal through the pidfd, `SIGCONT` to a child started suspended for example.
    ///
    /// ```no_run
    /// let mut child = pidfd_embryo::Command::new("true").start_suspended(true).spawn()?;
    /// child.signal(libc::SIGCONT)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signal(&mut self, sig: libc::c_int) -> io::Result<()> {
        let r = match &self.pidfd {
            // SAFETY: pidfd_send_signal() with a NULL siginfo reads no memory.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    sig,
                    ptr::null::<u8>(),
                    0,
                )
            },
            // Reaped, the pid may be another process's by now: never signal it.
            None if self.status.is_some() => return Err(io::Error::from_raw_os_error(libc::ESRCH)),
            // SAFETY: kill() reads no memory; the pid is our child's, not reaped yet.
            None => unsafe { libc::kill(self.pid, sig) }.into(),
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// With [`Command::kill_on_drop`], a child that was not reaped is killed and reaped (the wait
/// is as long as the child takes to die of SIGKILL); otherwise it runs on, as a dropped
/// [`std::process::Child`] does.
impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() && self.signal(libc::SIGKILL).is_ok() {
            let _ = self.waitid(0);
        }
    }
}

/// Reads two pipes to their end at once.
fn read2(a: Option<File>, b: Option<File>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut out = (Vec::new(), Vec::new());
    match (a, b) {
        (None, None) => {}
        (Some(mut a), None) => {
            a.read_to_end(&mut out.0)?;
        }
        (None, Some(mut b)) => {
            b.read_to_end(&mut out.1)?;
        }
        (Some(a), Some(b)) => {
            let mut files = [Some(a), Some(b)];
            let mut buf = vec![0u8; 64 * 1024];
            while files.iter().any(Option::is_some) {
                let mut pfds: Vec<libc::pollfd> = files
                    .iter()
                    .map(|f| libc::pollfd {
                        fd: f.as_ref().map_or(-1, |f| f.as_raw_fd()),
                        events: libc::POLLIN,
                        revents: 0,
                    })
                    .collect();
                // SAFETY: `pfds` holds two valid pollfds (a negative fd is ignored).
                if unsafe { libc::poll(pfds.as_mut_ptr(), 2, -1) } < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                for (i, pfd) in pfds.iter().enumerate() {
                    if pfd.revents == 0 {
                        continue;
                    }
                    let Some(f) = files[i].as_mut() else {
                        continue;
                    };
                    // Readable or hung up: one read cannot block.
                    let n = match f.read(&mut buf) {
                        Ok(n) => n,
                        Err(e)
                            if e.kind() == io::ErrorKind::Interrupted
                                || e.kind() == io::ErrorKind::WouldBlock =>
                        {
                            continue
                        }
                        Err(e) => return Err(e),
                    };
                    if n == 0 {
                        files[i] = None;
                    } else if i == 0 {
                        out.0.extend_from_slice(&buf[..n]);
                    } else {
                        out.1.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
    }
    Ok(out)
}
