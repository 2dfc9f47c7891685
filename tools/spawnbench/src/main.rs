// SPDX-License-Identifier: GPL-2.0
//! spawnbench: what it costs to start a process and wait for it, by method and by the shape of
//! the parent.
//!
//! Methods: `pidfd_start` (an embryo from `pidfd_open(0, PIDFD_EMPTY)`, its program set with
//! `pidfd_config()`, started with `pidfd_start()` and waited for with `waitid(P_PIDFD)`),
//! `fork+exec`, `vfork+exec` (a `clone(CLONE_VM | CLONE_VFORK)` child on its own stack, as
//! libcs implement vfork-style spawning), `vfork+pidfd` (the same with `CLONE_PIDFD`, waited for
//! through the pidfd: what glibc's pidfd_spawn() does) and glibc's `posix_spawn`. Every method
//! starts the same static no-op program with the same argv and an empty environment, and waits
//! for it. `embryo-only` is not a start: it is `pidfd_open(0, PIDFD_EMPTY)` and `close()`, the
//! fixed cost of the embryo object. Nor are `pidfd-only` (`pidfd_open()` of the benchmark itself
//! and `close()`: what any pidfd costs, the one of `vfork+pidfd` included) and `embryo+config`
//! (`pidfd_start`'s embryo configured and closed, not started), which split a `pidfd_start` into
//! its parts.
//!
//! `posix_spawn+attrs` and `pidfd_start+attrs` start the same child with three file actions
//! (open /dev/null onto 0, dup2 0 onto 1, close 3), a signal mask and a new process group: the
//! first through glibc's posix_spawn() with file actions and attributes prepared once, the
//! second with the calls libpidfdspawn makes for that posix_spawn() (path, argv, inherit-fds,
//! pgid, sigmask, three file actions). Run under `LD_PRELOAD=libpidfdspawn.so`, the two
//! `posix_spawn` methods measure that library instead of glibc.
//!
//! `task-only` and `exec-chain` measure the floor a start could reach. `task-only` is the
//! cheapest process there is: a `clone(CLONE_VM | CLONE_VFORK | CLONE_FS | CLONE_FILES |
//! CLONE_SIGHAND)` child that shares all it can, exits at once and is waited for. `exec-chain` is
//! `vfork+exec` of the no-op child told to exec itself [`CHAIN_EXECS`] times more before it exits,
//! so that the difference from `vfork+exec`, divided by [`CHAIN_EXECS`], is one `execve()` of that
//! image: with its new mm built and the old one torn down, as a start and exit build and tear
//! down one. Their sum is the floor: one process made, reaped, and one exec of the image.
//!
//! `spin` is no start either: a fixed amount of arithmetic in user space, a control for how fast
//! the CPU the benchmark runs on goes from each parent (under the instruction clock it stays put;
//! in wall time it shows what the machine's other work takes away).
//!
//! `pidfd_copy` and `pidfd_copy+attrs` configure one embryo as `pidfd_start` and
//! `pidfd_start+attrs` do, once, and then start copies of it with
//! `pidfd_start(PIDFD_START_COPY)`, waiting through each copy's new pidfd: a template against
//! building a fresh embryo for every start. `pidfd_copy+held` is `pidfd_copy` with the program
//! held by the template (`SET_PATH`, looked up once) instead of named by a path each copy looks up
//! in its child, and `vfork+fexec` its vfork counterpart: `vfork+exec` with the child exec'ing an
//! `O_CLOEXEC` descriptor of the program opened once (`execveat(fd, "", AT_EMPTY_PATH)`, what
//! fexecve() does).
//!
//! `--mix ROUNDS` runs the agent-style mix of the `mix` module instead: real tools, many in
//! flight, by `pidfd_start`, `posix_spawn`, `vfork+exec` and `fork+exec`.
//!
//! Parents: `tiny` (this program as it is), `mem:SIZE` (SIZE of anonymous memory touched, `256m`,
//! `4g`), `fds:N` (N more open descriptors), `threads:N` (N more threads, asleep) and
//! `faulting:N` (N more threads that fault 4 MiB in and drop it, over and over, on the CPUs
//! other than the one `--cpu` pins the benchmark to). `1g`, `fds` and `threads` stand for
//! `mem:1g`, `fds:10000` and `threads:64`, and those four are the default. Under the instruction
//! clock the vCPUs share one clock, so the faulting threads' instructions on another vCPU count
//! in a start's time: measure `faulting:N` in wall time (plain TCG, one host thread per vCPU).
//! Each parent is built, and measured from, in a process forked from the benchmark for it, so
//! that none finds what an earlier one left behind (a descriptor table never shrinks; glibc keeps
//! the stacks of ended threads mapped).
//!
//! Times come from `CLOCK_MONOTONIC`. Under QEMU with `-icount shift=0,sleep=off` that clock
//! counts guest instructions (one nanosecond per instruction), so the numbers are instruction
//! counts and repeat to within a fraction of a percent; otherwise they are wall time.

mod mix;

use std::{
    ffi::{CStr, CString},
    fmt::Write as _,
    io, process, ptr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Barrier,
    },
    thread,
};

/// The no-op child, assembled by build.rs.
static NOOP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/noop"));

// The series' UAPI (include/uapi/linux/pidfd.h) and its x86-64 syscall numbers.
const SYS_PIDFD_OPEN: libc::c_long = 434;
const SYS_PIDFD_CONFIG: libc::c_long = 473;
const SYS_PIDFD_START: libc::c_long = 474;
const PIDFD_EMPTY: libc::c_uint = libc::O_CREAT as libc::c_uint;
const PIDFD_CONFIG_SET_FLAG: libc::c_uint = 0;
const PIDFD_CONFIG_SET_STRING: libc::c_uint = 1;
const PIDFD_CONFIG_SET_BINARY: libc::c_uint = 2;
const PIDFD_CONFIG_SET_PATH: libc::c_uint = 3;
const PIDFD_CONFIG_SET_FD: libc::c_uint = 5;
const PIDFD_CONFIG_ADD_FILE_ACTION: libc::c_uint = 6;
const PIDFD_FILE_ACTION_OPEN: u32 = 1;
const PIDFD_FILE_ACTION_CLOSE: u32 = 2;
const PIDFD_FILE_ACTION_DUP2: u32 = 3;
const PIDFD_START_COPY: u64 = 1;

/// `struct pidfd_file_action`, version 0.
#[repr(C)]
struct PidfdFileAction {
    action: u32,
    fd: i32,
    newfd: i32,
    mode: u32,
    flags: u64,
    path: u64,
}
const P_PIDFD: libc::idtype_t = 3;

/// How many more times `exec-chain`'s child execs itself after its first exec.
const CHAIN_EXECS: usize = 10;

/// `struct pidfd_start_args`, version 0.
#[repr(C)]
#[derive(Default)]
struct PidfdStartArgs {
    flags: u64,
    pid: u64,
}

/// How the child is started.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    PidfdStart,
    Vfork,
    VforkPidfd,
    PosixSpawn,
    Fork,
    /// Not a start: `pidfd_open(0, PIDFD_EMPTY)` and `close()`, the embryo's fixed cost.
    EmbryoOnly,
    /// posix_spawn() with three file actions, a signal mask and a process group.
    PosixSpawnAttrs,
    /// The same launch as the embryo calls libpidfdspawn makes for it.
    PidfdStartAttrs,
    /// `PidfdStart`'s embryo configured once, started as copies.
    PidfdCopy,
    /// `PidfdStartAttrs`'s embryo configured once, started as copies.
    PidfdCopyAttrs,
    /// `PidfdCopy` with the program held by the template instead of named by a path.
    PidfdCopyHeld,
    /// `Vfork` with the child exec'ing a descriptor of the program opened once.
    VforkFexec,
    /// Not a start: `pidfd_open()` of this process and `close()`, the price of a pidfd.
    PidfdOnly,
    /// Not a start: `PidfdStart`'s embryo configured and closed.
    EmbryoConfig,
    /// Not a start: the cheapest process, which exits at once.
    TaskOnly,
    /// `Vfork` with the child exec'ing itself `CHAIN_EXECS` times more.
    ExecChain,
    /// Not a start: [`SPIN_ROUNDS`] rounds of arithmetic in user space, no system call. A
    /// control: how fast the benchmark's CPU runs, whatever the parent's shape.
    Spin,
}

