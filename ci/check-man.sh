#!/bin/bash
# Host check: the man pages in Documentation/man/ document every key, every
# UAPI name the series adds, and every error number the series' code can
# return. Also run by 'make test' (host checks).
# Usage: ci/check-man.sh [KERNEL_TREE]   (default: linux/)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:-$top/linux}
man=("$top"/Documentation/man/*.2)
spawn="$tree/rust/kernel/spawn"
[ -f "$spawn/key.rs" ] || { echo "check-man: no $spawn/key.rs: run 'make linux'" >&2; exit 2; }

# The pages' text, with groff's escaped hyphens and font changes undone.
text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "${man[@]}")
missing=0
need() {
	local what=$1 name=$2
	if ! grep -qF -- "$name" <<<"$text"; then
		echo "check-man: $what '$name' is in the code but in no page of Documentation/man/" >&2
		missing=$((missing + 1))
	fi
}

# Keys: the table in key.rs, and the fd:N and rlimit:NAME families.
[ "$(grep -c '^ *name: "' "$spawn/key.rs")" -gt 10 ] ||
	{ echo "check-man: cannot read the key table of $spawn/key.rs" >&2; exit 2; }
while read -r k; do need key "$k"; done < <(sed -n 's/^ *name: "\([a-z-]*\)",$/\1/p' "$spawn/key.rs")
need key 'fd:'
need key 'rlimit:'
# Each resource NAME of rlimit:NAME, listed as '.BR NAME ,' in the pages.
while read -r r; do
	grep -qE "^\.BR? $r( ,| \.|$)" "${man[@]}" || {
		echo "check-man: rlimit resource '$r' is in the code but in no page of Documentation/man/" >&2
		missing=$((missing + 1))
	}
done < <(sed -n 's/^ *("\([a-z]*\)", bindings::RLIMIT_[A-Z]*),$/\1/p' "$spawn/key.rs")

# UAPI names the series adds to include/uapi/linux/pidfd.h.
if git -C "$tree" rev-parse -q --verify base >/dev/null; then
	uapi=$(git -C "$tree" diff base -- include/uapi/linux/pidfd.h | sed -n 's/^+.*\b\(PIDFD_[A-Z0-9_]*\)\b.*/\1/p' | sort -u)
	[ -n "$uapi" ] || { echo "check-man: found no UAPI names in the series' diff of pidfd.h" >&2; exit 2; }
else
	uapi=
	echo "check-man: $tree has no 'base' tag: the UAPI names are not checked" >&2
fi
for n in $uapi; do
	case $n in PIDFD_H | *_SIZE_VER*) continue ;; esac
	need "UAPI name" "$n"
done

# Error numbers the series' own code names (C, and Rust outside its KUnit
# test modules), except the ERESTART* family, which never reaches user space.
errnos=$({ cat "$tree/kernel/pidfd_spawn.c"; awk '/kunit_tests\(/ { nextfile } { print }' "$spawn"/*.rs "$tree/rust/kernel/spawn.rs"; } |
	grep -ohE '\bE(2BIG|ACCES|AGAIN|BADF|BUSY|CHILD|EXIST|FAULT|INTR|INVAL|IO|ISDIR|LOOP|MFILE|NAMETOOLONG|NFILE|NODEV|NOENT|NOEXEC|NOMEM|NOSPC|NOSYS|NOTDIR|NOTTY|NXIO|OPNOTSUPP|OVERFLOW|PERM|RANGE|SRCH|TXTBSY|XDEV|ALREADY|NOTSUP|PROTO|OWNERDEAD|NOKEY|MSGSIZE|DOM|CANCELED|STALE)\b' | sort -u)
for e in $errnos; do need errno "$e"; done

if [ $missing -gt 0 ]; then
	echo "check-man: $missing names undocumented" >&2
	exit 1
fi
echo "check-man: every key ($(sed -n 's/^ *name: "\([a-z-]*\)",$/\1/p' "$spawn/key.rs" | wc -l) + fd:N + rlimit:NAME), $(wc -w <<<"$uapi") UAPI names and $(wc -w <<<"$errnos") error numbers are in the man pages"
