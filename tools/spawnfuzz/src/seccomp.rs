// SPDX-License-Identifier: GPL-2.0
//! Seccomp filters for the sub-workers that check `pidfd_start()` against them: a start runs in
//! the kernel, so `pidfd_start()` asks the caller's filters about the `clone()`, `execve()` and
//! `execveat()` it stands for, in that order, and must fail with the errno of the first
//! `SECCOMP_RET_ERRNO` (`EPERM` for an errno of 0) or `EPERM` for any action other than `ALLOW`
//! and `LOG`, killing and trapping nothing.
//!
//! A filter answers one action to `execve()`, another to one other syscall, and allows the rest.

use crate::rng::Rng;
use std::io;

/// `AUDIT_ARCH_X86_64`: `EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `__NR_execve` on x86-64.
pub const NR_EXECVE: u32 = 59;
/// `__NR_execveat` on x86-64, which a start stands for too (a held program is exec'd so).
pub const NR_EXECVEAT: u32 = 322;
/// `__NR_clone` on x86-64: a start creates a process.
pub const NR_CLONE: u32 = 56;
/// `__NR_uname` on x86-64, which a sub-worker never calls.
pub const NR_UNAME: u32 = 63;

/// `SECCOMP_RET_ACTION_FULL`: the action part of a filter's return value.
const ACTION_FULL: u32 = 0xffff_0000;
/// `SECCOMP_RET_DATA`.
const DATA: u32 = 0x0000_ffff;

/// One filter: what it answers to `execve()`, and to `other_nr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    /// The return value for `execve()`.
    pub execve: u32,
    /// Another syscall the filter answers for.
    pub other_nr: u32,
    /// The return value for `other_nr`.
    pub other: u32,
}

