// SPDX-License-Identifier: GPL-2.0
//! The agent-style mix: real tools started the way an agent runtime starts them, many in
//! flight at once, so that a start's cost is seen next to the work of the programs it starts.
//!
//! One round starts every command of [`COMMANDS`] [`REPEATS`] times, in order, keeping at most
//! [`IN_FLIGHT`] of them running: whenever one exits (any child, `waitpid(-1)`), the next is
//! started. Each child gets `/dev/null` as descriptors 0, 1 and 2 and nothing else, a fixed
//! environment, and its program by absolute path (looked up once, before any round), so every
//! method does the same work in the children; a child that does not exit 0 fails the run.
//! A sample is the CPU time a round took in this process and in its children
//! (`getrusage()`, `RUSAGE_SELF` and `RUSAGE_CHILDREN`; under `-icount shift=0,sleep=off`,
//! their instructions). Not the round's elapsed time: the tools read their programs, libraries
//! and files through the guest's 9p root, and while the guest waits for the host the
//! instruction clock jumps to the next timer, so elapsed time there counts waits, not work. The
//! elapsed median is printed beside it. Pin the mix to one CPU (`--cpu`) under the
//! instruction clock: the vCPUs share that clock, so with two, a task's CPU time also counts
//! the instructions the other vCPU executes while it runs.
//!
//! Methods: `pidfd_start` (an embryo per command with `path`, `argv`, `envp` and `fd:0` to
//! `fd:2` set, then `pidfd_start()`; the pidfd is closed when its child has been reaped),
//! `posix_spawn` (glibc's, with three `dup2` file actions), `vfork+exec` and `fork+exec` (the
//! child dups the descriptors and execs).

use crate::{
    config_key, last_error, now_ns, start_embryo, Method, Parent, Stats, PIDFD_CONFIG_SET_BINARY,
    PIDFD_CONFIG_SET_FD, PIDFD_CONFIG_SET_STRING, PIDFD_EMPTY, SYS_PIDFD_OPEN,
};
use std::{collections::HashMap, ffi::CString, io, ptr};

/// What an agent runs: small tools, a script interpreter and a shell, each with its arguments.
pub const COMMANDS: &[&[&str]] = &[
    &["cat", "/etc/passwd"],
    &["grep", "-c", "root", "/etc/passwd"],
    &["sed", "-n", "1p", "/etc/passwd"],
    &["awk", "-F:", "END { print NR }", "/etc/passwd"],
    &["find", "/etc", "-maxdepth", "1", "-name", "*.conf"],
    &["ls", "-l", "/etc"],
    &["git", "--version"],
    &["python3", "-c", "print(sum(range(1000)))"],
    &["sh", "-c", "echo $((6 * 7))"],
    &["wc", "-l", "/etc/passwd"],
    &["sort", "/etc/passwd"],
    &["head", "-n", "5", "/etc/passwd"],
];

/// How many times a round starts each command.
pub const REPEATS: usize = 4;

/// How many children a round keeps running at once.
pub const IN_FLIGHT: usize = 16;

/// Where the commands are looked up, once, before any round.
const SEARCH: [&str; 3] = ["/usr/local/bin", "/usr/bin", "/bin"];

/// The children's environment.
const ENV: [&str; 2] = ["PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"];

/// The methods a mix can use.
pub const METHODS: [Method; 4] = [
    Method::PidfdStart,
    Method::PosixSpawn,
    Method::Vfork,
    Method::Fork,
];

/// CPU time used so far by this process and by its reaped children, in ns.
fn cpu_ns() -> u64 {
    let ns = |who| {
        // SAFETY: An all-zero rusage is valid.
        let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
        // SAFETY: `ru` is a valid place for the result.
        unsafe { libc::getrusage(who, &mut ru) };
        let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        (us(ru.ru_utime) + us(ru.ru_stime)) * 1000
    };
    ns(libc::RUSAGE_SELF) + ns(libc::RUSAGE_CHILDREN)
}

/// One command, ready to start by any method.
struct Command {
    path: CString,
    /// Keeps the strings `argv` points to.
    _args: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    /// `argv` packed as the `argv` key takes it.
    argv_blob: Vec<u8>,
}

