// SPDX-License-Identifier: GPL-2.0
//! Descriptors passed over unix sockets with `SCM_RIGHTS`, and the io_uring instance that
//! `SCM_RIGHTS` and the embryo keys refuse as they refuse an unstarted embryo.
//!
//! Every call is non-blocking: a campaign's socket pairs are its own and short-lived, and a
//! send that would block is an error to report, not a wait.

use std::{io, mem, os::fd::RawFd, ptr};

/// The most descriptors one message carries here.
pub const MAX_FDS: usize = 4;

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A close-on-exec pair of connected unix sockets of type `ty` (`SOCK_STREAM`, `SOCK_DGRAM`
/// or `SOCK_SEQPACKET`).
pub fn socketpair(ty: libc::c_int) -> Result<[RawFd; 2], i32> {
    let mut sk = [-1; 2];
    // SAFETY: `sk` has room for the two descriptors.
    let ret =
        unsafe { libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, sk.as_mut_ptr()) };
    if ret == 0 {
        Ok(sk)
    } else {
        Err(errno())
    }
}

/// Control-message space for `n` descriptors, as `u64`s so that it is aligned for `cmsghdr`.
fn control_buffer(n: usize) -> (Vec<u64>, usize) {
    // SAFETY: CMSG_SPACE() only computes a size.
    let space = unsafe { libc::CMSG_SPACE((n * mem::size_of::<RawFd>()) as u32) } as usize;
    (vec![0u64; space.div_ceil(8)], space)
}

/// Sends one byte with `fds` (1 to [`MAX_FDS`]) in one `SCM_RIGHTS` message on `sock`: the bytes
/// sent, or the errno.
pub fn send_fds(sock: RawFd, fds: &[RawFd]) -> Result<usize, i32> {
    assert!(!fds.is_empty() && fds.len() <= MAX_FDS, "{} fds", fds.len());
    let mut byte = b'x';
    let mut iov = libc::iovec {
        iov_base: ptr::addr_of_mut!(byte).cast(),
        iov_len: 1,
    };
    let (mut cbuf, space) = control_buffer(fds.len());
    // SAFETY: An all-zero msghdr is valid (no name, no buffers).
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: The control buffer has CMSG_SPACE() bytes for `fds.len()` descriptors, so the first
    // header and its data fit in it; `fds` is read, the buffer written.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        assert!(!cmsg.is_null());
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of_val(fds) as u32) as _;
        ptr::copy_nonoverlapping(
            fds.as_ptr(),
            libc::CMSG_DATA(cmsg).cast::<RawFd>(),
            fds.len(),
        );
    }
    // SAFETY: `msg` and everything it points to live until the call returns.
    let ret = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret as usize)
    }
}

/// Receives one message from `sock` without blocking: the bytes it had and the descriptors it
/// carried, close-on-exec, which are the caller's to close. `EAGAIN` when nothing is queued.
pub fn recv_fds(sock: RawFd) -> Result<(usize, Vec<RawFd>), i32> {
    let mut buf = [0u8; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let (mut cbuf, space) = control_buffer(MAX_FDS);
    // SAFETY: An all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` points to buffers of the sizes it gives, which live for the call.
    let ret = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if ret < 0 {
        return Err(errno());
    }
    let mut fds = Vec::new();
    // SAFETY: The kernel filled in `msg_controllen` bytes of headers in the buffer; the macros
    // walk them within that length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let p = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..data / mem::size_of::<RawFd>() {
                    fds.push(ptr::read_unaligned(p.add(i)));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((ret as usize, fds))
}

/// An io_uring instance with one entry, or the errno (`ENOSYS` without io_uring, `EPERM` when
/// `kernel.io_uring_disabled` says so). The rings are not mapped: only the file is wanted.
pub fn io_uring() -> Result<RawFd, i32> {
    // struct io_uring_params: 120 bytes, all zero for the defaults.
    let mut params = [0u64; 15];
    // SAFETY: `params` is a zeroed struct io_uring_params, which the kernel reads and fills in.
    let ret = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret as RawFd)
    }
}

/// Closes `fd`; whether that worked.
pub fn close(fd: RawFd) -> bool {
    // SAFETY: The caller owns `fd` and does not use it again.
    unsafe { libc::close(fd) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_goes_across_and_works() {
        for ty in [libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_SEQPACKET] {
            let sk = socketpair(ty).unwrap();
            assert_eq!(recv_fds(sk[1]), Err(libc::EAGAIN));
            let mut p = [0; 2];
            // SAFETY: `p` has room for two descriptors.
            assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
            assert_eq!(send_fds(sk[0], &[p[1], p[1]]), Ok(1));
            let (n, got) = recv_fds(sk[1]).unwrap();
            assert_eq!((n, got.len()), (1, 2), "type {ty}");
            // The received copy writes into the pipe.
            // SAFETY: A descriptor just received, one byte of ours.
            assert_eq!(unsafe { libc::write(got[0], b"z".as_ptr().cast(), 1) }, 1);
            let mut c = 0u8;
            // SAFETY: One byte into `c`.
            let n = unsafe { libc::read(p[0], ptr::addr_of_mut!(c).cast(), 1) };
            assert_eq!(n, 1);
            assert_eq!(c, b'z');
            // SAFETY: fcntl() reads no memory.
            let flags = unsafe { libc::fcntl(got[1], libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
            for fd in got.into_iter().chain(p).chain(sk) {
                assert!(close(fd));
            }
        }
    }

    #[test]
    fn a_bad_descriptor_is_ebadf_and_sends_nothing() {
        let sk = socketpair(libc::SOCK_STREAM).unwrap();
        assert_eq!(send_fds(sk[0], &[99_999]), Err(libc::EBADF));
        assert_eq!(recv_fds(sk[1]), Err(libc::EAGAIN));
        assert!(close(sk[0]) && close(sk[1]));
    }
}
