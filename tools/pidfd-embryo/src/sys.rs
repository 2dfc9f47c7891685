// SPDX-License-Identifier: MIT OR Apache-2.0
//! Raw wrappers of the series' syscalls, with the numbers and layouts of its UAPI header
//! (`include/uapi/linux/pidfd.h`). Each returns the kernel's answer as an [`io::Result`].
//!
//! # Examples
//!
//! A start with nothing but the raw calls: the program, its argv, its stdout.
//!
//! ```no_run
//! use pidfd_embryo::sys;
//! use std::os::fd::AsFd;
//! let embryo = sys::pidfd_open_empty(0)?;
//! let fd = embryo.as_fd();
//! sys::set_string(fd, c"path", c"/bin/echo")?;
//! sys::set_binary(fd, c"argv", &sys::pack(&["echo", "hello"])?)?;
//! sys::set_fd(fd, c"fd:1", std::io::stdout().as_fd())?;
//! let mut args = sys::StartArgs::default();
//! sys::pidfd_start(fd, &mut args)?;
//! // `embryo` is now the pidfd of process `args.pid`.
//! # Ok::<(), std::io::Error>(())
//! ```

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
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys::{self, ConfigCmd};
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// // SAFETY: A flag key takes no value.
/// unsafe { sys::pidfd_config_raw(embryo.as_fd(), ConfigCmd::SetFlag, c"setsid", std::ptr::null(), 0)? };
/// # Ok::<(), std::io::Error>(())
/// ```
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
    /// Appends a [`FileActionRaw`] of `aux` bytes; no key.
    AddFileAction = 6,
}

/// `enum pidfd_file_action_type`: the posix_spawn() file action a [`FileActionRaw`] holds.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys::{self, FileActionType};
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// // The child closes every descriptor from 3 up before its exec.
/// sys::add_file_action(embryo.as_fd(), FileActionType::CloseFrom, 3, 0, 0, 0, None)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum FileActionType {
    /// `addopen(fd, path, flags, mode)`.
    Open = 1,
    /// `addclose(fd)`.
    Close = 2,
    /// `adddup2(fd, newfd)`.
    Dup2 = 3,
    /// `addclosefrom_np(fd)`.
    CloseFrom = 4,
    /// `addchdir_np(path)`.
    Chdir = 5,
    /// `addfchdir_np(fd)`.
    Fchdir = 6,
    /// `addtcsetpgrp_np(fd)`.
    Tcsetpgrp = 7,
}

/// `struct pidfd_file_action`, `PIDFD_FILE_ACTION_SIZE_VER0` bytes. Fields an action does not
/// use must be zero; `path` points to a NUL-terminated string for `Open` and `Chdir`.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys::{self, FileActionRaw, FileActionType};
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// let path = c"/tmp";
/// let action = FileActionRaw {
///     action: FileActionType::Chdir as u32,
///     fd: 0,
///     newfd: 0,
///     mode: 0,
///     flags: 0,
///     path: path.as_ptr() as u64,
/// };
/// // SAFETY: `path` is NUL-terminated and outlives the call.
/// unsafe { sys::add_file_action_raw(embryo.as_fd(), &action)? };
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FileActionRaw {
    /// A [`FileActionType`] as `u32`.
    pub action: u32,
    /// The child's descriptor acted on (0 for `Chdir`).
    pub fd: i32,
    /// `Dup2`: the target descriptor.
    pub newfd: i32,
    /// `Open`: the mode of a created file.
    pub mode: u32,
    /// `Open`: open(2) flags.
    pub flags: u64,
    /// `Open`, `Chdir`: the address of the path.
    pub path: u64,
}

/// `PIDFD_FILE_ACTION_SIZE_VER0`.
pub const FILE_ACTION_SIZE_VER0: usize = 32;

/// `struct pidfd_start_args`, `PIDFD_START_ARGS_SIZE_VER0` bytes.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys::{self, StartArgs};
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// sys::set_string(embryo.as_fd(), c"path", c"/bin/true")?;
/// let mut args = StartArgs::default();
/// sys::pidfd_start(embryo.as_fd(), &mut args)?;
/// println!("started pid {}", args.pid);
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct StartArgs {
    /// Start flags: 0 or [`START_COPY`].
    pub flags: u64,
    /// Out: the pid of the started process, in the caller's pid namespace.
    pub pid: u64,
}

/// `PIDFD_START_ARGS_SIZE_VER0`.
pub const START_ARGS_SIZE_VER0: usize = 16;