/// The rounds of `spin`: about 360 k instructions in the guest, twice a start.
const SPIN_ROUNDS: u64 = 40_000;

impl Method {
    const ALL: [Method; 17] = [
        Method::PidfdStart,
        Method::Vfork,
        Method::VforkPidfd,
        Method::PosixSpawn,
        Method::Fork,
        Method::EmbryoOnly,
        Method::PosixSpawnAttrs,
        Method::PidfdStartAttrs,
        Method::PidfdCopy,
        Method::PidfdCopyAttrs,
        Method::PidfdCopyHeld,
        Method::VforkFexec,
        Method::PidfdOnly,
        Method::EmbryoConfig,
        Method::TaskOnly,
        Method::ExecChain,
        Method::Spin,
    ];

    fn name(self) -> &'static str {
        match self {
            Method::PidfdStart => "pidfd_start",
            Method::Vfork => "vfork+exec",
            Method::VforkPidfd => "vfork+pidfd",
            Method::PosixSpawn => "posix_spawn",
            Method::Fork => "fork+exec",
            Method::EmbryoOnly => "embryo-only",
            Method::PosixSpawnAttrs => "posix_spawn+attrs",
            Method::PidfdStartAttrs => "pidfd_start+attrs",
            Method::PidfdCopy => "pidfd_copy",
            Method::PidfdCopyAttrs => "pidfd_copy+attrs",
            Method::PidfdCopyHeld => "pidfd_copy+held",
            Method::VforkFexec => "vfork+fexec",
            Method::PidfdOnly => "pidfd-only",
            Method::EmbryoConfig => "embryo+config",
            Method::TaskOnly => "task-only",
            Method::ExecChain => "exec-chain",
            Method::Spin => "spin",
        }
    }

    /// Whether a run of the method starts the no-op child once (the others measure parts of a
    /// start, or the floor under one).
    fn is_start(self) -> bool {
        !matches!(
            self,
            Method::EmbryoOnly
                | Method::PidfdOnly
                | Method::EmbryoConfig
                | Method::TaskOnly
                | Method::ExecChain
                | Method::Spin
        )
    }

    fn needs_pidfd_start(self) -> bool {
        matches!(
            self,
            Method::PidfdStart
                | Method::EmbryoOnly
                | Method::PidfdStartAttrs
                | Method::PidfdCopy
                | Method::PidfdCopyAttrs
                | Method::PidfdCopyHeld
                | Method::EmbryoConfig
        )
    }
}

/// What the parent looks like while it starts children.
/// The shape of the benchmark process while it starts children.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Parent {
    /// This program as it is.
    Tiny,
    /// This many MiB of private anonymous memory, every page touched.
    Memory(usize),
    /// This many more open descriptors.
    Fds(usize),
    /// This many more threads, asleep.
    Threads(usize),
    /// This many more threads, each faulting pages in and dropping them in a loop, off the
    /// benchmark's CPU where there is another.
    Faulting(usize),
}

impl Parent {
    /// The parents measured when `--parents` is not given.
    const DEFAULT: [Parent; 4] = [
        Parent::Tiny,
        Parent::Memory(1024),
        Parent::Threads(64),
        Parent::Fds(10_000),
    ];

    /// The most of each resource a parent may ask for.
    const MAX_MEMORY_MIB: usize = 64 << 10;
    const MAX_FDS: usize = 1 << 20;
    const MAX_THREADS: usize = 4096;

    /// What `--parents` takes for this parent (and `parse()` reads back).
    fn name(self) -> String {
        match self {
            Parent::Tiny => "tiny".into(),
            Parent::Memory(mib) if mib % 1024 == 0 => format!("mem:{}g", mib / 1024),
            Parent::Memory(mib) => format!("mem:{mib}m"),
            Parent::Fds(n) => format!("fds:{n}"),
            Parent::Threads(n) => format!("threads:{n}"),
            Parent::Faulting(n) => format!("faulting:{n}"),
        }
    }

    /// The parent's label in the results.
    fn describe(self) -> String {
        match self {
            Parent::Tiny => "tiny parent".into(),
            Parent::Memory(mib) if mib % 1024 == 0 => format!("{} GiB touched", mib / 1024),
            Parent::Memory(mib) => format!("{mib} MiB touched"),
            Parent::Fds(n) => format!("{} open fds", thousands(n)),
            Parent::Threads(1) => "1 thread".into(),
            Parent::Threads(n) => format!("{} threads", thousands(n)),
            Parent::Faulting(1) => "1 thread faulting".into(),
            Parent::Faulting(n) => format!("{} threads faulting", thousands(n)),
        }
    }

    /// Reads a parent: `tiny`, `mem:SIZE` (SIZE in MiB with a suffix `m` or in GiB with `g`),
    /// `fds:N`, `threads:N`, `faulting:N`, and the older names `1g`, `fds` and `threads` (1 GiB,
    /// 10,000 fds, 64 threads).
    fn parse(s: &str) -> Option<Self> {
        let count = |v: &str, max: usize| v.parse().ok().filter(|&n| n > 0 && n <= max);
        let parent = match s.split_once(':') {
            None => match s {
                "tiny" => Parent::Tiny,
                "1g" => Parent::Memory(1024),
                "fds" => Parent::Fds(10_000),
                "threads" => Parent::Threads(64),
                _ => return None,
            },
            Some(("mem", v)) => {
                let mib = if let Some(g) = v.strip_suffix('g') {
                    count(g, Self::MAX_MEMORY_MIB >> 10)? << 10
                } else {
                    count(v.strip_suffix('m')?, Self::MAX_MEMORY_MIB)?
                };
                Parent::Memory(mib)
            }
            Some(("fds", v)) => Parent::Fds(count(v, Self::MAX_FDS)?),
            Some(("threads", v)) => Parent::Threads(count(v, Self::MAX_THREADS)?),
            Some(("faulting", v)) => Parent::Faulting(count(v, Self::MAX_THREADS)?),
            Some(_) => return None,
        };
        Some(parent)
    }
}

/// `n` with a comma between each group of three digits, as the reports print counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How an embryo is configured: `pidfd_start`'s (`Plain`), `pidfd_start+attrs`'s (`Attrs`), or
/// with its program held (`Held`); for the `pidfd_copy` methods also the template's index in
/// `Child::templates`.
#[derive(Clone, Copy)]
enum Template {
    Plain,
    Attrs,
    Held,
}

/// Everything a start needs, prepared once so that no method pays for it.
struct Child {
    path: CString,
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
    /// `exec-chain`'s argv: the path and one character per further exec.
    chain_argv: [*const libc::c_char; 3],
    chain: CString,
    /// The argv the vfork-style child execs with: `argv` or `chain_argv`.
    vfork_argv: *const *const libc::c_char,
    /// The stack of the vfork-style child.
    stack: Vec<u8>,
    /// posix_spawn()'s file actions and attributes for `posix_spawn+attrs`, boxed so that their
    /// address, by which libpidfdspawn knows them, never changes.
    fa: Box<libc::posix_spawn_file_actions_t>,
    attr: Box<libc::posix_spawnattr_t>,
    /// The signal mask of the `+attrs` methods.
    mask: libc::sigset_t,
    /// The configured embryos the `pidfd_copy` methods copy: plain, `+attrs` and `+held`.
    templates: [Option<libc::c_int>; 3],
    /// The program opened once with `O_CLOEXEC`, for `vfork+fexec`.
    held: Option<libc::c_int>,
}

