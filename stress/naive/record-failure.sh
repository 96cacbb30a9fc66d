#!/usr/bin/env bash
# The naive baseline: what the shell-script framework did, reduced to its three writes and
# with no transaction joining them. Write the Markdown file, insert the row with the sqlite3
# command (its exit status unchecked, as the old script effectively did once it made lock
# failures "non-fatal"), then git add and git commit. The script exits with git's status.
#
#   record-failure.sh <store> <title> <domain>
#
# The store must exist: a git repository with an index.db holding a `learnings` table
# (stress/lib/naive.ts creates one). Titles are plain text chosen by the harness.

store=$1
title=$2
domain=$3

stamp=$(date +%Y%m%d-%H%M%S-%N)
slug=$(printf '%s' "$title" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' '-' | cut -c1-60)
relative="failures/${stamp}-${slug}.md"

mkdir -p "$store/failures"
printf '# %s\n\n**Domain**: %s\n**Severity**: 4\n\n## Summary\n\nsummary of %s\n' \
  "$title" "$domain" "$title" >"$store/$relative"

sqlite3 "$store/index.db" \
  "INSERT INTO learnings (type, filepath, title, domain, severity) VALUES ('failure', '$relative', '$title', '$domain', 4);" \
  2>/dev/null

cd "$store" || exit 1
git add "$relative" && git commit -q -m "failure: $title"