/// A random filter: mostly `SECCOMP_RET_ERRNO` with a plausible or random errno (or 0), else
/// each other action, allowing ones included.
pub fn draw(r: &mut Rng) -> Filter {
    let execve = match r.below(14) {
        0..=5 => {
            let any = 1 + r.below(133) as u32;
            let e = *r.pick(&[
                libc::EPERM as u32,
                libc::EACCES as u32,
                libc::ENOENT as u32,
                libc::E2BIG as u32,
                0,
                any,
            ]);
            libc::SECCOMP_RET_ERRNO | e
        }
        6 => libc::SECCOMP_RET_KILL_PROCESS,
        7 => libc::SECCOMP_RET_KILL_THREAD,
        8 => libc::SECCOMP_RET_TRAP | r.below(4) as u32,
        9 => libc::SECCOMP_RET_TRACE | r.below(4) as u32,
        10 => libc::SECCOMP_RET_USER_NOTIF,
        11 => libc::SECCOMP_RET_LOG,
        _ => libc::SECCOMP_RET_ALLOW,
    };
    let other_nr = *r.pick(&[NR_EXECVEAT, NR_UNAME]);
    let other = *r.pick(&[
        libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        libc::SECCOMP_RET_KILL_PROCESS,
        libc::SECCOMP_RET_TRAP,
    ]);
    Filter {
        execve,
        other_nr,
        other,
    }
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// The classic BPF program of `f`: other architectures (x32 included) are allowed.
pub fn program(f: &Filter) -> Vec<libc::sock_filter> {
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    vec![
        // struct seccomp_data: nr at 0, arch at 4.
        stmt(load, 4),
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(load, 0),
        jeq(NR_EXECVE, 0, 1),
        stmt(ret, f.execve),
        jeq(f.other_nr, 0, 1),
        stmt(ret, f.other),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Sets `no_new_privs` and installs `f` on the calling thread (the sub-workers have no other).
pub fn install(f: &Filter) -> Result<(), i32> {
    let prog = program(f);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: prctl() with integer arguments; seccomp() reads `fprog` and the program it points
    // to, both alive for the call.
    let ret = unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            -1
        } else {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog,
            )
        }
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// The action part of a return value as seccomp orders them: the lowest (as a signed number)
/// wins, `KILL_PROCESS` first, `ALLOW` last.
fn precedence(ret: u32) -> i32 {
    (ret & ACTION_FULL) as i32
}

/// What one filter returns for syscall `nr`.
fn answer(f: &Filter, nr: u32) -> u32 {
    if nr == NR_EXECVE {
        f.execve
    } else if nr == f.other_nr {
        f.other
    } else {
        libc::SECCOMP_RET_ALLOW
    }
}

/// What the filters, installed in the order given, return for syscall `nr`: the first of the
/// newest to the oldest with the action of highest precedence, as `seccomp_run_filters()`.
pub fn verdict_for(filters: &[Filter], nr: u32) -> u32 {
    let mut ret = libc::SECCOMP_RET_ALLOW;
    for f in filters.iter().rev() {
        let a = answer(f, nr);
        if precedence(a) < precedence(ret) {
            ret = a;
        }
    }
    ret
}

/// What the filters return for `execve()`.
pub fn verdict(filters: &[Filter]) -> u32 {
    verdict_for(filters, NR_EXECVE)
}

/// What `pidfd_start()` makes of one verdict: `Ok` for `ALLOW` and `LOG`, the errno of `ERRNO`
/// (`EPERM` for 0), `EPERM` for the rest.
fn result_of(v: u32) -> Result<(), i32> {
    match v & ACTION_FULL {
        libc::SECCOMP_RET_ALLOW | libc::SECCOMP_RET_LOG => Ok(()),
        libc::SECCOMP_RET_ERRNO if v & DATA != 0 => Err((v & DATA) as i32),
        _ => Err(libc::EPERM),
    }
}

/// What `pidfd_start()` must answer under `filters`: the first refusal among `clone()`,
/// `execve()` and `execveat()`, or `Ok`.
pub fn start_result(filters: &[Filter]) -> Result<(), i32> {
    for nr in [NR_CLONE, NR_EXECVE, NR_EXECVEAT] {
        result_of(verdict_for(filters, nr))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(execve: u32) -> Filter {
        Filter {
            execve,
            other_nr: NR_UNAME,
            other: libc::SECCOMP_RET_KILL_PROCESS,
        }
    }

    #[test]
    fn verdicts_follow_seccomp_precedence() {
        let errno = |e: i32| libc::SECCOMP_RET_ERRNO | e as u32;
        assert_eq!(start_result(&[]), Ok(()));
        assert_eq!(start_result(&[f(errno(libc::EACCES))]), Err(libc::EACCES));
        assert_eq!(start_result(&[f(errno(0))]), Err(libc::EPERM));
        assert_eq!(start_result(&[f(libc::SECCOMP_RET_LOG)]), Ok(()));
        for kill in [
            libc::SECCOMP_RET_KILL_PROCESS,
            libc::SECCOMP_RET_KILL_THREAD,
            libc::SECCOMP_RET_TRAP,
            libc::SECCOMP_RET_TRACE,
            libc::SECCOMP_RET_USER_NOTIF,
        ] {
            assert_eq!(start_result(&[f(kill)]), Err(libc::EPERM), "{kill:#x}");
        }
        // Two ERRNO filters: the newer one's errno.
        assert_eq!(
            start_result(&[f(errno(libc::ENOENT)), f(errno(libc::EACCES))]),
            Err(libc::EACCES)
        );
        // ERRNO beats TRACE and LOG whichever is newer; KILL_THREAD beats ERRNO.
        assert_eq!(
            start_result(&[f(errno(5)), f(libc::SECCOMP_RET_TRACE)]),
            Err(5)
        );
        assert_eq!(
            verdict(&[f(errno(5)), f(libc::SECCOMP_RET_KILL_THREAD)]),
            libc::SECCOMP_RET_KILL_THREAD
        );
        assert_eq!(
            verdict(&[
                f(libc::SECCOMP_RET_KILL_THREAD),
                f(libc::SECCOMP_RET_KILL_PROCESS)
            ]),
            libc::SECCOMP_RET_KILL_PROCESS
        );
    }

    /// In a forked child: the filter answers a real execve() with its errno, and allows others.
    #[test]
    fn the_filter_answers_execve() {
        let filter = Filter {
            execve: libc::SECCOMP_RET_ERRNO | libc::ENOTTY as u32,
            other_nr: NR_UNAME,
            other: libc::SECCOMP_RET_ERRNO | libc::EXDEV as u32,
        };
        // SAFETY: The child makes only raw syscalls and leaves with _exit().
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = (|| {
                if install(&filter).is_err() {
                    return 125;
                }
                let argv = [c"true".as_ptr(), std::ptr::null()];
                // SAFETY: A NUL-terminated path and argv; envp may be NULL on Linux.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_execve,
                        c"/bin/true".as_ptr(),
                        argv.as_ptr(),
                        std::ptr::null::<*const libc::c_char>(),
                    )
                };
                if r != -1 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOTTY) {
                    return 2;
                }
                // SAFETY: An all-zero utsname is a valid buffer.
                let mut u: libc::utsname = unsafe { std::mem::zeroed() };
                // SAFETY: `u` is a valid buffer.
                let r = unsafe { libc::syscall(libc::SYS_uname, &mut u as *mut libc::utsname) };
                if r != -1 || io::Error::last_os_error().raw_os_error() != Some(libc::EXDEV) {
                    return 3;
                }
                // SAFETY: getppid() reads no memory.
                if unsafe { libc::getppid() } <= 0 {
                    return 4;
                }
                0
            })();
            // SAFETY: Leaves the forked child at once.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: Our child; `status` is valid.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        if libc::WEXITSTATUS(status) == 125 {
            println!("no seccomp filters here: nothing to check");
            return;
        }
        assert_eq!(libc::WEXITSTATUS(status), 0, "failed at step");
    }

    #[test]
    fn drawn_filters_cover_each_answer() {
        let mut r = Rng::new(4);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            seen.insert(start_result(&[draw(&mut r)]).err().unwrap_or(0));
        }
        for e in [0, libc::EPERM, libc::EACCES, libc::ENOENT, libc::E2BIG] {
            assert!(seen.contains(&e), "{seen:?}");
        }
    }
}
