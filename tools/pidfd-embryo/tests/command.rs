// SPDX-License-Identifier: MIT OR Apache-2.0
//! The builder's behaviour, the same on both backends. On the host (no embryo syscalls) these
//! exercise the posix_spawn fallback; in the guest of `make test`, with
//! `PIDFD_EMBRYO_REQUIRE=1`, they must run on the embryo syscalls.

use pidfd_embryo::{errno, last_spawn_error, Backend, Command, FileAction, Stdio};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The kernel's log message of this thread's last failed spawn (empty on the fallback, which
/// has none); `err` must be that spawn's error, with the same errno.
fn log_message(err: &std::io::Error) -> String {
    // A plain OS error on every backend, as std's.
    assert!(err.raw_os_error().is_some(), "{err:?}");
    match last_spawn_error() {
        Some(e) => {
            assert_eq!(Some(e.errno()), err.raw_os_error());
            e.message().unwrap_or("").to_owned()
        }
        None => String::new(),
    }
}

fn check_backend(b: Backend) {
    if std::env::var_os("PIDFD_EMBRYO_REQUIRE").is_some() {
        assert_eq!(b, Backend::Embryo, "PIDFD_EMBRYO_REQUIRE is set");
    }
}

fn output(cmd: &mut Command) -> (String, i32) {
    let mut child = cmd.stdout(Stdio::Piped).spawn().expect("spawn");
    check_backend(child.backend());
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    (out, status.code().expect("exited"))
}

#[test]
fn exit_codes() {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "exit 7"]);
    let mut child = c.spawn().unwrap();
    check_backend(child.backend());
    assert!(child.id() > 0);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(7));
    assert!(!st.success());
}

#[test]
fn args_env_and_cwd() {
    let (out, code) = output(
        Command::new("sh")
            .args([
                "-c",
                "printf '%s|%s|%s|%s' \"$0\" \"$1\" \"$FOO\" \"$(pwd)\"",
                "zero",
                "one two",
            ])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("FOO", "bar")
            .current_dir("/tmp"),
    );
    assert_eq!(code, 0);
    assert_eq!(out, "zero|one two|bar|/tmp");
}

#[test]
fn env_remove_and_arg0() {
    std::env::set_var("PIDFD_EMBRYO_TEST_VAR", "x");
    let (out, _) = output(
        Command::new("/bin/sh")
            .arg0("custom")
            .args([
                "-c",
                "printf '%s:%s' \"$0\" \"${PIDFD_EMBRYO_TEST_VAR-unset}\"",
            ])
            .env_remove("PIDFD_EMBRYO_TEST_VAR"),
    );
    assert_eq!(out, "custom:unset");
}

#[test]
fn only_the_given_descriptors() {
    let extra = std::fs::File::open("/dev/null").unwrap();
    let (out, _) = output(
        Command::new("/bin/sh")
            .args(["-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"])
            .stdin(Stdio::Null)
            .stderr(Stdio::Null)
            .fd(5, std::fs::File::open("/dev/null").unwrap().into()),
    );
    drop(extra);
    // ls's own directory fd shows up as well: 0 1 2 3 5 (3 is ls's).
    let fds: Vec<u32> = out.split_whitespace().map(|s| s.parse().unwrap()).collect();
    assert!(fds.contains(&5), "{out}");
    assert!(fds.iter().all(|&f| f <= 5), "{out}");
    assert_eq!(fds.iter().filter(|&&f| f == 4).count(), 0, "{out}");
}

#[test]
fn piped_stdin() {
    let mut child = Command::new("/bin/cat")
        .stdin(Stdio::Piped)
        .stdout(Stdio::Piped)
        .spawn()
        .unwrap();
    check_backend(child.backend());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through the pipe")
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "through the pipe");
    assert!(child.wait().unwrap().success());
}

#[test]
fn missing_program_is_enoent() {
    let err = Command::new("/no/such/program").spawn().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    // On the embryo path the kernel's log names the program.
    if Command::backend() == Backend::Embryo {
        let msg = log_message(&err);
        assert!(msg.contains("/no/such/program"), "{msg}");
    }
    let err = Command::new("no-such-program-in-path").spawn().unwrap_err();
    assert_eq!(errno(&err), Some(libc::ENOENT));
}

