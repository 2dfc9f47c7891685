#!/bin/bash
# Check that every architecture gives pidfd_config() and pidfd_start() the
# numbers the series assigns: "make ARCH=<arch> headers" generates each
# architecture's <asm/unistd*.h> from its syscall table (no cross compiler
# needed), and the generated numbers are compared with the expected ones:
# 473 and 474 from the generic table and most arch tables, 583 and 584 on
# alpha, and __NR_Linux + 473/474 for each MIPS ABI. Also checks the
# selftests' fallback numbers in tools/testing/selftests/pidfd/pidfd.h
# against the same expectations.
#
# Usage: ci/check-syscall-tables.sh [kernel tree]   (default: linux/)
# Prints one line per architecture; exits 1 on any mismatch.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

tree=${1:-$LINUX}
[ -f "$tree/Makefile" ] || die "no kernel tree at $tree"
work="$CACHE/syscall-tables"
mkdir -p "$work"

# The number an architecture's table gives each call, before any ABI base
# (__NR_Linux on MIPS, __NR_SYSCALL_BASE on arm, __X32_SYSCALL_BIT): the
# generated headers spell those as "(BASE + n)".
expect() {
	case $1 in
	alpha) echo "583 584" ;;
	*) echo "473 474" ;;
	esac
}

status=0
for arch in alpha arm arm64 loongarch m68k microblaze mips parisc powerpc \
	riscv s390 sh sparc x86 xtensa; do
	out="$work/$arch"
	rm -rf "$out"
	if ! make -s -C "$tree" ARCH="$arch" O="$out" headers >"$out.log" 2>&1; then
		printf '%-11s headers failed (log: %s)\n' "$arch" "$out.log"
		status=1
		continue
	fi
	want=$(expect "$arch")
	bad=0
	n=0
	for h in "$out"/usr/include/asm/unistd*.h; do
		cfg=$(grep '^#define __NR_pidfd_config[[:space:]]' "$h" | grep -o '[0-9][0-9]*' | tail -n 1 || true)
		start=$(grep '^#define __NR_pidfd_start[[:space:]]' "$h" | grep -o '[0-9][0-9]*' | tail -n 1 || true)
		[ -n "$cfg$start" ] || continue
		n=$((n + 1))
		[ "$cfg $start" = "$want" ] || bad=1
	done
	if [ "$n" -eq 0 ] || [ "$bad" -ne 0 ]; then
		printf '%-11s wrong or missing numbers (want %s; %d header(s))\n' "$arch" "$want" "$n"
		status=1
	else
		printf '%-11s %s in %d header(s)\n' "$arch" "$want" "$n"
	fi
done

# The selftests' fallbacks, evaluated as each ABI's compiler would see them.
hdr="$tree/tools/testing/selftests/pidfd/pidfd.h"
fallback() {
	# $1: predefined macros for the ABI
	printf '#include <stdio.h>\n%s\n#define _ABIO32 1\n#define _ABIN32 2\n#define _ABI64 3\n' "$1" >"$work/fb.c"
	sed -n '/^#ifndef __NR_pidfd_config/,/^#endif \/\* __NR_pidfd_start \*\//p' "$hdr" >>"$work/fb.c"
	printf 'int main(void) { printf("%%d %%d\\n", __NR_pidfd_config, __NR_pidfd_start); return 0; }\n' >>"$work/fb.c"
	cc -o "$work/fb" "$work/fb.c" 2>"$work/fb.log" && "$work/fb"
}
for abi in "generic||473 474" "alpha|#define __alpha__ 1|583 584" \
	"mips o32|#define __mips__ 1\n#define _MIPS_SIM 1|4473 4474" \
	"mips n32|#define __mips__ 1\n#define _MIPS_SIM 2|6473 6474" \
	"mips n64|#define __mips__ 1\n#define _MIPS_SIM 3|5473 5474"; do
	name=${abi%%|*}
	rest=${abi#*|}
	defs=$(printf '%b' "${rest%%|*}")
	want=${rest#*|}
	got=$(fallback "$defs" || true)
	if [ "$got" = "$want" ]; then
		printf 'selftests fallback, %-9s %s\n' "$name:" "$got"
	else
		printf 'selftests fallback, %-9s got "%s", want "%s"\n' "$name:" "$got" "$want"
		status=1
	fi
done
exit $status
