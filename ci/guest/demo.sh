#!/bin/bash
# Runs inside the guest for 'make run': shows the kernel and the feature.
echo "demo: kernel $(uname -r) on $(nproc) CPUs, init is $(cat /proc/1/comm)"
python3 - <<'PY'
import ctypes, errno, os

libc = ctypes.CDLL(None, use_errno=True)
NR_pidfd_config, NR_pidfd_start = 473, 474
PIDFD_EMPTY = os.O_CREAT
SET_FLAG, SET_STRING, SET_BINARY, SET_PATH, SET_PATH_EMPTY, SET_FD = range(6)

class StartArgs(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("pid", ctypes.c_uint64)]

def config(fd, cmd, key, value, aux):
    if libc.syscall(NR_pidfd_config, fd, cmd, key, value, aux) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def start(fd):
    args = StartArgs()
    if libc.syscall(NR_pidfd_start, fd, ctypes.byref(args), ctypes.sizeof(args)) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return args.pid

def log(fd):
    try:
        return os.read(fd, 4096).decode()
    except OSError:
        return ""

try:
    fd = os.pidfd_open(0, PIDFD_EMPTY)
except OSError as e:
    print(f"demo: pidfd_open(0, PIDFD_EMPTY) failed: {errno.errorcode[e.errno]}")
    raise SystemExit(0)
info = dict(l.split(":", 1) for l in open(f"/proc/self/fdinfo/{fd}").read().splitlines())
print(f"demo: pidfd_open(0, PIDFD_EMPTY) = fd {fd}, an embryo holding pid {info['Embryo'].strip()}")

r, w = os.pipe()
argv = b"echo\0hello from a process that was never forked\0"
config(fd, SET_STRING, b"path", b"/bin/echo", 0)
config(fd, SET_BINARY, b"argv", argv, len(argv))
config(fd, SET_FD, b"fd:1", None, w)
pid = start(fd)
os.close(w)
print(f"demo: pidfd_start() = 0: pid {pid}, fd {fd} is now its pidfd")
print(f"demo:   the child wrote: {os.read(r, 4096).decode().strip()!r}")
st = os.waitid(os.P_PIDFD, fd, os.WEXITED)
print(f"demo:   waitid(P_PIDFD) -> exit status {st.si_status}")
os.close(fd)

fd = os.pidfd_open(0, PIDFD_EMPTY)
config(fd, SET_STRING, b"path", b"/no/such/tool", 0)
try:
    start(fd)
except OSError as e:
    print(f"demo: a missing program: pidfd_start() failed with {errno.errorcode[e.errno]}, synchronously")
    print(f"demo:   the log says: {log(fd)}")
try:
    config(fd, SET_FLAG, b"no-such-key", None, 0)
except OSError as e:
    print(f"demo: an unknown key: {errno.errorcode[e.errno]}; log: {log(fd)}")
os.close(fd)
PY

# The Rust crate over the same syscalls (tools/pidfd-embryo/examples/demo.rs).
demo_bin=$(dirname "$0")/../../tools/target/release/examples/demo
if [ -x "$demo_bin" ]; then
	"$demo_bin"
fi

# An unmodified program: Python's os.posix_spawn() under LD_PRELOAD of
# libpidfdspawn.so (tools/pidfdspawn), which starts embryos.
lib=$(dirname "$0")/../../tools/target/release/libpidfdspawn.so
if [ -f "$lib" ]; then
	LD_PRELOAD=$(realpath "$lib") python3 - <<'PY'
import ctypes, os
r, w = os.pipe()
pid = os.posix_spawn("/bin/sh", ["sh", "-c", "echo \"pid $$, fds: $(ls /proc/self/fd | tr '\\n' ' ')\""],
                     os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, w)],
                     setsid=True)
os.close(w)
out = os.read(r, 4096).decode().strip()
_, status = os.waitpid(pid, 0)
embryo, fallback = ctypes.c_uint64(), ctypes.c_uint64()
ctypes.CDLL(None).pidfdspawn_counts(ctypes.byref(embryo), ctypes.byref(fallback))
print(f"demo: python3 os.posix_spawn() under LD_PRELOAD=libpidfdspawn.so: child says {out!r}, "
      f"exit {os.waitstatus_to_exitcode(status)}; spawns through an embryo: {embryo.value}, "
      f"fallbacks to glibc: {fallback.value}")
PY
	ex=$(dirname "$0")/../../tools/target/release/examples
	if [ -x "$ex/std_command" ]; then
		LD_PRELOAD=$(realpath "$lib") "$ex/std_command" | sed 's/^/demo: rust std::process::Command under LD_PRELOAD: /'
	fi
	# An unmodified C program (tools/pidfdspawn/c/every_action.c, built by
	# the crate's build.rs) that uses every file action glibc has.
	every=$(find "$(dirname "$0")"/../../tools/target/release/build -path '*/pidfdspawn-*/out/every_action' -printf '%T@ %p\n' 2>/dev/null |
		sort -rn | head -1 | cut -d' ' -f2-)
	if [ -x "$every" ]; then
		echo "demo: a C program, one posix_spawnp() with every file action (fchdir, chdir, open, dup2, close, closefrom, tcsetpgrp), under LD_PRELOAD:"
		LD_PRELOAD=$(realpath "$lib") "$every" 2>&1 | sed 's/^/demo:   /'
	fi
fi

# What a start costs from a tiny parent and from one with 1 GiB touched.
# This is the debug kernel of 'make run' on the wall clock, so only the
# ratios mean anything; 'make bench' measures properly.
bench=$(dirname "$0")/../../tools/target/release/spawnbench
if [ -x "$bench" ]; then
	echo "demo: spawn cost (debug kernel, TCG wall clock; see make bench), ns per start+wait:"
	"$bench" --parents tiny,1g --methods pidfd_start,fork+exec --batches 3 --per-batch 5 |
		grep -E '^(parent|tiny|1 GiB)' | sed 's/^/demo:   /'
fi