#[test]
fn not_executable_is_eacces() {
    let err = Command::new("/etc/passwd").spawn().unwrap_err();
    assert_eq!(errno(&err), Some(libc::EACCES));
}

#[test]
fn kill_and_try_wait() {
    let mut child = Command::new("/bin/sleep").arg("100").spawn().unwrap();
    check_backend(child.backend());
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    assert_eq!(st.code(), None);
}

#[test]
fn nul_in_an_argument_is_einval() {
    let err = Command::new("/bin/true").arg("a\0b").spawn().unwrap_err();
    assert_eq!(errno(&err), Some(libc::EINVAL));
}

/// pid, pgid and sid of a shell, from /proc/self/stat (fields 1, 5 and 6).
fn ids(cmd: &mut Command) -> Vec<i64> {
    let (out, _) = output(cmd.args(["-c", "read -r l < /proc/self/stat; echo $l"]));
    let f: Vec<&str> = out.split_whitespace().collect();
    vec![
        f[0].parse().unwrap(),
        f[4].parse().unwrap(),
        f[5].parse().unwrap(),
    ]
}

#[test]
fn process_group_and_session() {
    let v = ids(Command::new("/bin/sh").process_group(0));
    assert_eq!(v[0], v[1], "{v:?}");
    let v = ids(Command::new("/bin/sh").setsid(true));
    assert_eq!(v[0], v[2], "{v:?}");
}

#[test]
fn signal_mask() {
    let (out, _) = output(
        Command::new("grep")
            .args(["^SigBlk", "/proc/self/status"])
            .signal_mask(pidfd_embryo::sigset(&[libc::SIGUSR2])),
    );
    let bits = u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_ne!(bits & (1 << (libc::SIGUSR2 - 1)), 0, "{out}");
}

#[test]
fn umask_and_no_new_privs_never_silently_dropped() {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "umask; grep NoNewPrivs /proc/self/status"])
        .umask(0o027)
        .no_new_privs(true);
    match Command::backend() {
        Backend::Embryo => {
            let (out, _) = output(&mut c);
            assert!(out.starts_with("0027\n"), "{out}");
            assert!(out.contains("NoNewPrivs:\t1"), "{out}");
        }
        Backend::PosixSpawn => {
            let err = c.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::ENOTSUP));
        }
    }
}

#[test]
fn file_actions_in_order() {
    let dir = std::env::temp_dir().join(format!("pidfd-embryo-fa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in"), "from the file\n").unwrap();
    let (out, code) = output(
        Command::new("/bin/sh")
            .args([
                "-c",
                "cat <&5; pwd; ls /proc/self/fd | sort -n | tr '\\n' ' '",
            ])
            .file_action(FileAction::Chdir(dir.clone()))
            .file_action(FileAction::Open {
                fd: 7,
                path: "in".into(),
                flags: libc::O_RDONLY | libc::O_CLOEXEC,
                mode: 0,
            })
            .file_action(FileAction::Dup2 { from: 7, to: 5 })
            .file_action(FileAction::Dup2 { from: 7, to: 9 })
            .file_action(FileAction::Close(9))
            .file_action(FileAction::CloseFrom(6))
            .file_action(FileAction::Chdir("/".into())),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 0);
    // fd 7 was close-on-exec and closed by closefrom anyway; ls's own directory fd is 3.
    assert_eq!(out, "from the file\n/\n0 1 2 3 5 ");
}

#[test]
fn failing_file_action_is_reported() {
    let err = Command::new("/bin/true")
        .file_action(FileAction::Close(4))
        .file_action(FileAction::Open {
            fd: 3,
            path: "/nonexistent/pidfd-embryo".into(),
            flags: libc::O_RDONLY,
            mode: 0,
        })
        .spawn()
        .unwrap_err();
    assert_eq!(errno(&err), Some(libc::ENOENT));
    if Command::backend() == Backend::Embryo {
        let msg = log_message(&err);
        assert!(msg.contains("file-action 1 (open)"), "message: {msg}");
    }
}