/// `PIDFD_START_COPY`: start a copy of the embryo, leave the embryo unstarted.
pub const START_COPY: u64 = 1;

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
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys::{self, ConfigCmd};
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// let path = c"/bin/true";
/// // SAFETY: A string key's value is a NUL-terminated string.
/// unsafe {
///     sys::pidfd_config_raw(embryo.as_fd(), ConfigCmd::SetString, c"path", path.as_ptr().cast(), 0)?
/// };
/// # Ok::<(), std::io::Error>(())
/// ```
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
///
/// # Examples
/// ```no_run
/// use std::os::fd::AsFd;
/// let embryo = pidfd_embryo::sys::pidfd_open_empty(0)?;
/// pidfd_embryo::sys::set_flag(embryo.as_fd(), c"no-new-privs")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_flag(fd: BorrowedFd<'_>, key: &CStr) -> io::Result<()> {
    // SAFETY: A flag has no value.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetFlag, key, ptr::null(), 0) }
}

/// Sets a string key (`PIDFD_CONFIG_SET_STRING`).
///
/// # Examples
/// ```no_run
/// use std::os::fd::AsFd;
/// let embryo = pidfd_embryo::sys::pidfd_open_empty(0)?;
/// pidfd_embryo::sys::set_string(embryo.as_fd(), c"umask", c"0077")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_string(fd: BorrowedFd<'_>, key: &CStr, value: &CStr) -> io::Result<()> {
    // SAFETY: `value` is NUL-terminated.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetString, key, value.as_ptr().cast(), 0) }
}

/// Sets a blob key (`PIDFD_CONFIG_SET_BINARY`).
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys;
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// sys::set_binary(embryo.as_fd(), c"argv", &sys::pack(&["ls", "-l"])?)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_binary(fd: BorrowedFd<'_>, key: &CStr, value: &[u8]) -> io::Result<()> {
    let len = libc::c_int::try_from(value.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    // SAFETY: `value` has `len` readable bytes.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetBinary, key, value.as_ptr().cast(), len) }
}

/// Sets a path key (`PIDFD_CONFIG_SET_PATH`), resolved now relative to `dirfd` (or the cwd).
///
/// # Examples
/// ```no_run
/// use std::os::fd::AsFd;
/// let embryo = pidfd_embryo::sys::pidfd_open_empty(0)?;
/// // Resolved now, in the caller: the child starts in /tmp whatever happens to the name later.
/// pidfd_embryo::sys::set_path(embryo.as_fd(), c"cwd", c"/tmp", None)?;
/// # Ok::<(), std::io::Error>(())
/// ```
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
///
/// # Examples
/// ```no_run
/// use std::os::fd::AsFd;
/// let embryo = pidfd_embryo::sys::pidfd_open_empty(0)?;
/// let log = std::fs::File::create("/tmp/child.log")?;
/// // The child's fd 1 is this file; the caller may close its own descriptor right away.
/// pidfd_embryo::sys::set_fd(embryo.as_fd(), c"fd:1", log.as_fd())?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_fd(fd: BorrowedFd<'_>, key: &CStr, file: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: SET_FD has no value.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetFd, key, ptr::null(), file.as_raw_fd()) }
}

/// Sets a file key from a descriptor number that may not be open (a C caller's `int`): the
/// kernel answers `EBADF` for one that is not.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use std::os::fd::AsFd;
/// let embryo = pidfd_embryo::sys::pidfd_open_empty(0)?;
/// let err = pidfd_embryo::sys::set_fd_number(embryo.as_fd(), c"cgroup", -1).unwrap_err();
/// assert_eq!(err.raw_os_error(), Some(libc::EBADF));
/// # Ok(())
/// # }
/// ```
pub fn set_fd_number(fd: BorrowedFd<'_>, key: &CStr, file: RawFd) -> io::Result<()> {
    // SAFETY: SET_FD has no value; the kernel checks the number.
    unsafe { pidfd_config_raw(fd, ConfigCmd::SetFd, key, ptr::null(), file) }
}

