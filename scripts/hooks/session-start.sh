#!/bin/sh
# Hook for the start of an agent's session: print what was learnt in this project's domain
# (`lessons context`), for the framework to put in front of the model.
#
#   scripts/hooks/session-start.sh [--domain D] [--max-tokens N]
#
# Claude Code: a SessionStart hook (its stdout becomes context). Elsewhere: run it and give its
# output to the agent. The domain is --domain, else $LESSONS_DOMAIN, else the name of the
# project's directory; the store is $LESSONS_DIR, else ./memory. It fails open: exit 0 always,
# at most one line on stderr, and it gives up on a digest that takes longer than
# $LESSONS_HOOK_TIMEOUT seconds (default 2).

. "$(dirname "$0")/lib.sh"

domain=
max_tokens=${LESSONS_HOOK_MAX_TOKENS:-2000}
while [ $# -gt 0 ]; do
  case $1 in
    --domain) domain=${2:-}; shift 2 || shift ;;
    --max-tokens) max_tokens=${2:-}; shift 2 || shift ;;
    *) warn "unknown argument $1 (use --domain D, --max-tokens N); ignored."; shift ;;
  esac
done

main() {
  find_lessons || return 0
  hook_tmpdir || { warn "no temporary directory; skipped."; return 0; }
  [ -n "$domain" ] || domain=$(project_domain)
  bounded "$hook_tmp/out" "$hook_tmp/err" \
    "$lessons" context --domain "$domain" --max-tokens "$max_tokens"
  status=$?
  if [ "$status" -eq 0 ]; then
    cat "$hook_tmp/out"
  elif [ "$status" -eq 124 ]; then
    warn "\`lessons context\` took longer than ${LESSONS_HOOK_TIMEOUT} s; skipped."
  else
    warn "$(sed 's/^lessons: //' "$hook_tmp/err" | head -n 1)"
  fi
}

main
exit 0