impl Drop for Child {
    fn drop(&mut self) {
        for fd in self.templates.iter().chain([&self.held]).flatten() {
            // SAFETY: The template embryos and the held program are ours.
            unsafe { libc::close(*fd) };
        }
    }
}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// `pidfd_config(fd, cmd, key, value, aux)`; `key` NULL for the commands without one.
fn config_key(
    fd: libc::c_int,
    cmd: libc::c_uint,
    key: Option<&CStr>,
    value: *const libc::c_void,
    aux: usize,
) -> io::Result<()> {
    let key_ptr = key.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: `key` is NULL or NUL-terminated. The kernel only reads `key` and `value`, and
    // an address it cannot read is EFAULT, not a fault in this process.
    let ret = unsafe { libc::syscall(SYS_PIDFD_CONFIG, fd, cmd, key_ptr, value, aux) };
    if ret < 0 {
        return Err(last_error(&format!("pidfd_config({key:?})")));
    }
    Ok(())
}

/// `pidfd_start(fd)` with `flags`: what the call returned (the copy's pidfd with
/// `PIDFD_START_COPY`, else 0) and the new process's pid.
fn start_embryo(fd: libc::c_int, flags: u64) -> io::Result<(libc::c_int, libc::pid_t)> {
    let mut args = PidfdStartArgs { flags, pid: 0 };
    // SAFETY: `args` is a valid struct pidfd_start_args of the size given.
    let ret = unsafe {
        libc::syscall(
            SYS_PIDFD_START,
            fd,
            &mut args as *mut PidfdStartArgs,
            core::mem::size_of::<PidfdStartArgs>(),
        )
    };
    if ret < 0 {
        return Err(last_error("pidfd_start"));
    }
    Ok((ret as libc::c_int, args.pid as libc::pid_t))
}

/// Waits for `pid` and checks that it exited 0.
fn wait_pid(pid: libc::pid_t) -> io::Result<()> {
    let mut status = 0;
    // SAFETY: `status` is a valid place for the status.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(last_error("waitpid"));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(io::Error::other(format!("child status {status:#x}")));
    }
    Ok(())
}

/// Waits for the process of `pidfd` and checks that it exited 0.
fn wait_pidfd(pidfd: libc::c_int) -> io::Result<()> {
    // SAFETY: An all-zero siginfo_t is valid.
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    // SAFETY: `info` is a valid place for the result.
    if unsafe { libc::waitid(P_PIDFD, pidfd as libc::id_t, &mut info, libc::WEXITED) } < 0 {
        return Err(last_error("waitid(P_PIDFD)"));
    }
    // SAFETY: waitid() filled in a SIGCHLD siginfo.
    let status = unsafe { info.si_status() };
    if info.si_code != libc::CLD_EXITED || status != 0 {
        return Err(io::Error::other(format!(
            "child code {} status {status}",
            info.si_code
        )));
    }
    Ok(())
}

/// The vfork-style child: exec, or exit 127.
extern "C" fn vfork_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `Child` the parent passed to clone(); the parent is suspended
    // (CLONE_VFORK) and does not touch it until we exec or exit.
    let child = unsafe { &*arg.cast::<Child>() };
    // SAFETY: The path and the arrays are NUL-terminated and live in `child`; `vfork_argv`
    // points to one of its two argv arrays.
    unsafe { libc::execve(child.path.as_ptr(), child.vfork_argv, child.envp.as_ptr()) };
    // SAFETY: _exit() is always safe to call.
    unsafe { libc::_exit(127) }
}

/// `vfork+fexec`'s child: exec the held program, or exit 127.
extern "C" fn fexec_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: As in `vfork_child`.
    let child = unsafe { &*arg.cast::<Child>() };
    if let Some(fd) = child.held {
        // SAFETY: The empty path and the arrays are NUL-terminated and live in `child`.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                fd,
                c"".as_ptr(),
                child.vfork_argv,
                child.envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
    }
    // SAFETY: _exit() is always safe to call.
    unsafe { libc::_exit(127) }
}

/// `task-only`'s child: exit 0 at once, with the raw system call, so that nothing of the C
/// library's runs in a child that shares its parent's memory.
extern "C" fn exit_child(_arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: exit() ends this task and touches no memory.
    unsafe { libc::syscall(libc::SYS_exit, 0) };
    // SAFETY: _exit() is always safe to call.
    unsafe { libc::_exit(127) }
}

impl Child {
    fn new(path: CString) -> Self {
        // SAFETY: All-zero objects are what the init functions overwrite, and a valid set.
        let (fa, attr, mask) = unsafe {
            (
                Box::new(core::mem::zeroed()),
                Box::new(core::mem::zeroed()),
                core::mem::zeroed(),
            )
        };
        let chain = CString::new(vec![b'x'; CHAIN_EXECS]).expect("no NUL");
        let mut child = Child {
            path,
            argv: [ptr::null(); 2],
            envp: [ptr::null()],
            chain_argv: [ptr::null(); 3],
            chain,
            vfork_argv: ptr::null(),
            stack: vec![0; 64 * 1024],
            fa,
            attr,
            mask,
            templates: [None; 3],
            held: None,
        };
        child.argv[0] = child.path.as_ptr();
        child.chain_argv[0] = child.path.as_ptr();
        child.chain_argv[1] = child.chain.as_ptr();
        // SAFETY: The objects are valid storage, initialised here once; the path is a static
        // NUL-terminated string.
        unsafe {
            libc::sigemptyset(&mut child.mask);
            libc::sigaddset(&mut child.mask, libc::SIGUSR1);
            libc::posix_spawn_file_actions_init(&mut *child.fa);
            libc::posix_spawn_file_actions_addopen(
                &mut *child.fa,
                0,
                c"/dev/null".as_ptr(),
                libc::O_RDONLY,
                0,
            );
            libc::posix_spawn_file_actions_adddup2(&mut *child.fa, 0, 1);
            libc::posix_spawn_file_actions_addclose(&mut *child.fa, 3);
            libc::posix_spawnattr_init(&mut *child.attr);
            libc::posix_spawnattr_setsigmask(&mut *child.attr, &child.mask);
            libc::posix_spawnattr_setpgroup(&mut *child.attr, 0);
            libc::posix_spawnattr_setflags(
                &mut *child.attr,
                (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETPGROUP) as libc::c_short,
            );
        }
        child
    }