#[test]
fn fchdir_to_a_child_descriptor() {
    let dir = std::fs::File::open("/proc").unwrap();
    let (out, _) = output(
        Command::new("/bin/sh")
            .args(["-c", "pwd"])
            .fd(4, dir.into())
            .file_action(FileAction::Fchdir(4)),
    );
    assert_eq!(out, "/proc\n");
}

#[test]
fn credentials() {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "id -u; id -g; id -G"])
        .groups(&[54321, 100])
        .gid(54321)
        .uid(54321);
    match Command::backend() {
        // Root in the guest of make test: the child drops to an otherwise unused uid.
        Backend::Embryo if unsafe_euid() == 0 => {
            let (out, code) = output(&mut c);
            assert_eq!(code, 0, "{out}");
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines[..2], ["54321", "54321"], "{out}");
            let mut groups: Vec<&str> = lines[2].split(' ').collect();
            groups.sort();
            groups.dedup();
            assert_eq!(groups, ["100", "54321"], "{out}");
        }
        Backend::Embryo => {
            let err = c.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::EPERM));
        }
        Backend::PosixSpawn => {
            let err = c.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::ENOTSUP));
        }
    }
}

fn unsafe_euid() -> libc::uid_t {
    // SAFETY: geteuid() has no requirements.
    unsafe { libc::geteuid() }
}

#[test]
fn rlimits_and_start_suspended() {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "ulimit -n; ulimit -Hn"])
        .rlimit("nofile", 64, 128)
        .start_suspended(true)
        .stdout(Stdio::Piped);
    match Command::backend() {
        Backend::Embryo => {
            let mut child = c.spawn().expect("spawn");
            // Stopped before its first instruction: reap reports nothing, and no output comes
            // until SIGCONT.
            assert!(child.try_wait().unwrap().is_none());
            child.signal(libc::SIGCONT).unwrap();
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert!(child.wait().unwrap().success());
            assert_eq!(out, "64\n128\n");
        }
        Backend::PosixSpawn => {
            let err = c.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::ENOTSUP));
        }
    }
}

#[test]
fn cpu_affinity() {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "grep Cpus_allowed_list /proc/self/status"])
        .cpu_affinity(&[0]);
    match Command::backend() {
        Backend::Embryo => {
            let (out, code) = output(&mut c);
            assert_eq!(code, 0);
            assert_eq!(out, "Cpus_allowed_list:\t0\n");
        }
        Backend::PosixSpawn => {
            let err = c.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::ENOTSUP));
        }
    }
}

#[test]
fn numa_node() {
    // Node 0 exists everywhere; a node past any kernel's MAX_NUMNODES exists nowhere.
    let mut c = Command::new("/bin/true");
    c.numa_node(0);
    let mut bad = Command::new("/bin/true");
    bad.numa_node(4096);
    match Command::backend() {
        Backend::Embryo => {
            assert!(c.spawn().unwrap().wait().unwrap().success());
            let err = bad.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::EINVAL));
            let msg = log_message(&err);
            assert!(msg.contains("numa-node"), "{msg}");
        }
        Backend::PosixSpawn => {
            let err = c.spawn().unwrap_err();
            assert_eq!(errno(&err), Some(libc::ENOTSUP));
        }
    }
}