/// Everything the rounds share.
pub struct Mix {
    commands: Vec<Command>,
    _env: Vec<CString>,
    envp: Vec<*const libc::c_char>,
    envp_blob: Vec<u8>,
    /// `/dev/null`, close-on-exec: the children's descriptors 0 to 2.
    null: libc::c_int,
    /// posix_spawn()'s file actions: `null` onto 0, 1 and 2.
    fa: Box<libc::posix_spawn_file_actions_t>,
    /// The stack of the vfork-style child.
    stack: Vec<u8>,
    /// What the vfork-style child execs: set before each clone().
    current: usize,
}

/// Strings packed as the `argv` and `envp` keys take them: each with its NUL, back to back.
fn packed(strings: &[CString]) -> Vec<u8> {
    strings
        .iter()
        .flat_map(|s| s.as_bytes_with_nul().iter().copied())
        .collect()
}

/// The first executable `name` in [`SEARCH`].
fn lookup(name: &str) -> io::Result<CString> {
    for dir in SEARCH {
        let c = CString::new(format!("{dir}/{name}")).expect("no NUL");
        // SAFETY: `c` is NUL-terminated.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return Ok(c);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("mix: no {name} in {}", SEARCH.join(":")),
    ))
}

/// The vfork-style child of a mix: descriptors 0 to 2 from `/dev/null`, then exec.
extern "C" fn mix_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `Mix` the parent passed to clone(); the parent is suspended
    // (CLONE_VFORK) and does not touch it until we exec or exit.
    let mix = unsafe { &*arg.cast::<Mix>() };
    mix.exec_in_child()
}

