// SPDX-License-Identifier: GPL-2.0
//! The campaign's scratch directory: the programs it starts and the files its file actions open,
//! all inside one directory of its own, so that a random `O_CREAT | O_TRUNC` can only touch
//! files the campaign made.

use std::{
    ffi::CString,
    fs, io,
    os::unix::fs::{symlink, PermissionsExt},
    path::{Path, PathBuf},
};

/// A minimal static x86-64 ELF executable: `exit(0)`, nothing else. One `PT_LOAD` segment maps
/// the whole file at 0x400000; the code follows the two headers.
pub fn noop_elf() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    // mov $60, %eax; xor %edi, %edi; syscall
    const CODE: [u8; 9] = [0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05];
    let size = HEADERS + CODE.len() as u64;
    let mut f = Vec::with_capacity(size as usize);
    // ELF header: 64-bit, little endian, version 1, System V ABI.
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    f.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
                                              // Program header: PT_LOAD, read and execute, the whole file.
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&5u32.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    f.extend_from_slice(&size.to_le_bytes()); // p_filesz
    f.extend_from_slice(&size.to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    f.extend_from_slice(&CODE);
    f
}

/// The programs a campaign may name, relative to the scratch directory. Each one either runs
/// and exits 0 at once, or fails the exec.
pub const PROGRAMS: [&str; 8] = [
    "noop",
    "script",
    "link",
    "bad-interp",
    "not-exec",
    "garbage",
    "empty",
    "dir",
];

/// The programs of [`PROGRAMS`] whose exec succeeds.
pub const RUNNABLE: [&str; 3] = ["noop", "script", "link"];

/// The scratch directory; removed with everything in it when dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Makes `/tmp/spawnfuzz-PID-TAG` and the programs in it.
    pub fn new(tag: &str) -> io::Result<Self> {
        let dir = PathBuf::from(format!("/tmp/spawnfuzz-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Self::at(dir)
    }

    /// Makes the programs in `dir`, which may exist already (empty, or a file system just
    /// mounted there), and is removed with its contents when dropped (a mount point stays).
    pub fn at(dir: PathBuf) -> io::Result<Self> {
        match fs::create_dir(&dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        let s = Scratch { dir };
        s.write("noop", &noop_elf(), 0o755)?;
        let script = format!("#!{}\n", s.path("noop").display());
        s.write("script", script.as_bytes(), 0o755)?;
        symlink("noop", s.dir.join("link"))?;
        s.write("bad-interp", b"#!/nonexistent/interpreter\n", 0o755)?;
        s.write("not-exec", &noop_elf(), 0o644)?;
        s.write("garbage", b"\x7fELF but not really an executable\n", 0o755)?;
        s.write("empty", b"", 0o755)?;
        fs::create_dir(s.dir.join("dir"))?;
        fs::write(s.dir.join("dir/file"), b"data\n")?;
        fs::write(s.dir.join("data"), b"data\n")?;
        Ok(s)
    }

    fn write(&self, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        let p = self.dir.join(name);
        fs::write(&p, bytes)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The absolute path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The absolute path of `name` as a C string.
    pub fn cpath(&self, name: &str) -> CString {
        CString::new(self.path(name).into_os_string().into_encoded_bytes())
            .expect("no NUL in a scratch path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_noop_program_runs_and_exits_0() {
        let s = Scratch::new("unit-noop").unwrap();
        for name in RUNNABLE {
            let st = Command::new(s.path(name)).status().unwrap();
            assert_eq!(st.code(), Some(0), "{name}");
        }
    }

    #[test]
    fn the_other_programs_fail_their_exec() {
        let s = Scratch::new("unit-fail").unwrap();
        for name in PROGRAMS.iter().filter(|n| !RUNNABLE.contains(n)) {
            assert!(Command::new(s.path(name)).status().is_err(), "{name}");
        }
        let dir = s.dir().to_path_buf();
        drop(s);
        assert!(!dir.exists());
    }
}
