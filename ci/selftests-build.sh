#!/bin/bash
# Build and install the kselftests the series is checked against: the base
# tree's exec, pidfd and clone3 collections (they hold the series' own tests
# too, in pidfd/). Installs into $KSFT (printed on stdout).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

TARGETS=${KSFT_TARGETS:-"pidfd clone3 exec"}
hdr="$BUILD-headers"
KSFT="$BUILD-kselftest"

note "installing UAPI headers into $hdr"
make -C "$LINUX" O="$hdr" -s headers >"$OUT/headers.log" 2>&1 ||
	{ tail -20 "$OUT/headers.log" >&2; die "make headers failed (log: $OUT/headers.log)"; }

note "building kselftests ($TARGETS) (log: $OUT/kselftest-build.log)"
rm -rf "$KSFT"
# Built with the host's gcc against the tree's UAPI headers.
if ! make -C "$LINUX/tools/testing/selftests" O="$BUILD-ksft-build" \
	KHDR_INCLUDES="-isystem $hdr/usr/include" TARGETS="$TARGETS" \
	-j"$JOBS" install INSTALL_PATH="$KSFT" >"$OUT/kselftest-build.log" 2>&1; then
	grep -E 'error|Error' "$OUT/kselftest-build.log" | head -20 >&2
	die "kselftest build failed (log: $OUT/kselftest-build.log)"
fi
[ -s "$KSFT/kselftest-list.txt" ] || die "no kselftest-list.txt in $KSFT"

# The series' own pidfd tests must also build with a C library other than
# glibc, where the comparisons with glibc-only functions (*_np) skip: musl.
musl="$BUILD-musl"
mkdir -p "$musl"
for t in pidfd_embryo_test pidfd_spawn_test pidfd_hostile_test pidfd_spawn_helper; do
	src="$LINUX/tools/testing/selftests/pidfd/$t.c"
	[ -f "$src" ] || continue
	musl-gcc -Wall -Werror=implicit-function-declaration -isystem "$hdr/usr/include" \
		-I"$LINUX/tools/testing/selftests" -I"$LINUX/tools/include" \
		-o "$musl/$t" "$src" -lpthread >>"$OUT/kselftest-build.log" 2>&1 ||
		die "pidfd/$t.c does not build with musl-gcc (log: $OUT/kselftest-build.log)"
done
echo "$KSFT"
