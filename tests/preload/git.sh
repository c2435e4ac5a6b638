#!/usr/bin/env bash
# tests/preload/git.sh LIB PROBE: git on a scratch repository (init, add 256 files, six commits,
# log, diff, blame, grep, archive, a gc with two pack threads, fsck) must print the same bytes as without
# the preload. Author, committer, dates and configuration are pinned, so even the commit hashes
# agree between runs.
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/preload/common.sh
. "$here/common.sh"
# shellcheck disable=SC2034 # read by preload_main in common.sh
PRELOAD_EXPECT="git"

workload() {
  export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C TZ=UTC
  export GIT_AUTHOR_NAME="Carve Test" GIT_AUTHOR_EMAIL=test@carve.invalid
  export GIT_COMMITTER_NAME="Carve Test" GIT_COMMITTER_EMAIL=test@carve.invalid
  local g="git -C repo -c core.autocrlf=false -c gc.auto=0 -c pack.threads=2 -c color.ui=never"
  git init -q -b main repo
  local dir commit
  # 16 directories of 16 files, 5 to 110 lines each, written by one awk process
  mkdir -p repo/src/d{00..15}
  awk 'BEGIN {
    for (d = 0; d < 16; d++) {
      for (f = 0; f < 16; f++) {
        path = sprintf("repo/src/d%02d/f%02d.txt", d, f)
        for (l = 1; l <= f * 7 + 5; l++)
          printf "line %d of %02d/%02d: the quick brown fox jumps over the lazy dog\n", l, d, f > path
        close(path)
      }
    }
  }'
  for commit in 1 2 3 4 5 6; do
    export GIT_AUTHOR_DATE="2026-01-0${commit}T12:00:00Z" GIT_COMMITTER_DATE="2026-01-0${commit}T12:00:00Z"
    if [ "$commit" -gt 1 ]; then
      for dir in $(seq -w "$commit" 3 15); do
        sed -i "s/fox/fox $commit/; ${commit}d" "repo/src/d$dir"/f*[$commit-9].txt
        echo "added in commit $commit" >>"repo/src/d$dir/new$commit.txt"
      done
      [ "$commit" = 4 ] && $g rm -q -r -f src/d13
    fi
    $g add -A
    $g commit -q -m "commit $commit: edit the fox"
  done
  $g log --stat --format='%H %an %ad %s' --date=iso-strict
  $g diff --stat HEAD~4 HEAD
  $g diff HEAD~2 HEAD -- src/d05/f08.txt src/d11
  $g blame -s src/d07/f13.txt
  $g grep -c "fox 5" HEAD -- src
  $g gc -q
  $g fsck --no-progress --strict
  $g count-objects -v | grep -E "^(count|in-pack|packs|garbage)"
  $g rev-list --objects --all | sort | git hash-object --stdin
  mkdir -p out
  $g archive --format=tar HEAD >out/head.tar
}

preload_main "$@"