/// Appends a file action (`PIDFD_CONFIG_ADD_FILE_ACTION`).
///
/// # Safety
///
/// `action.path` must be 0 or the address of a NUL-terminated string valid for the call.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys::{self, FileActionRaw, FileActionType};
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// let dup = FileActionRaw {
///     action: FileActionType::Dup2 as u32,
///     fd: 1,
///     newfd: 2,
///     mode: 0,
///     flags: 0,
///     path: 0,
/// };
/// // SAFETY: A dup2 action has no path.
/// unsafe { sys::add_file_action_raw(embryo.as_fd(), &dup)? };
/// # Ok::<(), std::io::Error>(())
/// ```
pub unsafe fn add_file_action_raw(fd: BorrowedFd<'_>, action: &FileActionRaw) -> io::Result<()> {
    // SAFETY: `action` is a valid struct of the size given; the caller vouches for its path.
    let ret = unsafe {
        libc::syscall(
            SYS_PIDFD_CONFIG,
            fd.as_raw_fd(),
            ConfigCmd::AddFileAction as libc::c_uint,
            ptr::null::<libc::c_char>(),
            action as *const FileActionRaw,
            FILE_ACTION_SIZE_VER0 as libc::c_int,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Appends a file action whose path, if any, is `path` (`PIDFD_CONFIG_ADD_FILE_ACTION`).
///
/// # Examples
///
/// ```no_run
/// use pidfd_embryo::sys::{add_file_action, pidfd_open_empty, FileActionType};
/// use std::os::fd::AsFd;
/// let embryo = pidfd_open_empty(0)?;
/// add_file_action(embryo.as_fd(), FileActionType::Close, 3, 0, 0, 0, None)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn add_file_action(
    fd: BorrowedFd<'_>,
    action: FileActionType,
    afd: i32,
    newfd: i32,
    flags: u64,
    mode: u32,
    path: Option<&CStr>,
) -> io::Result<()> {
    let raw = FileActionRaw {
        action: action as u32,
        fd: afd,
        newfd,
        mode,
        flags,
        path: path.map_or(0, |p| p.as_ptr() as u64),
    };
    // SAFETY: `path` is NUL-terminated and borrowed for the call.
    unsafe { add_file_action_raw(fd, &raw) }
}

/// One raw `pidfd_start(fd, args, sizeof(*args))` call: its non-negative return value.
fn pidfd_start_raw(fd: BorrowedFd<'_>, args: &mut StartArgs) -> io::Result<libc::c_long> {
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
        Ok(ret)
    }
}

/// `pidfd_start(fd, args, sizeof(*args))`: starts the embryo in place.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys;
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// sys::set_string(embryo.as_fd(), c"path", c"/no/such/program")?;
/// let err = sys::pidfd_start(embryo.as_fd(), &mut sys::StartArgs::default()).unwrap_err();
/// assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
/// println!("{:?}", sys::read_log(embryo.as_fd())?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pidfd_start(fd: BorrowedFd<'_>, args: &mut StartArgs) -> io::Result<()> {
    pidfd_start_raw(fd, args).map(|_| ())
}

/// `pidfd_start(fd, args, sizeof(*args))` with [`START_COPY`] in `args.flags`: starts a copy of
/// the embryo and returns a pidfd of the new process; the embryo stays unstarted.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys;
/// use std::os::fd::AsFd;
/// let template = sys::pidfd_open_empty(0)?;
/// sys::set_string(template.as_fd(), c"path", c"/bin/true")?;
/// let mut args = sys::StartArgs { flags: sys::START_COPY, pid: 0 };
/// let pidfd = sys::pidfd_start_copy(template.as_fd(), &mut args)?;
/// // `template` is still an embryo, ready for the next copy.
/// # drop(pidfd);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pidfd_start_copy(fd: BorrowedFd<'_>, args: &mut StartArgs) -> io::Result<OwnedFd> {
    let ret = pidfd_start_raw(fd, args)?;
    // SAFETY: With PIDFD_START_COPY the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// Reads the oldest message of an embryo's log (read(2) on the embryo fd); `None` when empty.
///
/// # Examples
/// ```no_run
/// use pidfd_embryo::sys;
/// use std::os::fd::AsFd;
/// let embryo = sys::pidfd_open_empty(0)?;
/// assert!(sys::set_flag(embryo.as_fd(), c"no-such-key").is_err());
/// // Names the key and the reason.
/// println!("{}", sys::read_log(embryo.as_fd())?.unwrap_or_default());
/// # Ok::<(), std::io::Error>(())
/// ```
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
///
/// # Examples
/// ```
/// if !pidfd_embryo::sys::supported() {
///     println!("no pidfd_config() here: Command falls back to posix_spawn()");
/// }
/// ```
pub fn supported() -> bool {
    // SAFETY: A call on fd -1 reads no memory.
    let ret =
        unsafe { libc::syscall(SYS_PIDFD_CONFIG, -1, 0, c"x".as_ptr(), ptr::null::<u8>(), 0) };
    ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

/// Packs strings into the blob format of `argv` and `envp`: each string followed by a NUL.
/// Fails with `EINVAL` if a string contains a NUL.
///
/// # Examples
/// ```
/// assert_eq!(pidfd_embryo::sys::pack(&["a", "bc"])?, b"a\0bc\0");
/// # Ok::<(), std::io::Error>(())
/// ```
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
    fn file_action_layout() {
        assert_eq!(core::mem::size_of::<FileActionRaw>(), FILE_ACTION_SIZE_VER0);
        assert_eq!(core::mem::offset_of!(FileActionRaw, flags), 16);
        assert_eq!(core::mem::offset_of!(FileActionRaw, path), 24);
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
