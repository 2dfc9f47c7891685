#!/bin/bash
# PID 1 of the guest that ci/boot.sh starts with GUEST_INIT=direct: the
# host's root is the guest's root (9p, read-only), as with virtme-ng, but
# this sets up only what the tests use and starts no udev and no
# systemd-tmpfiles, which took 20 to 50 s of every test boot under TCG.
#
# The kernel hands unknown key=value parameters to init as environment:
# pidfd_out is the host directory shared read-write under the 9p tag
# pidfd-out, pidfd_cmd the command to run (base64, run with bash -c).
# The command's exit code goes to $pidfd_out/guest-rc; then the guest
# powers off.
: "${pidfd_out:?no pidfd_out= on the kernel command line}" "${pidfd_cmd:?no pidfd_cmd= on the kernel command line}"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
# /tmp: writable, but the host's /tmp stays visible under it (a clone of
# the project in /tmp, as CI makes, holds the scripts and the binaries).
mkdir -p /run/tmp-rw/upper /run/tmp-rw/work
mount -t overlay -o lowerdir=/tmp,upperdir=/run/tmp-rw/upper,workdir=/run/tmp-rw/work overlay /tmp
chmod 1777 /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
mount -t 9p -o trans=virtio,version=9p2000.L,access=any,msize=524288 pidfd-out "$pidfd_out"
echo pidfd-embryo >/proc/sys/kernel/hostname
echo "init: ready after ${SECONDS}s of init"

cd /tmp || exit 1
# Descriptor 3 stays open in the command, as virtme-ng's init leaves it:
# some base selftests (exec/execveat) put descriptor numbers in their test
# names, and ci/baseline/pass.txt was recorded with that layout.
bash -c "$(base64 -d <<<"$pidfd_cmd")" </dev/null 3</dev/null
echo $? >"$pidfd_out/guest-rc"
sync
# reboot(2) with LINUX_REBOOT_CMD_POWER_OFF: ACPI power-off ends QEMU.
exec python3 -c 'import ctypes; ctypes.CDLL(None).reboot(0x4321fedc)'
