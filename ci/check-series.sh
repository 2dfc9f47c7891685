#!/bin/bash
# 'make check-series': apply patches/ one at a time on a scratch worktree of
# linux/ at 'base', build each step twice (the base config with
# CONFIG_PIDFD_SPAWN and CLIPPY=1 for the Rust; the nospawn config, without
# Rust and so without the option), run checkpatch --strict on each patch
# and kernel-doc -none -Wall on the C files it touches (counting only the
# warnings the patch adds). Prints a table (also kept in
# out/check-series.txt and, once every step is in it,
# Documentation/check-series.txt); exits 1 if a step does not apply or
# build, checkpatch reports an error or warning, or kernel-doc a new
# warning.
#
# A step that built once is not built again: the git hash of its source
# tree, with the config fragment's, is recorded in $CACHE/check-series/built/
# and the table says "cached" for it. An interrupted or repeated run thus
# resumes at the first step not yet shown to build. Remove that directory
# to build every step again.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=series.sh
. "$TOP/ci/series.sh"

[ -d "$LINUX/.git" ] || die "no kernel tree at $LINUX: run 'make linux'"
wt="$CACHE/check-series/tree"
mapfile -t files < <(series_files)
[ ${#files[@]} -gt 0 ] || { note "patches/ is empty: nothing to check"; exit 0; }
# Check a snapshot, so that exporting while this runs cannot mix two series.
snap="$CACHE/check-series/patches"
rm -rf "$snap"
mkdir -p "$snap"
cp "${files[@]}" "$snap/"
files=("${files[@]/#*\//$snap/}")

if [ -d "$wt/.git" ] || [ -f "$wt/.git" ]; then
	git -C "$wt" am --abort >/dev/null 2>&1 || true
	git -C "$wt" checkout -q --detach base
	git -C "$wt" reset -q --hard base
else
	git -C "$LINUX" worktree prune
	git -C "$LINUX" worktree add -q --detach "$wt" base
fi

built_dir="$CACHE/check-series/built"
mkdir -p "$built_dir"
frag_hash=$(sha1sum <"$TOP/ci/config/base.config" | cut -c1-12)
off_hash=$(cat "$TOP/ci/config/base.config" "$TOP/ci/config/nospawn.config" | sha1sum | cut -c1-12)
# build_step base|nospawn: builds the worktree's HEAD with that flavour.
build_step() {
	local key flavour=$1 hash=$frag_hash dir="$CACHE/check-series/build" clippy=1
	if [ "$flavour" = nospawn ]; then
		hash=off-$off_hash
		dir="$CACHE/check-series/build-nospawn"
		clippy=
	fi
	key=$(git -C "$wt" rev-parse 'HEAD^{tree}')-$hash
	if [ -f "$built_dir/$key" ]; then
		echo cached
	elif LINUX_DIR=$wt KBUILD_OUTPUT_DIR="$dir" CLIPPY=$clippy "$TOP/ci/build.sh" "$flavour" >/dev/null 2>&1; then
		touch "$built_dir/$key"
		echo yes
	else
		echo NO
	fi
}

# kernel_doc_new: the kernel-doc -none -Wall warnings in the C files HEAD
# changes, less those the same files had before it.
kernel_doc_new() {
	local f before=0 after=0 n
	while read -r f; do
		case "$f" in *.c | *.h) ;; *) continue ;; esac
		[ -f "$wt/$f" ] || continue
		n=$(cd "$wt" && ./scripts/kernel-doc -none -Wall "$f" 2>&1 | grep -c -i 'warning') || true
		after=$((after + n))
		if git -C "$wt" cat-file -e "HEAD^:$f" 2>/dev/null; then
			git -C "$wt" show "HEAD^:$f" >"$CACHE/check-series/kdoc-before${f##*/}"
			n=$(cd "$wt" && ./scripts/kernel-doc -none -Wall "$CACHE/check-series/kdoc-before${f##*/}" 2>&1 | grep -c -i 'warning') || true
			before=$((before + n))
		fi
	done < <(git -C "$wt" diff --name-only HEAD^ HEAD)
	echo $((after > before ? after - before : 0))
}

[ "$(build_step base)" != NO ] || die "the base tree itself does not build (log: $OUT/build-base.log)"
[ "$(build_step nospawn)" != NO ] || die "the base tree itself does not build without Rust (log: $OUT/build-nospawn.log)"

table="$OUT/check-series.txt"
: >"$table"
row() {
	# shellcheck disable=SC2059 # the format is the first argument
	printf "$@" | tee -a "$table"
}

status=0
row '\n%-4s %-56s %-7s %-7s %-10s %s\n' '#' 'patch' 'on' 'off' 'kernel-doc' 'checkpatch (errors/warnings/checks)'
for f in "${files[@]}"; do
	b=${f##*/}
	if ! git -C "$wt" am -q --3way "$f" >"$OUT/check-series-am.log" 2>&1; then
		git -C "$wt" am --abort >/dev/null 2>&1 || true
		row '%-4s %-64s %-7s\n' "${b%%-*}" "${b#*-}" 'no-apply'
		status=1
		break
	fi
	built=$(build_step base)
	if [ "$built" = NO ]; then
		status=1
		cp "$OUT/build-base.log" "$OUT/check-series-${b%%-*}.log"
	fi
	off=$(build_step nospawn)
	if [ "$off" = NO ]; then
		status=1
		cp "$OUT/build-nospawn.log" "$OUT/check-series-${b%%-*}-nospawn.log"
	fi
	kdoc=$(kernel_doc_new)
	[ "$kdoc" -gt 0 ] && status=1
	# checkpatch exits non-zero when it reports something, and grep -c when
	# it counts nothing: neither is a failure of this script.
	cp_out=$(cd "$wt" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --terse --no-summary "$f" 2>&1) || true
	e=$(printf '%s\n' "$cp_out" | grep -c ': ERROR:') || true
	w=$(printf '%s\n' "$cp_out" | grep -c ': WARNING:') || true
	c=$(printf '%s\n' "$cp_out" | grep -c ': CHECK:') || true
	[ $((e + w)) -gt 0 ] && status=1
	row '%-4s %-56.56s %-7s %-7s %-10s %s/%s/%s\n' "${b%%-*}" "${b#*-}" "$built" "$off" "$kdoc" "$e" "$w" "$c"
	[ $((e + w + c)) -gt 0 ] && printf '%s\n' "$cp_out" | sed 's/^/       /' | head -10 | tee -a "$table"
done
note "table: $table"
if [ "$(grep -c '^[0-9][0-9][0-9][0-9] ' "$table")" -eq "${#files[@]}" ]; then
	{
		echo "make check-series on $(date -u +%Y-%m-%d), ${#files[@]} patches: each step built"
		echo "with the base config (CONFIG_PIDFD_SPAWN=y, CLIPPY=1) and without Rust"
		echo "(CONFIG_PIDFD_SPAWN=n); kernel-doc counts the warnings a patch adds."
		cat "$table"
	} >"$TOP/Documentation/check-series.txt"
	note "also in Documentation/check-series.txt"
fi
exit $status