    /// Starts the child once with `method` and waits for it.
    fn run(&mut self, method: Method) -> io::Result<()> {
        match method {
            Method::PidfdStart => self.pidfd_start(false),
            Method::PidfdStartAttrs => self.pidfd_start(true),
            Method::PidfdCopy => self.pidfd_copy(Template::Plain),
            Method::PidfdCopyAttrs => self.pidfd_copy(Template::Attrs),
            Method::PidfdCopyHeld => self.pidfd_copy(Template::Held),
            Method::Spin => {
                let mut x = 0u64;
                for i in 0..SPIN_ROUNDS {
                    x = core::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                core::hint::black_box(x);
                Ok(())
            }
            Method::Vfork
            | Method::VforkPidfd
            | Method::VforkFexec
            | Method::ExecChain
            | Method::TaskOnly => {
                if method == Method::VforkFexec && self.held.is_none() {
                    // SAFETY: The path is NUL-terminated.
                    let fd =
                        unsafe { libc::open(self.path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
                    if fd < 0 {
                        return Err(last_error("open"));
                    }
                    self.held = Some(fd);
                }
                // The stack grows down from the end of the buffer, 16-byte aligned.
                let top = self.stack.as_mut_ptr_range().end as usize & !15;
                self.vfork_argv = if method == Method::ExecChain {
                    self.chain_argv.as_ptr()
                } else {
                    self.argv.as_ptr()
                };
                let me: *mut Child = self;
                let mut pidfd: libc::c_int = -1;
                let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
                let mut entry: extern "C" fn(*mut libc::c_void) -> libc::c_int = vfork_child;
                match method {
                    Method::VforkPidfd => flags |= libc::CLONE_PIDFD,
                    Method::VforkFexec => entry = fexec_child,
                    Method::TaskOnly => {
                        flags |= libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_SIGHAND;
                        entry = exit_child;
                    }
                    _ => {}
                }
                // SAFETY: The child runs on its own stack until it execs or exits, and the
                // caller is suspended until then (CLONE_VFORK), so `self` is not used meanwhile.
                // With CLONE_PIDFD the kernel stores the pidfd in `pidfd`.
                let pid = unsafe {
                    libc::clone(
                        entry,
                        top as *mut libc::c_void,
                        flags,
                        me.cast(),
                        &mut pidfd as *mut libc::c_int,
                    )
                };
                if pid < 0 {
                    return Err(last_error("clone"));
                }
                if method == Method::VforkPidfd {
                    let ret = wait_pidfd(pidfd);
                    // SAFETY: `pidfd` is ours.
                    unsafe { libc::close(pidfd) };
                    return ret;
                }
                wait_pid(pid)
            }
            Method::EmbryoOnly => {
                // SAFETY: pidfd_open() takes two integers.
                let fd = unsafe { libc::syscall(SYS_PIDFD_OPEN, 0, PIDFD_EMPTY) } as libc::c_int;
                if fd < 0 {
                    return Err(last_error("pidfd_open(PIDFD_EMPTY)"));
                }
                // SAFETY: `fd` is ours.
                unsafe { libc::close(fd) };
                Ok(())
            }
            Method::PidfdOnly => {
                // SAFETY: pidfd_open() takes two integers; getpid() cannot fail.
                let fd = unsafe { libc::syscall(SYS_PIDFD_OPEN, libc::getpid(), 0) } as libc::c_int;
                if fd < 0 {
                    return Err(last_error("pidfd_open"));
                }
                // SAFETY: `fd` is ours.
                unsafe { libc::close(fd) };
                Ok(())
            }
            Method::EmbryoConfig => {
                let fd = self.embryo(Template::Plain)?;
                // SAFETY: `fd` is ours.
                unsafe { libc::close(fd) };
                Ok(())
            }
            Method::PosixSpawn | Method::PosixSpawnAttrs => {
                let mut pid = 0;
                let (fa, attr): (*const _, *const _) = if method == Method::PosixSpawnAttrs {
                    (&*self.fa, &*self.attr)
                } else {
                    (ptr::null(), ptr::null())
                };
                // SAFETY: All pointers are valid and NUL-terminated; NULL file actions and
                // attributes mean none.
                let ret = unsafe {
                    libc::posix_spawn(
                        &mut pid,
                        self.path.as_ptr(),
                        fa,
                        attr,
                        self.argv.as_ptr().cast(),
                        self.envp.as_ptr().cast(),
                    )
                };
                if ret != 0 {
                    return Err(io::Error::from_raw_os_error(ret));
                }
                wait_pid(pid)
            }
            Method::Fork => {
                // SAFETY: The child only calls execve() and _exit(), which are
                // async-signal-safe, so forking a multi-threaded parent is fine.
                let pid = unsafe { libc::fork() };
                if pid < 0 {
                    return Err(last_error("fork"));
                }
                if pid == 0 {
                    // SAFETY: As in `vfork_child`.
                    unsafe {
                        libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
                        libc::_exit(127)
                    }
                }
                wait_pid(pid)
            }
        }
    }

    /// A new embryo configured as `kind` says.
    fn embryo(&self, kind: Template) -> io::Result<libc::c_int> {
        // SAFETY: pidfd_open() takes two integers.
        let fd = unsafe { libc::syscall(SYS_PIDFD_OPEN, 0, PIDFD_EMPTY) } as libc::c_int;
        if fd < 0 {
            return Err(last_error("pidfd_open(PIDFD_EMPTY)"));
        }
        // `Held` has the program looked up and held now (relative to the cwd: aux is an int, and
        // AT_FDCWD goes through sign-extended), the others name it for the child to look up.
        let (cmd, aux) = match kind {
            Template::Held => (PIDFD_CONFIG_SET_PATH, libc::AT_FDCWD as usize),
            Template::Plain | Template::Attrs => (PIDFD_CONFIG_SET_STRING, 0),
        };
        let result = (|| {
            config_key(fd, cmd, Some(c"path"), self.path.as_ptr().cast(), aux)?;
            if matches!(kind, Template::Attrs) {
                self.config_attrs(fd)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // SAFETY: `fd` is ours.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        Ok(fd)
    }

    /// Starts a copy of the (once configured) template and waits for it.
    fn pidfd_copy(&mut self, kind: Template) -> io::Result<()> {
        let slot = kind as usize;
        let template = match self.templates[slot] {
            Some(fd) => fd,
            None => {
                let fd = self.embryo(kind)?;
                self.templates[slot] = Some(fd);
                fd
            }
        };
        let (fd, _) = start_embryo(template, PIDFD_START_COPY)?;
        let result = wait_pidfd(fd);
        // SAFETY: `fd` is ours.
        unsafe { libc::close(fd) };
        result
    }

    fn pidfd_start(&self, attrs: bool) -> io::Result<()> {
        let fd = self.embryo(if attrs {
            Template::Attrs
        } else {
            Template::Plain
        })?;
        let result = start_embryo(fd, 0).and_then(|_| wait_pidfd(fd));
        // SAFETY: `fd` is ours.
        unsafe { libc::close(fd) };
        result
    }
}

impl Child {
    /// What libpidfdspawn adds to the path for `posix_spawn+attrs`.
    fn config_attrs(&self, fd: libc::c_int) -> io::Result<()> {
        // SAFETY: The argv array holds the path and a NULL.
        let argv = unsafe { CStr::from_ptr(self.argv[0]) }.to_bytes_with_nul();
        let mask: u64 = 1 << (libc::SIGUSR1 - 1);
        let config = |cmd, key, value, aux| config_key(fd, cmd, Some(key), value, aux);
        config(
            PIDFD_CONFIG_SET_BINARY,
            c"argv",
            argv.as_ptr().cast(),
            argv.len(),
        )?;
        config(PIDFD_CONFIG_SET_FLAG, c"inherit-fds", ptr::null(), 0)?;
        config(PIDFD_CONFIG_SET_STRING, c"pgid", c"0".as_ptr().cast(), 0)?;
        config(
            PIDFD_CONFIG_SET_BINARY,
            c"sigmask",
            (&mask as *const u64).cast(),
            8,
        )?;
        let actions = [
            (PIDFD_FILE_ACTION_OPEN, 0, 0, c"/dev/null".as_ptr() as u64),
            (PIDFD_FILE_ACTION_DUP2, 0, 1, 0),
            (PIDFD_FILE_ACTION_CLOSE, 3, 0, 0),
        ];
        for (action, afd, newfd, path) in actions {
            let a = PidfdFileAction {
                action,
                fd: afd,
                newfd,
                mode: 0,
                flags: libc::O_RDONLY as u64,
                path,
            };
            let a = PidfdFileAction {
                flags: if action == PIDFD_FILE_ACTION_OPEN {
                    a.flags
                } else {
                    0
                },
                ..a
            };
            config_key(
                fd,
                PIDFD_CONFIG_ADD_FILE_ACTION,
                None,
                (&a as *const PidfdFileAction).cast(),
                core::mem::size_of::<PidfdFileAction>(),
            )?;
        }
        Ok(())
    }
}

/// Whether this kernel has the series' syscalls: they fail on a bad fd for the fd's sake.
fn pidfd_start_supported() -> bool {
    // SAFETY: A call on fd -1 reads nothing.
    let ret =
        unsafe { libc::syscall(SYS_PIDFD_CONFIG, -1, 0, c"x".as_ptr(), ptr::null::<u8>(), 0) };
    ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid place for the time.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Order statistics of per-spawn costs, in ns (instructions under icount).
struct Stats {
    median: f64,
    p25: f64,
    p75: f64,
    min: f64,
    max: f64,
}

/// The p-th percentile of sorted data, by linear interpolation.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        Stats {
            median: percentile(&samples, 0.5),
            p25: percentile(&samples, 0.25),
            p75: percentile(&samples, 0.75),
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }
}

/// Runs `batches` rounds; a round is one batch of each method in turn (`per_batch` starts of
/// it), so that whatever else the guest does over time (timer ticks, kernel threads) falls on
/// every method alike. One sample per batch: its mean cost per start. A method that fails is
/// dropped from the rounds and gets its error.
fn measure(
    child: &mut Child,
    methods: &[(Method, usize)],
    batches: usize,
) -> Vec<io::Result<Stats>> {
    let mut samples: Vec<io::Result<Vec<f64>>> = methods
        .iter()
        .map(|_| Ok(Vec::with_capacity(batches)))
        .collect();
    for (i, &(method, per_batch)) in methods.iter().enumerate() {
        for _ in 0..per_batch.min(5) {
            if let Err(e) = child.run(method) {
                samples[i] = Err(e);
                break;
            }
        }
    }
    for _ in 0..batches {
        for (i, &(method, per_batch)) in methods.iter().enumerate() {
            let Ok(list) = &mut samples[i] else {
                continue;
            };
            let t0 = now_ns();
            let mut res = Ok(());
            for _ in 0..per_batch {
                res = child.run(method);
                if res.is_err() {
                    break;
                }
            }
            match res {
                Ok(()) => list.push((now_ns() - t0) as f64 / per_batch as f64),
                Err(e) => samples[i] = Err(e),
            }
        }
    }
    samples.into_iter().map(|r| r.map(Stats::of)).collect()
}

/// Builds `parent` in a process forked from this one, measures `methods` from it and returns
/// what it measured, in the order of `methods`. The benchmark itself keeps the shape it started
/// with, so that no parent inherits what an earlier one left behind: a descriptor table never
/// shrinks, and glibc keeps the stacks of ended threads mapped.
fn measure_in_new_process(
    child: &mut Child,
    parent: Parent,
    cpu: Option<usize>,
    methods: &[(Method, usize)],
    batches: usize,
) -> io::Result<Vec<io::Result<Stats>>> {
    // The report comes back through shared memory rather than a pipe: a descriptor would be
    // copied into the child of every vfork and posix_spawn and add to their cost.
    const REPORT_LEN: usize = 64 << 10;
    let shared = map_anonymous(REPORT_LEN, libc::MAP_SHARED)?;
    let shared = shared.cast::<u8>();
    // The report's length, then its bytes.
    let header = core::mem::size_of::<usize>();
    // SAFETY: The benchmark has one thread while it measures single starts (the parents' threads
    // live in the processes this function forks), so the new process may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = last_error("fork");
        // SAFETY: The mapping is this function's and no longer used.
        unsafe { libc::munmap(shared.cast(), REPORT_LEN) };
        return Err(e);
    }
    if pid == 0 {
        let mut report = String::new();
        match make_parent(parent, cpu) {
            Err(e) => {
                let _ = writeln!(report, "parent {e}");
            }
            Ok(shape) => {
                // The forked process's copy of `child`: what a method sets up in it stays there.
                for stat in measure(child, methods, batches) {
                    let _ = match stat {
                        Ok(s) => writeln!(
                            report,
                            "ok {} {} {} {} {}",
                            s.median, s.p25, s.p75, s.min, s.max
                        ),
                        Err(e) => writeln!(report, "err {e}"),
                    };
                }
                drop_parent(shape);
            }
        }
        let fits = report.len() <= REPORT_LEN - header;
        if fits {
            // SAFETY: The mapping is REPORT_LEN bytes and writable; the report fits after the
            // length, and the benchmark reads it only after this process has ended.
            unsafe {
                ptr::copy_nonoverlapping(report.as_ptr(), shared.add(header), report.len());
                shared.cast::<usize>().write_unaligned(report.len());
            }
        }
        // SAFETY: _exit() ends this forked process without running the benchmark's exit paths.
        unsafe { libc::_exit(i32::from(!fits)) };
    }
    let mut status = 0;
    // SAFETY: `pid` is this process's child and `status` a valid place for its status.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    let report = if waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        // SAFETY: The measuring process has ended after writing the length and as many bytes
        // after it, within the mapping.
        let bytes = unsafe {
            let len = shared.cast::<usize>().read_unaligned();
            core::slice::from_raw_parts(shared.add(header), len)
        };
        Some(String::from_utf8_lossy(bytes).into_owned())
    } else {
        None
    };
    // SAFETY: The mapping is this function's and no longer used.
    unsafe { libc::munmap(shared.cast(), REPORT_LEN) };
    if waited != pid {
        return Err(last_error("waitpid"));
    }
    let Some(report) = report else {
        return Err(io::Error::other(format!(
            "the measuring process ended with status {status:#x}"
        )));
    };
    let mut stats = Vec::with_capacity(methods.len());
    for line in report.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "parent" => return Err(io::Error::other(format!("cannot build it: {rest}"))),
            "err" => stats.push(Err(io::Error::other(rest.to_owned()))),
            "ok" => {
                let v: Vec<f64> = rest.split(' ').filter_map(|x| x.parse().ok()).collect();
                let [median, p25, p75, min, max] = v[..] else {
                    return Err(io::Error::other(format!("bad report line: {line}")));
                };
                stats.push(Ok(Stats {
                    median,
                    p25,
                    p75,
                    min,
                    max,
                }));
            }
            _ => return Err(io::Error::other(format!("bad report line: {line}"))),
        }
    }
    if stats.len() != methods.len() {
        return Err(io::Error::other(
            "the measuring process reported too few methods",
        ));
    }
    Ok(stats)
}

/// Binds the calling thread, and so every thread and child it creates later, to `cpu`.
fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: An all-zero cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: CPU_SET() writes inside `set`; it ignores CPUs beyond the set's size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size given.
    if unsafe { libc::sched_setaffinity(0, core::mem::size_of_val(&set), &set) } != 0 {
        return Err(last_error("sched_setaffinity"));
    }
    Ok(())
}