impl Mix {
    /// Looks the commands up and prepares what every start of a round shares.
    pub fn new() -> io::Result<Self> {
        let mut commands = Vec::new();
        for words in COMMANDS {
            let path = lookup(words[0])?;
            let args: Vec<CString> = std::iter::once(path.clone())
                .chain(words[1..].iter().map(|w| CString::new(*w).expect("no NUL")))
                .collect();
            let mut argv: Vec<_> = args.iter().map(|a| a.as_ptr()).collect();
            argv.push(ptr::null());
            let argv_blob = packed(&args);
            commands.push(Command {
                path,
                _args: args,
                argv,
                argv_blob,
            });
        }
        let env: Vec<CString> = ENV
            .iter()
            .map(|e| CString::new(*e).expect("no NUL"))
            .collect();
        let mut envp: Vec<_> = env.iter().map(|e| e.as_ptr()).collect();
        envp.push(ptr::null());
        let envp_blob = packed(&env);
        // SAFETY: The path is NUL-terminated.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if null < 0 {
            return Err(last_error("open /dev/null"));
        }
        // SAFETY: An all-zero object is what the init function overwrites.
        let mut fa: Box<libc::posix_spawn_file_actions_t> =
            Box::new(unsafe { core::mem::zeroed() });
        // SAFETY: `fa` is valid storage, initialised here once.
        unsafe {
            libc::posix_spawn_file_actions_init(&mut *fa);
            for fd in 0..3 {
                libc::posix_spawn_file_actions_adddup2(&mut *fa, null, fd);
            }
        }
        Ok(Mix {
            commands,
            _env: env,
            envp,
            envp_blob,
            null,
            fa,
            stack: vec![0; 64 * 1024],
            current: 0,
        })
    }

    /// In a child that shares nothing it will keep: set up descriptors 0 to 2 and exec the
    /// current command, or exit 127.
    fn exec_in_child(&self) -> libc::c_int {
        let cmd = &self.commands[self.current];
        // SAFETY: dup2(), execve() and _exit() are async-signal-safe; the path and the arrays
        // are NUL-terminated and live in `self`.
        unsafe {
            for fd in 0..3 {
                if libc::dup2(self.null, fd) < 0 {
                    libc::_exit(127);
                }
            }
            libc::execve(cmd.path.as_ptr(), cmd.argv.as_ptr(), self.envp.as_ptr());
            libc::_exit(127)
        }
    }

    /// Starts command `i` with `method`: its pid, and its pidfd if the method made one.
    fn start(
        &mut self,
        method: Method,
        i: usize,
    ) -> io::Result<(libc::pid_t, Option<libc::c_int>)> {
        self.current = i;
        match method {
            Method::PidfdStart => self.pidfd_start(i),
            Method::PosixSpawn => {
                let cmd = &self.commands[i];
                let mut pid = 0;
                // SAFETY: All pointers are valid and NUL-terminated; no attributes.
                let ret = unsafe {
                    libc::posix_spawn(
                        &mut pid,
                        cmd.path.as_ptr(),
                        &*self.fa,
                        ptr::null(),
                        cmd.argv.as_ptr().cast(),
                        self.envp.as_ptr().cast(),
                    )
                };
                if ret != 0 {
                    return Err(io::Error::from_raw_os_error(ret));
                }
                Ok((pid, None))
            }
            Method::Vfork => {
                let top = self.stack.as_mut_ptr_range().end as usize & !15;
                let me: *mut Mix = self;
                // SAFETY: `mix_child` runs on its own stack until it execs or exits, and we are
                // suspended until then (CLONE_VFORK), so `self` is not used meanwhile.
                let pid = unsafe {
                    libc::clone(
                        mix_child,
                        top as *mut libc::c_void,
                        libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                        me.cast(),
                    )
                };
                if pid < 0 {
                    return Err(last_error("clone"));
                }
                Ok((pid, None))
            }
            Method::Fork => {
                // SAFETY: The child only calls async-signal-safe functions before it execs.
                let pid = unsafe { libc::fork() };
                if pid < 0 {
                    return Err(last_error("fork"));
                }
                if pid == 0 {
                    self.exec_in_child();
                }
                Ok((pid, None))
            }
            _ => Err(io::Error::other(format!(
                "mix: no method {}",
                method.name()
            ))),
        }
    }

    fn pidfd_start(&self, i: usize) -> io::Result<(libc::pid_t, Option<libc::c_int>)> {
        let cmd = &self.commands[i];
        // SAFETY: pidfd_open() takes two integers.
        let fd = unsafe { libc::syscall(SYS_PIDFD_OPEN, 0, PIDFD_EMPTY) } as libc::c_int;
        if fd < 0 {
            return Err(last_error("pidfd_open(PIDFD_EMPTY)"));
        }
        let result = (|| {
            let config =
                |cmd, key, value: *const u8, aux| config_key(fd, cmd, Some(key), value.cast(), aux);
            config(
                PIDFD_CONFIG_SET_STRING,
                c"path",
                cmd.path.as_ptr().cast(),
                0,
            )?;
            config(
                PIDFD_CONFIG_SET_BINARY,
                c"argv",
                cmd.argv_blob.as_ptr(),
                cmd.argv_blob.len(),
            )?;
            config(
                PIDFD_CONFIG_SET_BINARY,
                c"envp",
                self.envp_blob.as_ptr(),
                self.envp_blob.len(),
            )?;
            for key in [c"fd:0", c"fd:1", c"fd:2"] {
                config(PIDFD_CONFIG_SET_FD, key, ptr::null(), self.null as usize)?;
            }
            start_embryo(fd, 0).map(|(_, pid)| pid)
        })();
        match result {
            Ok(pid) => Ok((pid, Some(fd))),
            Err(e) => {
                // SAFETY: `fd` is ours.
                unsafe { libc::close(fd) };
                Err(e)
            }
        }
    }

    /// One round: every command `REPEATS` times, at most `IN_FLIGHT` at once, all reaped.
    pub fn round(&mut self, method: Method) -> io::Result<()> {
        let total = self.commands.len() * REPEATS;
        // The children running: their command and their pidfd, if the method made one.
        let mut running: HashMap<libc::pid_t, (usize, Option<libc::c_int>)> = HashMap::new();
        let mut next = 0;
        let mut failure = None;
        loop {
            while failure.is_none() && next < total && running.len() < IN_FLIGHT {
                let i = next % self.commands.len();
                match self.start(method, i) {
                    Ok((pid, fd)) => {
                        running.insert(pid, (i, fd));
                    }
                    Err(e) => failure = Some(e),
                }
                next += 1;
            }
            if running.is_empty() {
                break;
            }
            let mut status = 0;
            // SAFETY: `status` is a valid place for the status.
            let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
            if pid < 0 {
                return Err(last_error("waitpid"));
            }
            let Some((i, fd)) = running.remove(&pid) else {
                continue;
            };
            if let Some(fd) = fd {
                // SAFETY: The pidfd is ours; its child is reaped.
                unsafe { libc::close(fd) };
            }
            if (!libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0) && failure.is_none() {
                failure = Some(io::Error::other(format!(
                    "mix: `{}` ended with status {status:#x}",
                    COMMANDS[i].join(" ")
                )));
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

impl Drop for Mix {
    fn drop(&mut self) {
        // SAFETY: The file actions were initialised in new(); `null` is ours.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut *self.fa);
            libc::close(self.null);
        }
    }
}

/// Runs the mix from each parent with each method, `rounds` interleaved rounds, and prints one
/// line per parent and method, then the ratios. Returns whether everything ran.
pub fn run(parents: &[Parent], methods: &[Method], rounds: usize, cpu: Option<usize>) -> bool {
    let mut mix = match Mix::new() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("spawnbench: {e}");
            return false;
        }
    };
    let launches = COMMANDS.len() * REPEATS;
    let mut uts: libc::utsname =
        // SAFETY: An all-zero utsname is valid.
        unsafe { core::mem::zeroed() };
    // SAFETY: `uts` is a valid place for the result; uname() NUL-terminates the fields.
    let release = unsafe {
        libc::uname(&mut uts);
        std::ffi::CStr::from_ptr(uts.release.as_ptr())
    };
    println!(
        "# spawnbench mix: kernel {}, {} commands x {REPEATS} = {launches} starts per round, at \
         most {IN_FLIGHT} in flight, {rounds} rounds after one untimed, methods interleaved round \
         by round{}",
        release.to_string_lossy(),
        COMMANDS.len(),
        cpu.map(|c| format!(", pinned to CPU {c}"))
            .unwrap_or_default()
    );
    println!(
        "# unit: ns of CPU time (this process and its children) per round, and per start; \
         elapsed: the round's median elapsed time (under -icount shift=0,sleep=off, CPU time \
         is guest instructions and elapsed time adds the waits for the host)"
    );
    println!(
        "{:<20} {:<18} {:>14} {:>14} {:>14} {:>12} {:>14}",
        "parent", "method", "median", "p25", "p75", "per start", "elapsed"
    );
    let mut ok = true;
    let mut medians: Vec<(Parent, Method, f64)> = Vec::new();
    for &parent in parents {
        let shape = match crate::make_parent(parent, cpu) {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "spawnbench: cannot build the {} parent: {e}",
                    parent.describe()
                );
                ok = false;
                continue;
            }
        };
        // Per method: CPU time and elapsed time of each round.
        let mut samples: Vec<io::Result<(Vec<f64>, Vec<f64>)>> = methods
            .iter()
            .map(|_| Ok((Vec::new(), Vec::new())))
            .collect();
        // One round of each first, not timed: page cache, dentries, the tools' first loads.
        for (i, &method) in methods.iter().enumerate() {
            if let Err(e) = mix.round(method) {
                samples[i] = Err(e);
            }
        }
        for _ in 0..rounds {
            for (i, &method) in methods.iter().enumerate() {
                let Ok((cpu, elapsed)) = &mut samples[i] else {
                    continue;
                };
                let (c0, t0) = (cpu_ns(), now_ns());
                match mix.round(method) {
                    Ok(()) => {
                        cpu.push((cpu_ns() - c0) as f64);
                        elapsed.push((now_ns() - t0) as f64);
                    }
                    Err(e) => samples[i] = Err(e),
                }
            }
        }
        for (&method, s) in methods.iter().zip(samples) {
            match s.map(|(cpu, elapsed)| (Stats::of(cpu), Stats::of(elapsed))) {
                Ok((s, e)) => {
                    println!(
                        "{:<20} {:<18} {:>14.0} {:>14.0} {:>14.0} {:>12.0} {:>14.0}",
                        parent.describe(),
                        method.name(),
                        s.median,
                        s.p25,
                        s.p75,
                        s.median / launches as f64,
                        e.median
                    );
                    medians.push((parent, method, s.median));
                }
                Err(e) => {
                    eprintln!(
                        "spawnbench: mix with {} from the {}: {e}",
                        method.name(),
                        parent.describe()
                    );
                    ok = false;
                }
            }
        }
        crate::drop_parent(shape);
    }
    for &parent in parents {
        let get = |m| {
            medians
                .iter()
                .find(|r| r.0 == parent && r.1 == m)
                .map(|r| r.2)
        };
        let Some(base) = get(Method::PidfdStart) else {
            continue;
        };
        for &method in methods {
            if method == Method::PidfdStart {
                continue;
            }
            if let Some(other) = get(method) {
                println!(
                    "ratio mix pidfd_start / {} ({}): {:.3}",
                    method.name(),
                    parent.describe(),
                    base / other
                );
            }
        }
    }
    ok
}
