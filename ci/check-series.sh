#!/bin/bash
# 'make check-series': apply patches/ one at a time on a scratch worktree of
# linux/ at 'base', build each step (base config, CLIPPY=1 for the Rust),
# and run checkpatch --strict on each patch. Prints a table (also kept in
# out/check-series.txt); exits 1 if a step does not apply or build, or
# checkpatch reports an error or warning.
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
build_step() {
	local key
	key=$(git -C "$wt" rev-parse 'HEAD^{tree}')-$frag_hash
	if [ -f "$built_dir/$key" ]; then
		echo cached
	elif LINUX_DIR=$wt KBUILD_OUTPUT_DIR="$CACHE/check-series/build" CLIPPY=1 "$TOP/ci/build.sh" base >/dev/null 2>&1; then
		touch "$built_dir/$key"
		echo yes
	else
		echo NO
	fi
}

[ "$(build_step)" != NO ] || die "the base tree itself does not build (log: $OUT/build-base.log)"

table="$OUT/check-series.txt"
: >"$table"
row() {
	# shellcheck disable=SC2059 # the format is the first argument
	printf "$@" | tee -a "$table"
}

status=0
row '\n%-4s %-64s %-7s %s\n' '#' 'patch' 'builds' 'checkpatch (errors/warnings/checks)'
for f in "${files[@]}"; do
	b=${f##*/}
	if ! git -C "$wt" am -q --3way "$f" >"$OUT/check-series-am.log" 2>&1; then
		git -C "$wt" am --abort >/dev/null 2>&1 || true
		row '%-4s %-64s %-7s\n' "${b%%-*}" "${b#*-}" 'no-apply'
		status=1
		break
	fi
	built=$(build_step)
	if [ "$built" = NO ]; then
		status=1
		cp "$OUT/build-base.log" "$OUT/check-series-${b%%-*}.log"
	fi
	# checkpatch exits non-zero when it reports something, and grep -c when
	# it counts nothing: neither is a failure of this script.
	cp_out=$(cd "$wt" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --terse --no-summary "$f" 2>&1) || true
	e=$(printf '%s\n' "$cp_out" | grep -c ': ERROR:') || true
	w=$(printf '%s\n' "$cp_out" | grep -c ': WARNING:') || true
	c=$(printf '%s\n' "$cp_out" | grep -c ': CHECK:') || true
	[ $((e + w)) -gt 0 ] && status=1
	row '%-4s %-64.64s %-7s %s/%s/%s\n' "${b%%-*}" "${b#*-}" "$built" "$e" "$w" "$c"
	[ $((e + w + c)) -gt 0 ] && printf '%s\n' "$cp_out" | sed 's/^/       /' | head -10 | tee -a "$table"
done
note "table: $table"
exit $status