/// What keeps a parent shape alive while it is measured.
enum Shape {
    None,
    Memory(*mut libc::c_void, usize),
    Fds(Vec<libc::c_int>),
    Threads(Vec<thread::JoinHandle<()>>, Arc<Barrier>),
    Faulting(Vec<thread::JoinHandle<()>>, Arc<AtomicBool>),
}

/// Maps `len` bytes of anonymous memory, `sharing` being `MAP_PRIVATE` or `MAP_SHARED`.
fn map_anonymous(len: usize, sharing: libc::c_int) -> io::Result<*mut libc::c_void> {
    // SAFETY: A new anonymous mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            sharing | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(last_error("mmap"));
    }
    Ok(p)
}

/// Writes one byte to every page of the mapping at `p`, so that each page is really there.
///
/// # Safety
///
/// `p` must be the start of a writable mapping of at least `len` bytes.
unsafe fn touch_pages(p: *mut libc::c_void, len: usize) {
    for off in (0..len).step_by(4096) {
        // SAFETY: `off` is within the mapping, which is writable, by the function's contract.
        unsafe { p.cast::<u8>().add(off).write_volatile(1) };
    }
}

/// How much memory each faulting thread faults in and drops again, over and over.
const FAULTING_LEN: usize = 4 << 20;

/// Binds the calling thread to every online CPU but `cpu`, if there is another.
fn avoid_cpu(cpu: usize) {
    // SAFETY: sysconf() has no preconditions.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    if online < 2 {
        return;
    }
    // SAFETY: An all-zero cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    for c in (0..online).filter(|&c| c != cpu) {
        // SAFETY: CPU_SET() writes inside `set`; it ignores CPUs beyond the set's size.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size given. On failure the thread stays where it
    // was, which only makes the measurement less sharp.
    unsafe { libc::sched_setaffinity(0, core::mem::size_of_val(&set), &set) };
}

