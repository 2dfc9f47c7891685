#!/bin/bash
# The base repository: Debian's unpacked linux-source (ci/linux-source.sh)
# committed once per machine as tag 'base' in a bare repository in the
# cache. Prints its path. ci/linux.sh clones linux/ from it; ci/deps.sh
# prepares it while bindgen-cli compiles on a bare machine.
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=series.sh
. "$TOP/ci/series.sh"

src=$("$TOP/ci/linux-source.sh") || exit 1
base_repo="$CACHE/base-${src##*/}.git"
base_repo=${base_repo//\~/_}
if ! git -C "$base_repo" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
	note "creating the base commit from $src (once per machine, about 2 minutes)"
	rm -rf "$base_repo" "$base_repo.tmp"
	git init -q --bare "$base_repo.tmp"
	GIT_DIR="$base_repo.tmp" GIT_WORK_TREE="$src" git add -A -f .
	GIT_DIR="$base_repo.tmp" GIT_WORK_TREE="$src" git rm -q --cached .unpacked
	tree=$(GIT_DIR="$base_repo.tmp" git write-tree)
	commit=$(GIT_AUTHOR_DATE="$BASE_DATE" GIT_COMMITTER_DATE="$BASE_DATE" \
		GIT_AUTHOR_NAME="$BASE_NAME" GIT_AUTHOR_EMAIL="$BASE_EMAIL" \
		GIT_COMMITTER_NAME="$BASE_NAME" GIT_COMMITTER_EMAIL="$BASE_EMAIL" \
		GIT_DIR="$base_repo.tmp" git commit-tree "$tree" \
		-m "Linux ${src##*/} (Debian linux-source)")
	GIT_DIR="$base_repo.tmp" git tag base "$commit"
	rm -f "$base_repo.tmp/index"
	mv "$base_repo.tmp" "$base_repo"
fi
echo "$base_repo"
