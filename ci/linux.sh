#!/bin/bash
# Prepare linux/: the Debian base tree as commit 'base' plus patches/ applied
# with git am. Re-running is incremental: commits that already match
# patches/ are kept (so their files keep their mtimes and the build stays
# warm); the tree is reset only down to the first patch that changed.
# It refuses to touch a tree with uncommitted changes or with commits that
# are not in patches/ (run 'make export' first).
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=series.sh
. "$TOP/ci/series.sh"

if [ "$LINUX_MANAGED" = 0 ]; then
	[ -f "$LINUX/Makefile" ] || die "LINUX_DIR=$LINUX is not a kernel tree"
	note "using your own tree $LINUX as is (apply the series with: git -C $LINUX am $TOP/patches/0*.patch)"
	exit 0
fi

# In CI the tree lives in the cache, so the next CI run on this machine
# starts from a warm tree and build. For a developer it is a directory in
# the clone.
if [ "${CI:-}" = true ]; then
	real="$CACHE/ci/linux"
	mkdir -p "$CACHE/ci"
	if [ ! -L "$LINUX" ]; then
		[ -e "$LINUX" ] && die "$LINUX exists and is not the CI symlink; remove it"
		ln -s "$real" "$LINUX"
	fi
	LINUX=$real
fi

# 1. Create the tree with its base commit.
if [ ! -d "$LINUX/.git" ]; then
	base_repo=$("$TOP/ci/linux-base.sh") || exit 1
	note "checking out $LINUX"
	rm -rf "$LINUX.tmp"
	git clone -q --shared --no-checkout "$base_repo" "$LINUX.tmp"
	git -C "$LINUX.tmp" checkout -q -b master base
	git -C "$LINUX.tmp" update-ref refs/embryo/applied HEAD
	mv "$LINUX.tmp" "$LINUX"
fi

lgit rev-parse -q --verify refs/tags/base >/dev/null || die "$LINUX has no tag 'base'"

# 2. Never lose work.
if [ -n "$(lgit status --porcelain --untracked-files=no)" ]; then
	die "linux/ has uncommitted changes: commit them (then 'make export') or 'git -C linux stash'"
fi
if ! lgit am --show-current-patch >/dev/null 2>&1; then :; else
	die "linux/ is in the middle of 'git am': finish it (git -C linux am --continue) or abort it"
fi

mapfile -t files < <(series_files)
want=()
for f in "${files[@]}"; do
	[ -f "$f" ] || die "patches/series names $f, which does not exist"
	want+=("$(key_of_patch "$f")")
done
mapfile -t have_revs < <(lgit rev-list --reverse base..HEAD)
have=()
for r in "${have_revs[@]}"; do
	have+=("$(key_of_commit "$r")")
done

if [ "$(lgit rev-parse HEAD)" != "$(lgit rev-parse -q --verify refs/embryo/applied)" ]; then
	# Commits made since the last apply or export must all be in patches/.
	for i in "${!have[@]}"; do
		found=0
		for w in "${want[@]}"; do [ "$w" = "${have[$i]}" ] && found=1 && break; done
		if [ $found = 0 ]; then
			die "linux/ has commits that are not in patches/ (first: $(lgit log -1 --format='%h %s' "${have_revs[$i]}")): run 'make export' and commit patches/, or drop them with 'git -C linux reset --hard refs/embryo/applied'"
		fi
	done
fi

# 3. Keep the longest matching prefix, apply the rest.
k=0
while [ $k -lt ${#want[@]} ] && [ $k -lt ${#have[@]} ] && [ "${want[$k]}" = "${have[$k]}" ]; do
	k=$((k + 1))
done
if [ $k -eq ${#want[@]} ] && [ $k -eq ${#have[@]} ]; then
	note "linux/ already matches patches/ (${#want[@]} patches)"
	lgit update-ref refs/embryo/applied HEAD
	exit 0
fi
keep=base
[ $k -gt 0 ] && keep=${have_revs[$((k - 1))]}
note "linux/: keeping $k patches, applying $((${#want[@]} - k)) from patches/"
lgit reset -q --hard "$keep"
if [ $k -lt ${#want[@]} ]; then
	if ! GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-series}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-series@localhost}" \
		lgit am -q --committer-date-is-author-date "${files[@]:$k}"; then
		lgit am --abort || true
		lgit reset -q --hard "$keep"
		lgit update-ref refs/embryo/applied HEAD
		die "git am of patches/ failed (see above); linux/ is left at the last patch that applied"
	fi
fi
lgit update-ref refs/embryo/applied HEAD
note "linux/ is ready: $(lgit rev-list --count base..HEAD) patches on base"