/// Builds `parent`. `cpu` is the CPU the benchmark is pinned to, which faulting threads avoid.
fn make_parent(parent: Parent, cpu: Option<usize>) -> io::Result<Shape> {
    Ok(match parent {
        Parent::Tiny => Shape::None,
        Parent::Memory(mib) => {
            let len = mib << 20;
            let p = map_anonymous(len, libc::MAP_PRIVATE)?;
            // SAFETY: `p` is a new writable mapping of `len` bytes.
            unsafe { touch_pages(p, len) };
            Shape::Memory(p, len)
        }
        Parent::Fds(n) => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid place for the result.
            if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
                return Err(last_error("getrlimit(RLIMIT_NOFILE)"));
            }
            // Room for the descriptors and for the ones the benchmark opens besides.
            let want = (n as libc::rlim_t).saturating_add(1024);
            if lim.rlim_cur < want {
                lim.rlim_cur = want;
                lim.rlim_max = lim.rlim_max.max(want);
                // SAFETY: `lim` is a valid rlimit.
                if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                    return Err(last_error("setrlimit(RLIMIT_NOFILE)"));
                }
            }
            let mut fds = Vec::with_capacity(n);
            for _ in 0..n {
                // SAFETY: The path is NUL-terminated.
                let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
                if fd < 0 {
                    let e = last_error("open /dev/null");
                    drop_parent(Shape::Fds(fds));
                    return Err(e);
                }
                fds.push(fd);
            }
            Shape::Fds(fds)
        }
        Parent::Threads(n) => {
            let barrier = Arc::new(Barrier::new(n + 1));
            let threads = (0..n)
                .map(|_| {
                    let b = barrier.clone();
                    thread::spawn(move || {
                        b.wait();
                    })
                })
                .collect();
            Shape::Threads(threads, barrier)
        }
        Parent::Faulting(n) => {
            let stop = Arc::new(AtomicBool::new(false));
            let started = Arc::new(Barrier::new(n + 1));
            let mapped = Arc::new(AtomicUsize::new(0));
            let threads = (0..n)
                .map(|_| {
                    let stop = stop.clone();
                    let started = started.clone();
                    let mapped = mapped.clone();
                    thread::spawn(move || {
                        if let Some(cpu) = cpu {
                            avoid_cpu(cpu);
                        }
                        let p = map_anonymous(FAULTING_LEN, libc::MAP_PRIVATE);
                        if p.is_ok() {
                            mapped.fetch_add(1, Ordering::Relaxed);
                        }
                        started.wait();
                        let Ok(p) = p else {
                            return;
                        };
                        while !stop.load(Ordering::Relaxed) {
                            // SAFETY: `p` is this thread's writable mapping of FAULTING_LEN
                            // bytes; dropping its pages only makes the next touch fault again.
                            unsafe {
                                touch_pages(p, FAULTING_LEN);
                                libc::madvise(p, FAULTING_LEN, libc::MADV_DONTNEED);
                            }
                        }
                        // SAFETY: The mapping is this thread's and no longer used.
                        unsafe { libc::munmap(p, FAULTING_LEN) };
                    })
                })
                .collect::<Vec<_>>();
            // Every thread has counted its mapping, or not, before it waits here.
            started.wait();
            if mapped.load(Ordering::Relaxed) != n {
                drop_parent(Shape::Faulting(threads, stop));
                return Err(io::Error::other(
                    "a faulting thread could not map its memory",
                ));
            }
            Shape::Faulting(threads, stop)
        }
    })
}

fn drop_parent(shape: Shape) {
    match shape {
        Shape::None => {}
        Shape::Memory(p, len) => {
            // SAFETY: The mapping is ours and no longer used.
            unsafe { libc::munmap(p, len) };
        }
        Shape::Fds(fds) => {
            for fd in fds {
                // SAFETY: The descriptor is ours.
                unsafe { libc::close(fd) };
            }
        }
        Shape::Threads(threads, barrier) => {
            barrier.wait();
            for t in threads {
                let _ = t.join();
            }
        }
        Shape::Faulting(threads, stop) => {
            stop.store(true, Ordering::Relaxed);
            for t in threads {
                let _ = t.join();
            }
        }
    }
}

struct Options {
    parents: Vec<Parent>,
    methods: Vec<Method>,
    batches: usize,
    per_batch: usize,
    cpu: Option<usize>,
    /// Run the agent-style mix, this many rounds, instead of the single starts.
    mix: Option<usize>,
}

fn usage() -> ! {
    eprintln!(
        "usage: spawnbench [--parents tiny,mem:SIZE,fds:N,threads:N,faulting:N] [--methods pidfd_start,vfork+exec,\
         vfork+pidfd,posix_spawn,fork+exec,embryo-only,posix_spawn+attrs,pidfd_start+attrs,\
         pidfd_copy,pidfd_copy+attrs,pidfd_copy+held,vfork+fexec,pidfd-only,embryo+config,task-only,exec-chain,spin] [--batches N] [--mix ROUNDS] [--per-batch N] [--cpu N]"
    );
    process::exit(2)
}

fn parse_args() -> Options {
    let mut opts = Options {
        parents: Parent::DEFAULT.to_vec(),
        methods: Method::ALL.to_vec(),
        batches: 15,
        per_batch: 20,
        cpu: None,
        mix: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--parents" => {
                opts.parents = value
                    .split(',')
                    .map(|s| Parent::parse(s).unwrap_or_else(|| usage()))
                    .collect()
            }
            "--methods" => {
                opts.methods = value
                    .split(',')
                    .map(|s| {
                        Method::ALL
                            .into_iter()
                            .find(|m| m.name() == s)
                            .unwrap_or_else(|| usage())
                    })
                    .collect()
            }
            "--batches" => {
                opts.batches = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage())
            }
            "--per-batch" => {
                opts.per_batch = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage())
            }
            "--cpu" => opts.cpu = Some(value.parse().unwrap_or_else(|_| usage())),
            "--mix" => {
                opts.mix = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| usage()),
                )
            }
            _ => usage(),
        }
    }
    opts
}

/// Writes the no-op child to a fresh file and returns its path.
fn install_noop() -> io::Result<CString> {
    let path = format!("/tmp/spawnbench-noop-{}", process::id());
    std::fs::write(&path, NOOP)?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(CString::new(path).expect("no NUL in the path"))
}