#[test]
fn template_copies() {
    let dir = std::env::temp_dir().join(format!("pidfd-embryo-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let out = std::fs::File::create(&log).unwrap();
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "echo \"$$ $1\"; exit 3", "sh", "first"])
        .stdout(Stdio::Fd(out.into()));
    let template = match c.template() {
        Ok(t) => t,
        Err(e) => {
            // Only an embryo can be a template; the fallback says so instead of forking.
            assert!(std::env::var_os("PIDFD_EMBRYO_REQUIRE").is_none(), "{e}");
            assert_eq!(errno(&e), Some(libc::ENOTSUP), "{e}");
            return;
        }
    };
    // Changes to the Command after template() do not reach it.
    c.arg("ignored");
    let template = std::sync::Arc::new(template);
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let t = template.clone();
            std::thread::spawn(move || {
                (0..4)
                    .map(|_| {
                        let mut child = t.spawn().unwrap();
                        assert_eq!(child.backend(), Backend::Embryo);
                        assert_eq!(child.wait().unwrap().code(), Some(3));
                        child.id()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut pids: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 12);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut seen: Vec<u32> = text
        .lines()
        .map(|l| {
            let (pid, arg) = l.split_once(' ').unwrap();
            assert_eq!(arg, "first");
            pid.parse().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, pids);
    std::fs::remove_dir_all(&dir).unwrap();

    // A template whose program is missing fails at each spawn with the exec's error and the
    // kernel's message.
    let bad = Command::new("/nonexistent/prog").template().unwrap();
    let e = bad.spawn().unwrap_err();
    assert_eq!(errno(&e), Some(libc::ENOENT));
    assert!(log_message(&e).contains("/nonexistent/prog"), "{e}");
    assert!(Command::new("true")
        .stdout(Stdio::Piped)
        .template()
        .is_err_and(|e| errno(&e) == Some(libc::EINVAL)));
}

#[test]
fn tcsetpgrp_on_a_non_terminal_is_enotty() {
    // /dev/null is no terminal: glibc's addtcsetpgrp_np and the embryo's action both fail so.
    let err = Command::new("/bin/true")
        .file_action(FileAction::Open {
            fd: 8,
            path: "/dev/null".into(),
            flags: libc::O_RDONLY,
            mode: 0,
        })
        .file_action(FileAction::Tcsetpgrp(8))
        .spawn()
        .unwrap_err();
    assert_eq!(errno(&err), Some(libc::ENOTTY));
    if Command::backend() == Backend::Embryo {
        let msg = log_message(&err);
        assert!(msg.contains("file-action 1 (tcsetpgrp)"), "message: {msg}");
    }
    // Not open in the child: EBADF.
    let err = Command::new("/bin/true")
        .file_action(FileAction::Tcsetpgrp(900))
        .spawn()
        .unwrap_err();
    assert_eq!(errno(&err), Some(libc::EBADF));
}

/// Where cgroup2 is mounted, if it is.
fn cgroup2_root() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == "cgroup2")
        .map(|f| f[1].to_owned())
}

#[test]
fn cgroup_placement() {
    let not_a_cgroup = std::fs::File::open("/tmp").unwrap();
    let err = Command::new("/bin/true")
        .cgroup(not_a_cgroup.into())
        .spawn()
        .unwrap_err();
    if Command::backend() == Backend::PosixSpawn {
        // glibc 2.36 has no setcgroup_np: refused, never ignored.
        assert_eq!(errno(&err), Some(libc::ENOTSUP));
        return;
    }
    assert_eq!(errno(&err), Some(libc::EBADF));
    let msg = log_message(&err);
    assert!(msg.contains("cgroup: not a cgroup2 directory"), "{msg}");

    // The child is born in the cgroup, where the hierarchy is mounted (the guest of make test
    // mounts it; the kselftest compares the errors with clone3()'s).
    let Some(root) = cgroup2_root() else { return };
    let dir = format!("{root}/pidfd-embryo-crate-{}", std::process::id());
    std::fs::create_dir(&dir).unwrap();
    let cg = std::fs::File::open(&dir).unwrap();
    let (out, code) = output(
        Command::new("/bin/cat")
            .arg("/proc/self/cgroup")
            .cgroup(cg.into()),
    );
    assert_eq!(code, 0);
    let want = format!("0::{}\n", &dir[root.len()..]);
    assert!(
        out.lines().any(|l| format!("{l}\n") == want),
        "{out} vs {want}"
    );
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn lifecycle_as_std() {
    // The status is kept: a second wait, and try_wait after it, return it again.
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exit 5"])
        .spawn()
        .unwrap();
    check_backend(child.backend());
    let first = child.wait().unwrap();
    assert_eq!(first.code(), Some(5));
    assert_eq!(child.wait().unwrap(), first);
    assert_eq!(child.try_wait().unwrap(), Some(first));
    // kill() of a child that was reaped is Ok, as in std; a signal is ESRCH.
    child.kill().unwrap();
    assert_eq!(
        child.signal(libc::SIGTERM).unwrap_err().raw_os_error(),
        Some(libc::ESRCH)
    );
    // kill() of a child that ended but was not reaped yet is Ok too.
    let mut child = Command::new("/bin/true").spawn().unwrap();
    while child
        .wait_timeout(Duration::from_secs(30))
        .unwrap()
        .is_none()
    {}
    child.kill().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn exit_status_conversions() {
    use std::os::unix::process::ExitStatusExt;
    let st = Command::new("/bin/sh")
        .args(["-c", "exit 3"])
        .status()
        .unwrap();
    assert_eq!(st.to_string(), "exit status: 3");
    assert_eq!(st.into_raw(), 3 << 8);
    let std_st: std::process::ExitStatus = st.into();
    assert_eq!(std_st.code(), Some(3));
    let mut child = Command::new("/bin/sleep").arg("60").spawn().unwrap();
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.to_string(), "signal: 9 (SIGKILL)");
    assert!(!st.core_dumped());
    let std_st: std::process::ExitStatus = st.into();
    assert_eq!(std_st.signal(), Some(libc::SIGKILL));
    // The same as std's own for the same ends.
    for script in ["exit 0", "exit 1", "exit 255", "kill -TERM $$"] {
        let ours = Command::new("/bin/sh")
            .args(["-c", script])
            .status()
            .unwrap();
        let std = std::process::Command::new("/bin/sh")
            .args(["-c", script])
            .status()
            .unwrap();
        assert_eq!(std::process::ExitStatus::from(ours), std, "{script}");
        assert_eq!(ours.to_string(), std.to_string(), "{script}");
    }
}

#[test]
fn wait_timeout_through_the_pidfd() {
    let mut child = Command::new("/bin/sleep").arg("60").spawn().unwrap();
    let t = Instant::now();
    assert_eq!(child.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    assert!(t.elapsed() >= Duration::from_millis(50));
    child.kill().unwrap();
    let st = child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    // Reaped by wait_timeout: wait() returns the same.
    assert_eq!(child.wait().unwrap(), st);
}

#[test]
fn output_and_wait_with_output() {
    // Both pipes bigger than a pipe buffer: read at once, or the child blocks for ever.
    let out = Command::new("/bin/sh")
        .args([
            "-c",
            "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 4",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!((out.stdout.len(), out.stderr.len()), (300000, 300000));
    // output(): stdin is /dev/null unless set.
    let out = Command::new("/bin/cat").output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    // The same as std's output() for the same command.
    let script = "echo out; echo err >&2; exit 2";
    let ours = Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .unwrap();
    let std = std::process::Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert_eq!(
        (ours.status, ours.stdout, ours.stderr),
        (std.status, std.stdout, std.stderr)
    );
}

#[test]
fn kill_on_drop() {
    let child = Command::new("/bin/sleep")
        .arg("60")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    drop(child);
    let mut st = 0;
    // SAFETY: waitpid() on our own child, with valid storage for the status.
    let r = unsafe { libc::waitpid(pid, &mut st, 0) };
    // Killed and reaped by the drop: no zombie left.
    assert_eq!(r, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
    // Without it, the child runs on after the drop, until killed here.
    let child = Command::new("/bin/sleep").arg("60").spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    drop(child);
    // SAFETY: As above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) }, 0);
    // SAFETY: kill() of our own child, not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    // SAFETY: As above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL);
}

#[test]
fn stdio_settings_survive_a_second_spawn() {
    let dir = std::env::temp_dir().join(format!("pidfd-embryo-stdio-{}", std::process::id()));
    let file = std::fs::File::create(&dir).unwrap();
    let mut cmd = Command::new("/bin/echo");
    cmd.arg("line").stdout(Stdio::Fd(file.into()));
    for _ in 0..2 {
        let mut child = cmd.spawn().unwrap();
        check_backend(child.backend());
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(std::fs::read_to_string(&dir).unwrap(), "line\nline\n");
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn accessors_and_debug() {
    let mut cmd = Command::new("env");
    cmd.args(["-0", "x"])
        .env("SECRET_TOKEN", "hunter2")
        .env_remove("HOME")
        .current_dir("/");
    assert_eq!(cmd.get_program(), "env");
    assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-0", "x"]);
    let envs: Vec<_> = cmd.get_envs().collect();
    assert_eq!(
        envs,
        [
            ("SECRET_TOKEN".as_ref(), Some("hunter2".as_ref())),
            ("HOME".as_ref(), None)
        ]
    );
    assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/")));
    let shown = format!("{cmd:?}");
    assert!(shown.contains("SECRET_TOKEN"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    cmd.env_clear();
    assert_eq!(cmd.get_envs().len(), 0);
}

#[test]
fn errors_are_plain_os_errors() {
    for (prog, want) in [
        ("/no/such/program", libc::ENOENT),
        ("/etc/passwd", libc::EACCES),
    ] {
        let err = Command::new(prog).spawn().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(want), "{prog}");
        assert_eq!(
            err.kind(),
            std::io::Error::from_raw_os_error(want).kind(),
            "{prog}"
        );
        match last_spawn_error() {
            Some(e) => {
                assert_eq!(Command::backend(), Backend::Embryo);
                assert_eq!(e.errno(), want);
                assert!(e.message().is_some(), "{prog}: no kernel message");
            }
            None => assert_eq!(Command::backend(), Backend::PosixSpawn),
        }
    }
    // A spawn that works clears it.
    Command::new("/bin/true").status().unwrap();
    assert!(last_spawn_error().is_none());
}

#[test]
fn one_probe_for_backend_and_spawn() {
    let b = Command::backend();
    check_backend(b);
    for _ in 0..3 {
        let mut c = Command::new("/bin/true").spawn().unwrap();
        assert_eq!(c.backend(), b);
        assert!(c.pidfd().is_some());
        assert!(c.wait().unwrap().success());
    }
}

#[test]
fn environment_taken_at_spawn_time() {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "echo \"$PIDFD_EMBRYO_SET:$PIDFD_EMBRYO_LATE\""])
        .env("PIDFD_EMBRYO_SET", "set");
    let (out, _) = output(&mut cmd);
    assert_eq!(out, "set:\n");
    // A variable the caller sets after the first spawn reaches the next child, as with std.
    std::env::set_var("PIDFD_EMBRYO_LATE", "late");
    let (out, _) = output(&mut cmd);
    std::env::remove_var("PIDFD_EMBRYO_LATE");
    assert_eq!(out, "set:late\n");
    // Debug of a command that only set a variable does not claim a cleared environment.
    assert!(format!("{cmd:?}").contains("env_cleared: false"));
}

#[test]
fn no_stray_descriptor_below_the_given_ones() {
    // A descriptor without close-on-exec below the highest one given must not reach the child.
    let stray = std::fs::File::open("/dev/null").unwrap();
    // SAFETY: dup2() onto a number of our choosing, without O_CLOEXEC.
    assert_eq!(unsafe { libc::dup2(stray.as_raw_fd(), 7) }, 7);
    let (out, _) = output(
        Command::new("/bin/sh")
            .args(["-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"])
            .stdin(Stdio::Null)
            .stderr(Stdio::Null)
            .fd(10, std::fs::File::open("/dev/null").unwrap().into()),
    );
    // SAFETY: Closing the descriptor made above.
    unsafe { libc::close(7) };
    let fds: Vec<u32> = out.split_whitespace().map(|s| s.parse().unwrap()).collect();
    assert!(!fds.contains(&7), "{out}");
    assert!(fds.contains(&10), "{out}");
}

#[test]
fn path_search_skips_a_directory() {
    // A directory named like the program, early in PATH, is passed over as execvp() does.
    let dir = std::env::temp_dir().join(format!("pidfd-embryo-path-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("true")).unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let mut child = Command::new("true").env("PATH", &path).spawn().unwrap();
    check_backend(child.backend());
    assert!(child.wait().unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}
