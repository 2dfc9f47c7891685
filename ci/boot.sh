#!/bin/bash
# Boot the built kernel under QEMU (TCG, never KVM) with virtme-ng, the host
# root shared read-only, and run a command in the guest. The serial console
# (kernel log, KUnit KTAP, the command's output) goes to $OUT/serial-NAME.log.
# Usage: ci/boot.sh FLAVOUR NAME TIMEOUT_S COMMAND...
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

flavour=$1 name=$2 limit=$3
shift 3
image="$BUILD-$flavour/arch/x86/boot/bzImage"
[ -f "$image" ] || die "no kernel at $image: run 'make build'"
log="$OUT/serial-$name.log"
mkdir -p "$OUT/guest"

# GUEST_NUMA=N: N NUMA nodes, the memory split evenly, CPU i on node i % N.
# GUEST_INIT=direct: QEMU without virtme-ng, and ci/guest/init.sh as PID 1
# (the same root, no udev, no systemd-tmpfiles; make test uses it). The
# root is mounted with cache=loose: without it 9p keeps no dentries, and
# every path lookup in the guest went to the host (virtme-ng gets the same
# effect from the overlays it puts on /usr, /etc and others).
numa=()
qnuma=()
if [ -n "${GUEST_NUMA:-}" ] && [ "$GUEST_NUMA" -gt 1 ]; then
	mem=${GUEST_MEM:-1G}
	case $mem in
	*G) mb=$((${mem%G} * 1024)) ;;
	*M) mb=${mem%M} ;;
	*) die "GUEST_MEM=$mem: give it in M or G for GUEST_NUMA" ;;
	esac
	for ((n = 0; n < GUEST_NUMA; n++)); do
		cpus=
		for ((c = n; c < ${GUEST_CPUS:-2}; c += GUEST_NUMA)); do
			cpus+=",cpus=$c"
		done
		numa+=(--numa "$((mb / GUEST_NUMA))M$cpus")
		qnuma+=(-object "memory-backend-ram,id=mem$n,size=$((mb / GUEST_NUMA))M"
			-numa "node,nodeid=$n,memdev=mem$n$cpus")
	done
	# One socket per node: CPUs that share a last-level cache on two nodes
	# make the kernel WARN (topology_sane()) at boot.
	QEMU_EXTRA="-smp ${GUEST_CPUS:-2},sockets=$GUEST_NUMA ${QEMU_EXTRA:-}"
fi

note "booting $image under TCG (limit ${limit}s${numa:+, $GUEST_NUMA NUMA nodes}, log: $log)"
start=$(date +%s)
set +e
# kunit output and any splat must reach the log; panic=-1 reboots (and so
# ends QEMU) instead of hanging on a panic.
if [ "${GUEST_INIT:-}" = direct ]; then
	rm -f "$OUT/guest/guest-rc"
	# shellcheck disable=SC2086 # QEMU_EXTRA is a list of words
	timeout -k 15 "$limit" qemu-system-x86_64 -name pidfd-embryo -accel tcg -machine q35 -cpu max \
		-m "${GUEST_MEM:-1G}" -smp "${GUEST_CPUS:-2}" "${qnuma[@]}" \
		-nodefaults -no-reboot -display none -serial stdio \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
		-fsdev "local,id=out,path=$OUT/guest,security_model=none,multidevs=remap" \
		-device virtio-9p-pci,fsdev=out,mount_tag=pidfd-out \
		${QEMU_EXTRA:-} -kernel "$image" \
		-append "console=ttyS0 earlyprintk=serial,ttyS0,115200 rootfstype=9p \
rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose ro loglevel=7 \
panic=-1 oops=panic ${BOOT_APPEND:-} pidfd_out=$OUT/guest pidfd_cmd=$(printf %s "$*" | base64 -w0) \
init=$TOP/ci/guest/init.sh" </dev/null >"$log" 2>&1
else
	timeout -k 15 "$limit" vng --run "$image" --disable-kvm --disable-microvm \
		--cpus "${GUEST_CPUS:-2}" --memory "${GUEST_MEM:-1G}" "${numa[@]}" --verbose \
		--rwdir "$OUT/guest" --append "panic=-1 oops=panic ${BOOT_APPEND:-}" \
		--qemu-opts="-no-reboot ${QEMU_EXTRA:-}" \
		--exec "$*" </dev/null >"$log" 2>&1
fi
rc=$?
set -e
note "guest ran for $(($(date +%s) - start))s"
if [ $rc = 124 ] || [ $rc = 137 ]; then
	tail -30 "$log" >&2
	die "the guest did not finish within ${limit}s (serial log: $log); raise BOOT_TIMEOUT or look for a hang above"
fi
if [ "${GUEST_INIT:-}" = direct ] && [ ! -f "$OUT/guest/guest-rc" ]; then
	tail -30 "$log" >&2
	die "the guest stopped before its command finished (serial log: $log): look for a panic above"
fi
exit 0