fn main() {
    let opts = parse_args();
    if let Some(cpu) = opts.cpu {
        if let Err(e) = pin_to_cpu(cpu) {
            eprintln!("spawnbench: cannot run on CPU {cpu}: {e}");
            process::exit(1)
        }
    }
    if let Some(rounds) = opts.mix {
        let all = opts.methods.len() == Method::ALL.len();
        let mut methods = Vec::new();
        for &m in &opts.methods {
            if !mix::METHODS.contains(&m) {
                if !all {
                    eprintln!("spawnbench: the mix has no method {}", m.name());
                    process::exit(2)
                }
            } else if m.needs_pidfd_start() && !pidfd_start_supported() {
                println!("# mix: {}: ENOSYS, left out", m.name());
            } else {
                methods.push(m);
            }
        }
        let ok = mix::run(&opts.parents, &methods, rounds, opts.cpu);
        process::exit(if ok { 0 } else { 1 })
    }
    let path = install_noop().unwrap_or_else(|e| {
        eprintln!("spawnbench: cannot write the no-op child: {e}");
        process::exit(1)
    });
    let path_str = path.to_str().expect("ASCII path").to_owned();
    let mut child = Child::new(path);
    let have_pidfd = pidfd_start_supported();

    let mut uts: libc::utsname =
        // SAFETY: An all-zero utsname is valid.
        unsafe { core::mem::zeroed() };
    // SAFETY: `uts` is a valid place for the result.
    unsafe { libc::uname(&mut uts) };
    // SAFETY: uname() NUL-terminates the fields.
    let release = unsafe { CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy();
    println!(
        "# spawnbench: kernel {release}, {} CPUs, clock CLOCK_MONOTONIC, {} batches x {} starts, \
         one sample per batch (mean per start+wait), methods interleaved batch by batch{}",
        // SAFETY: sysconf() has no preconditions.
        unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) },
        opts.batches,
        opts.per_batch,
        opts.cpu
            .map(|c| format!(", pinned to CPU {c}"))
            .unwrap_or_default()
    );
    println!("# unit: ns per start+wait (guest instructions under -icount shift=0,sleep=off)");
    println!(
        "# parents: {}",
        opts.parents
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",")
    );
    if let Some(pre) = std::env::var_os("LD_PRELOAD") {
        println!(
            "# LD_PRELOAD={}: the posix_spawn methods go through it",
            pre.to_string_lossy()
        );
    }
    println!(
        "{:<20} {:<18} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "parent", "method", "median", "p25", "p75", "min", "max"
    );

    let mut results: Vec<(Parent, Method, f64)> = Vec::new();
    let mut failed = false;
    for &parent in &opts.parents {
        let mut methods = Vec::new();
        for &method in &opts.methods {
            if method.needs_pidfd_start() && !have_pidfd {
                println!(
                    "{:<20} {:<18} {:>12}",
                    parent.describe(),
                    method.name(),
                    "ENOSYS"
                );
                continue;
            }
            // fork of a large parent is orders of magnitude slower: fewer starts per batch.
            let per_batch =
                if method == Method::Fork && matches!(parent, Parent::Memory(m) if m >= 256) {
                    (opts.per_batch / 10).max(1)
                } else {
                    opts.per_batch
                };
            methods.push((method, per_batch));
        }
        let stats =
            match measure_in_new_process(&mut child, parent, opts.cpu, &methods, opts.batches) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!(
                        "spawnbench: cannot measure from the {} parent: {e}",
                        parent.describe()
                    );
                    failed = true;
                    continue;
                }
            };
        for (&(method, _), stat) in methods.iter().zip(stats) {
            match stat {
                Ok(s) => {
                    println!(
                        "{:<20} {:<18} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>12.0}",
                        parent.describe(),
                        method.name(),
                        s.median,
                        s.p25,
                        s.p75,
                        s.min,
                        s.max
                    );
                    results.push((parent, method, s.median));
                }
                Err(e) => {
                    eprintln!(
                        "spawnbench: {} with {}: {e}",
                        method.name(),
                        parent.describe()
                    );
                    failed = true;
                }
            }
        }
    }

    let get = |p: Parent, m: Method| {
        results
            .iter()
            .find(|(rp, rm, _)| *rp == p && *rm == m)
            .map(|r| r.2)
    };
    let mut ratios = String::new();
    if let Some(base) = get(Parent::Tiny, Method::PidfdStart) {
        for &method in &opts.methods {
            if method.needs_pidfd_start() || !method.is_start() {
                continue;
            }
            if let Some(other) = get(Parent::Tiny, method) {
                let _ = writeln!(
                    ratios,
                    "ratio pidfd_start / {} (tiny parent): {:.3}",
                    method.name(),
                    base / other
                );
            }
        }
        for (copy, fresh) in [
            (Method::PidfdCopy, Method::PidfdStart),
            (Method::PidfdCopyAttrs, Method::PidfdStartAttrs),
        ] {
            for &parent in &opts.parents {
                if let (Some(a), Some(b)) = (get(parent, copy), get(parent, fresh)) {
                    let _ = writeln!(
                        ratios,
                        "ratio {} / {} ({}): {:.3}",
                        copy.name(),
                        fresh.name(),
                        parent.describe(),
                        a / b
                    );
                }
            }
        }
        if let (Some(a), Some(b)) = (
            get(Parent::Tiny, Method::PidfdStartAttrs),
            get(Parent::Tiny, Method::PosixSpawnAttrs),
        ) {
            let _ = writeln!(
                ratios,
                "ratio pidfd_start+attrs / posix_spawn+attrs (tiny parent): {:.3}",
                a / b
            );
        }
        for &parent in &opts.parents {
            if parent == Parent::Tiny {
                continue;
            }
            if let Some(v) = get(parent, Method::PidfdStart) {
                let _ = writeln!(
                    ratios,
                    "ratio pidfd_start {} / tiny parent: {:.3}",
                    parent.describe(),
                    v / base
                );
            }
        }
    }
    // How every other method grows with the parent, and pidfd_start against each other start
    // from each parent.
    for &parent in opts.parents.iter().filter(|&&p| p != Parent::Tiny) {
        for &method in &opts.methods {
            if method == Method::PidfdStart {
                continue;
            }
            if let (Some(v), Some(t)) = (get(parent, method), get(Parent::Tiny, method)) {
                let _ = writeln!(
                    ratios,
                    "ratio {} {} / tiny parent: {:.3}",
                    method.name(),
                    parent.describe(),
                    v / t
                );
            }
            if !method.is_start() {
                continue;
            }
            if let (Some(p), Some(v)) = (get(parent, Method::PidfdStart), get(parent, method)) {
                let _ = writeln!(
                    ratios,
                    "ratio pidfd_start / {} ({}): {:.3}",
                    method.name(),
                    parent.describe(),
                    p / v
                );
            }
        }
    }
    if let (Some(task), Some(chain), Some(vfork)) = (
        get(Parent::Tiny, Method::TaskOnly),
        get(Parent::Tiny, Method::ExecChain),
        get(Parent::Tiny, Method::Vfork),
    ) {
        let exec = (chain - vfork) / CHAIN_EXECS as f64;
        let floor = task + exec;
        let _ = writeln!(
            ratios,
            "floor (tiny parent): {floor:.0} = task-only {task:.0} + one execve {exec:.0} \
             (exec-chain - vfork+exec, over {CHAIN_EXECS})"
        );
        for method in [
            Method::PidfdStart,
            Method::Vfork,
            Method::VforkPidfd,
            Method::PosixSpawn,
            Method::Fork,
        ] {
            if let Some(v) = get(Parent::Tiny, method) {
                let _ = writeln!(
                    ratios,
                    "ratio {} / floor (tiny parent): {:.3}",
                    method.name(),
                    v / floor
                );
            }
        }
    }
    print!("{ratios}");
    let _ = std::fs::remove_file(&path_str);
    if failed {
        process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 4.0);
        assert_eq!(percentile(&v, 0.5), 2.5);
        assert_eq!(percentile(&v, 0.25), 1.75);
        assert_eq!(percentile(&[7.0], 0.5), 7.0);
    }

    #[test]
    fn stats_sort_their_samples() {
        let s = Stats::of(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.p25, 2.0);
        assert_eq!(s.p75, 4.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
    }

    #[test]
    fn parents_and_methods_have_unique_names() {
        for p in Parent::DEFAULT.into_iter().chain([
            Parent::Memory(256),
            Parent::Memory(4096),
            Parent::Fds(100_000),
            Parent::Threads(512),
            Parent::Faulting(4),
        ]) {
            assert_eq!(Parent::parse(&p.name()), Some(p));
        }
        assert_eq!(Parent::parse("1g"), Some(Parent::Memory(1024)));
        assert_eq!(Parent::parse("mem:1024m"), Some(Parent::Memory(1024)));
        assert_eq!(Parent::name(Parent::Memory(1024)), "mem:1g");
        assert_eq!(Parent::describe(Parent::Fds(100_000)), "100,000 open fds");
        assert_eq!(Parent::describe(Parent::Memory(256)), "256 MiB touched");
        for bad in [
            "huge",
            "mem:",
            "mem:0m",
            "mem:4",
            "mem:-1g",
            "mem:65g",
            "fds:0",
            "fds:x",
            "threads:4097",
            "faulting:",
            "tiny:1",
            "fds:1048577",
        ] {
            assert!(Parent::parse(bad).is_none(), "{bad}");
        }
        let mut names: Vec<_> = Method::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Method::ALL.len());
    }

    /// Each kind of parent is what it says while it is up.
    #[test]
    fn parents_are_built_and_dropped() {
        let minflt = || {
            // SAFETY: An all-zero rusage is valid.
            let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
            // SAFETY: `ru` is a valid place for the result.
            assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
            ru.ru_minflt
        };
        let before = minflt();
        let Shape::Memory(p, len) = make_parent(Parent::Memory(8), None).unwrap() else {
            panic!("mem:8m is not memory");
        };
        assert_eq!(len, 8 << 20);
        // Every page was touched: at least one fault per page.
        assert!(minflt() - before >= (len / 4096) as libc::c_long);
        drop_parent(Shape::Memory(p, len));

        let shape = make_parent(Parent::Fds(300), None).unwrap();
        let Shape::Fds(fds) = &shape else {
            panic!("fds:300 is not descriptors");
        };
        assert_eq!(fds.len(), 300);
        let first = fds[0];
        // SAFETY: F_GETFD on a descriptor number has no other effect.
        assert!(unsafe { libc::fcntl(first, libc::F_GETFD) } >= 0);
        drop_parent(shape);

        let shape = make_parent(Parent::Faulting(2), None).unwrap();
        let Shape::Faulting(threads, _) = &shape else {
            panic!("faulting:2 is not threads");
        };
        assert_eq!(threads.len(), 2);
        // The threads keep faulting while the parent is up.
        let start = minflt();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while minflt() - start < 4 * (FAULTING_LEN / 4096) as libc::c_long {
            assert!(
                std::time::Instant::now() < deadline,
                "no faults from the threads"
            );
            thread::sleep(std::time::Duration::from_millis(10));
        }
        drop_parent(shape);

        let shape = make_parent(Parent::Threads(3), None).unwrap();
        let Shape::Threads(threads, _) = &shape else {
            panic!("threads:3 is not threads");
        };
        assert_eq!(threads.len(), 3);
        assert!(threads.iter().all(|t| !t.is_finished()));
        drop_parent(shape);
    }

    #[test]
    fn the_noop_child_is_a_static_elf() {
        assert_eq!(&NOOP[..4], b"\x7fELF");
        // ET_EXEC: linked static, no interpreter to load.
        assert_eq!(u16::from_le_bytes([NOOP[16], NOOP[17]]), 2);
    }

    /// The chain execs argv[0] once per character of its argument: here argv[0] is a script that
    /// counts its runs and execs the no-op child again under the script's own name.
    fn the_chain_execs_once_per_character() {
        use std::os::unix::process::CommandExt;
        let noop = install_noop().expect("write the no-op child");
        let noop = noop.to_str().unwrap().to_owned();
        let dir = std::env::temp_dir().join(format!("spawnbench-chain-{}", process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let script = dir.join("again");
        std::fs::write(
            &script,
            format!(
                "#!/bin/bash\necho run >>'{}'\nexec -a \"$0\" '{noop}' \"$@\"\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let run = |arg: &str| {
            let _ = std::fs::remove_file(&log);
            let status = process::Command::new(&noop)
                .arg0(&script)
                .arg(arg)
                .env_clear()
                .status()
                .unwrap();
            let runs = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .count();
            (status.code(), runs)
        };
        assert_eq!(run(""), (Some(0), 0));
        assert_eq!(run("xxx"), (Some(0), 3));
        // A chain that cannot exec its argv[0] says so.
        let status = process::Command::new(&noop)
            .arg0(dir.join("missing"))
            .arg("x")
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(127));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&noop);
    }

    /// The real methods, on the host kernel: each starts the no-op child and sees it exit 0.
    fn methods_start_the_child() {
        let mut child = Child::new(install_noop().expect("write the no-op child"));
        for m in [
            Method::Vfork,
            Method::VforkPidfd,
            Method::PosixSpawn,
            Method::PosixSpawnAttrs,
            Method::Fork,
            Method::TaskOnly,
            Method::ExecChain,
        ] {
            child.run(m).unwrap_or_else(|e| panic!("{}: {e}", m.name()));
        }
        let _ = std::fs::remove_file(child.path.to_str().unwrap());
    }

    /// A parent built and measured in a forked process: the numbers come back, one per method.
    fn a_parent_is_measured_in_its_own_process() {
        let mut child = Child::new(install_noop().expect("write the no-op child"));
        let methods = [(Method::Vfork, 3), (Method::PosixSpawn, 2)];
        let stats = measure_in_new_process(&mut child, Parent::Fds(200), None, &methods, 4)
            .expect("measure from fds:200");
        assert_eq!(stats.len(), methods.len());
        for (s, (m, _)) in stats.into_iter().zip(methods) {
            let s = s.unwrap_or_else(|e| panic!("{}: {e}", m.name()));
            assert!(
                s.min > 0.0 && s.min <= s.p25 && s.p25 <= s.median,
                "{}",
                m.name()
            );
            assert!(s.median <= s.p75 && s.p75 <= s.max, "{}", m.name());
        }
        let _ = std::fs::remove_file(child.path.to_str().unwrap());
    }

    /// One round of the mix by each method the host kernel has: every tool exits 0.
    fn the_mix_runs() {
        let mut mix = mix::Mix::new().expect("the mix's tools");
        for m in [Method::Vfork, Method::PosixSpawn, Method::Fork] {
            mix.round(m)
                .unwrap_or_else(|e| panic!("mix with {}: {e}", m.name()));
        }
    }

    /// Everything that starts children, one after the other: the mix reaps any child
    /// (`waitpid(-1)`), so it must not run beside a test that waits for its own.
    #[test]
    fn starts_on_the_host_kernel() {
        methods_start_the_child();
        a_parent_is_measured_in_its_own_process();
        the_chain_execs_once_per_character();
        the_mix_runs();
    }
}
