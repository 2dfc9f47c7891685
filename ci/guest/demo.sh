#!/bin/bash
# Runs inside the guest for 'make run': shows the kernel and the feature.
echo "demo: kernel $(uname -r) on $(nproc) CPUs, init is $(cat /proc/1/comm)"
python3 - <<'PY'
import errno, os

PIDFD_EMPTY = os.O_CREAT  # include/uapi/linux/pidfd.h
try:
    fd = os.pidfd_open(0, PIDFD_EMPTY)
except OSError as e:
    print(f"demo: pidfd_open(0, PIDFD_EMPTY) failed: {errno.errorcode[e.errno]}")
    raise SystemExit(0)
info = dict(l.split(":", 1) for l in open(f"/proc/self/fdinfo/{fd}").read().splitlines())
pid = int(info["Embryo"])
print(f"demo: pidfd_open(0, PIDFD_EMPTY) = fd {fd}: an embryo holding pid {pid}")
print(f"demo:   fdinfo Pid:{info['Pid'].strip()}  Embryo:{info['Embryo'].strip()}")
try:
    os.kill(pid, 0)
except ProcessLookupError:
    print(f"demo:   kill({pid}, 0) -> ESRCH: no process exists yet")
os.close(fd)
print("demo:   closed: the pid is free again")
PY
