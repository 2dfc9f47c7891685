// SPDX-License-Identifier: GPL-2.0
//! Memory the campaign hands to the kernel: buffers that end at an inaccessible guard page (so
//! that a string or a structure can run into it), and addresses that are never accessible.
//!
//! Addresses that fault are taken from mappings kept `PROT_NONE` for the whole campaign, never
//! from memory that was unmapped: an unmapped range could be reused by the allocator, and the
//! kernel could then write a result into it.

use std::{io, ptr};

/// The size of a page on the machines this runs on.
pub const PAGE: usize = 4096;

/// A read-write range followed by a `PROT_NONE` guard page.
pub struct Arena {
    base: *mut u8,
    len: usize,
}

// SAFETY: The arena is plain memory that only its owner writes through `&mut self`.
unsafe impl Send for Arena {}

impl Arena {
    /// An arena of `pages` read-write pages and its guard page.
    pub fn new(pages: usize) -> io::Result<Self> {
        let len = pages * PAGE;
        // SAFETY: An anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len + PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base.cast::<u8>();
        // SAFETY: The last page is part of the mapping just made, which nothing else uses.
        if unsafe { libc::mprotect(base.add(len).cast(), PAGE, libc::PROT_NONE) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: As above: our own mapping, unused.
            unsafe { libc::munmap(base.cast(), len + PAGE) };
            return Err(e);
        }
        Ok(Arena { base, len })
    }

    /// The read-write bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no read-write bytes (never, for an arena made by [`Arena::new`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte of the guard page: any access there faults.
    pub fn guard(&self) -> *mut u8 {
        // SAFETY: The guard page is part of the mapping, just past the read-write bytes.
        unsafe { self.base.add(self.len) }
    }

    /// Copies `bytes` so that they end exactly at the guard page and returns where they start;
    /// a reader that goes one byte past them faults. `bytes` must fit.
    pub fn at_edge(&mut self, bytes: &[u8]) -> *mut u8 {
        assert!(bytes.len() <= self.len, "{} bytes do not fit", bytes.len());
        // SAFETY: The destination lies within the read-write bytes, which only `self` owns.
        unsafe {
            let dst = self.guard().sub(bytes.len());
            ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
            dst
        }
    }

    /// Copies `bytes` to the start of the arena and returns that address.
    pub fn at_start(&mut self, bytes: &[u8]) -> *mut u8 {
        assert!(bytes.len() <= self.len, "{} bytes do not fit", bytes.len());
        // SAFETY: As in `at_edge`.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), self.base, bytes.len());
            self.base
        }
    }

    /// The read-write bytes, for reading back what the kernel wrote.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: The read-write bytes are mapped for the arena's lifetime.
        unsafe { core::slice::from_raw_parts(self.base, self.len) }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: The mapping is ours and no reference into it outlives `self`.
        unsafe { libc::munmap(self.base.cast(), self.len + PAGE) };
    }
}

/// A kernel address, which no user pointer may name: the start of the x86-64 direct map, which
/// `access_ok()` refuses before any access.
pub const KERNEL_ADDRESS: usize = 0xffff_8880_0000_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_bytes_end_at_the_guard() {
        let mut a = Arena::new(2).unwrap();
        assert_eq!(a.len(), 2 * PAGE);
        assert!(!a.is_empty());
        let p = a.at_edge(b"abc");
        assert_eq!(p as usize + 3, a.guard() as usize);
        assert_eq!(&a.bytes()[2 * PAGE - 3..], b"abc");
        let q = a.at_start(b"xy");
        assert_eq!(&a.bytes()[..2], b"xy");
        assert_eq!(q as usize + 2 * PAGE, a.guard() as usize);
    }

    #[test]
    fn the_guard_page_faults_for_the_kernel() {
        let a = Arena::new(1).unwrap();
        // write() to a pipe reads from the guard page: EFAULT, not a crash. (/dev/null would
        // not read the buffer at all.)
        let mut p = [0; 2];
        // SAFETY: `p` has room for the two descriptors; the kernel checks the buffer.
        let ret = unsafe {
            assert_eq!(libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC), 0);
            let r = libc::write(p[1], a.guard().cast(), 1);
            libc::close(p[0]);
            libc::close(p[1]);
            r
        };
        assert_eq!(ret, -1);
        assert_eq!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::EFAULT)
        );
    }
}
