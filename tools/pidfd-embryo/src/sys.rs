// SPDX-License-Identifier: GPL-2.0
//! Raw wrappers of the series' syscalls, with the numbers and layouts of its UAPI header
//! (`include/uapi/linux/pidfd.h`). Each returns the kernel's answer as an [`io::Result`].

use std::{
    ffi::CStr,
    io,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
    ptr,
};

/// `__NR_pidfd_open` on x86-64 and in the generic table.
pub const SYS_PIDFD_OPEN: libc::c_long = 434;
/// `__NR_pidfd_config` on x86-64 and in the generic table.
pub const SYS_PIDFD_CONFIG: libc::c_long = 473;
/// `__NR_pidfd_start` on x86-64 and in the generic table.
pub const SYS_PIDFD_START: libc::c_long = 474;

/// `PIDFD_EMPTY`: `pidfd_open(0, PIDFD_EMPTY)` creates an embryo.
pub const PIDFD_EMPTY: libc::c_uint = libc::O_CREAT as libc::c_uint;

/// `enum pidfd_config_command`: the shape of one `pidfd_config()` call, as for `fsconfig()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ConfigCmd {
    /// A flag key: no value, `aux` 0.
    SetFlag = 0,
    /// A NUL-terminated string value, `aux` 0.
    SetString = 1,
    /// A blob of `aux` bytes.
    SetBinary = 2,
    /// A path, resolved now relative to the directory fd `aux`.
    SetPath = 3,
    /// The same; an empty path names `aux` itself.
    SetPathEmpty = 4,
    /// The file of descriptor `aux`, captured now; no value.
    SetFd = 5,
}

/// `struct pidfd_start_args`, `PIDFD_START_ARGS_SIZE_VER0` bytes.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct StartArgs {
    /// Start flags; none is defined yet.
    pub flags: u64,
    /// Out: the pid of the started process, in the caller's pid namespace.
    pub pid: u64,
}

/// `PIDFD_START_ARGS_SIZE_VER0`.
pub const START_ARGS_SIZE_VER0: usize = 16;

/// `pidfd_open(0, PIDFD_EMPTY | flags)`: a new embryo.
///
/// # Examples
///
/// ```no_run
/// let embryo = pidfd_embryo::sys::pidfd_open_empty(0)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pidfd_open_empty(flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open() takes a pid and flags and reads no memory.
    let fd = unsafe { libc::syscall(SYS_PIDFD_OPEN, 0, PIDFD_EMPTY | flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: The kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// One raw `pidfd_config(fd, cmd, key, value, aux)` call.
///
/// # Safety
///
/// `value` must be NULL or point to memory the kernel may read as `cmd` says: a NUL-terminated
/// string for `SetString`, `SetPath` and `SetPathEmpty`, `aux` bytes for `SetBinary`.
pub unsafe fn pidfd_config_raw(
    fd: BorrowedFd<'_>,
    cmd: ConfigCmd,
    key: &CStr,
    value: *const libc::c_void,
    aux: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `key` is NUL-terminated; the caller vouches for `value` and `aux`.
    let ret = unsafe {
        libc::syscall(
            SYS_PIDFD_CONFIG,
            fd.as_raw_fd(),
            cmd as libc::c_uint,
            key.as_ptr(),
            value,
            aux,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Sets a flag key (`PIDFD_CONFIG_SET_FLAG`).
pub fn set_flag(fd: BorrowedFd<'_>, key: &CStr) -> io::Result<()> {
    // SAFETY: A flag has no value.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetFlag, key, ptr::null(), 0) }
}

/// Sets a string key (`PIDFD_CONFIG_SET_STRING`).
pub fn set_string(fd: BorrowedFd<'_>, key: &CStr, value: &CStr) -> io::Result<()> {
    // SAFETY: `value` is NUL-terminated.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetString, key, value.as_ptr().cast(), 0) }
}

/// Sets a blob key (`PIDFD_CONFIG_SET_BINARY`).
pub fn set_binary(fd: BorrowedFd<'_>, key: &CStr, value: &[u8]) -> io::Result<()> {
    let len = libc::c_int::try_from(value.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    // SAFETY: `value` has `len` readable bytes.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetBinary, key, value.as_ptr().cast(), len) }
}

/// Sets a path key (`PIDFD_CONFIG_SET_PATH`), resolved now relative to `dirfd` (or the cwd).
pub fn set_path(
    fd: BorrowedFd<'_>,
    key: &CStr,
    path: &CStr,
    dirfd: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let aux = dirfd.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `path` is NUL-terminated.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetPath, key, path.as_ptr().cast(), aux) }
}

/// Sets a file key (`PIDFD_CONFIG_SET_FD`): the file of `file` is captured now.
pub fn set_fd(fd: BorrowedFd<'_>, key: &CStr, file: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: SET_FD has no value.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetFd, key, ptr::null(), file.as_raw_fd()) }
}

/// `pidfd_start(fd, args, sizeof(*args))`: starts the embryo in place.
pub fn pidfd_start(fd: BorrowedFd<'_>, args: &mut StartArgs) -> io::Result<()> {
    // SAFETY: `args` is a valid, writable struct pidfd_start_args of the size given.
    let ret = unsafe {
        libc::syscall(
            SYS_PIDFD_START,
            fd.as_raw_fd(),
            args as *mut StartArgs,
            core::mem::size_of::<StartArgs>(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Reads the oldest message of an embryo's log (read(2) on the embryo fd); `None` when empty.
pub fn read_log(fd: BorrowedFd<'_>) -> io::Result<Option<String>> {
    let mut buf = vec![0u8; 4096 + 512];
    // SAFETY: `buf` has `buf.len()` writable bytes.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ENODATA) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    buf.truncate(n as usize);
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Whether the running kernel has `pidfd_config()`: a call on fd -1 fails with EBADF there and
/// with ENOSYS elsewhere.
pub fn supported() -> bool {
    // SAFETY: A call on fd -1 reads no memory.
    let ret =
        unsafe { libc::syscall(SYS_PIDFD_CONFIG, -1, 0, c"x".as_ptr(), ptr::null::<u8>(), 0) };
    ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

/// Packs strings into the blob format of `argv` and `envp`: each string followed by a NUL.
/// Fails with `EINVAL` if a string contains a NUL.
pub fn pack<S: AsRef<[u8]>>(strings: &[S]) -> io::Result<Vec<u8>> {
    let mut blob = Vec::new();
    for s in strings {
        let s = s.as_ref();
        if s.contains(&0) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        blob.extend_from_slice(s);
        blob.push(0);
    }
    Ok(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_args_layout() {
        assert_eq!(core::mem::size_of::<StartArgs>(), START_ARGS_SIZE_VER0);
        assert_eq!(core::mem::align_of::<StartArgs>(), 8);
    }

    #[test]
    fn packing() {
        assert_eq!(pack(&["a", "", "bc"]).unwrap(), b"a\0\0bc\0");
        assert!(pack::<&str>(&[]).unwrap().is_empty());
        assert_eq!(
            pack(&[b"x\0y"]).unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
    }
}
