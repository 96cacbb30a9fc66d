# Shared by the hook scripts (sourced, POSIX sh). Hooks fail open: whatever goes wrong, the
# agent's own action goes on. So every script exits 0; a problem becomes one line on stderr,
# "lessons hook: ..."; a read that takes longer than LESSONS_HOOK_TIMEOUT seconds (default 2) is
# stopped, and a write (which may wait for a busy store) runs detached in the background, its
# outcome appended to the hook log.

LESSONS_HOOK_TIMEOUT=${LESSONS_HOOK_TIMEOUT:-2}
LESSONS_HOOK_LOG=${LESSONS_HOOK_LOG:-${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/lessons/hooks.log}

hook_tmp=
hook_cleanup() {
  if [ -n "$hook_tmp" ]; then rm -rf "$hook_tmp"; fi
}
trap hook_cleanup EXIT
trap 'exit 0' HUP INT TERM

# warn TEXT: the one line a hook prints when something went wrong (first line, at most 300 chars).
warn() {
  printf '%s\n' "$*" | head -n 1 | cut -c 1-300 | sed 's/^/lessons hook: /' >&2
}

# A scratch directory, removed when the hook exits.
hook_tmpdir() {
  if [ -z "$hook_tmp" ]; then
    hook_tmp=$(mktemp -d "${TMPDIR:-/tmp}/lessons-hook.XXXXXX") || return 1
  fi
}

# find_lessons: sets $lessons to the command to run, or warns and returns 1.
find_lessons() {
  lessons=${LESSONS_BIN:-lessons}
  if ! command -v "$lessons" >/dev/null 2>&1; then
    warn "\`$lessons\` is not on PATH (install lessons, or set LESSONS_BIN); skipped."
    return 1
  fi
}

# project_domain: the domain of the project this hook runs for: $LESSONS_DOMAIN, else the name
# of the project's directory (its git top level), lowercased, in [a-z0-9_-].
project_domain() {
  if [ -n "${LESSONS_DOMAIN:-}" ]; then
    printf '%s\n' "$LESSONS_DOMAIN"
    return
  fi
  dir=${LESSONS_PROJECT_DIR:-${CLAUDE_PROJECT_DIR:-$PWD}}
  top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) || top=$dir
  name=$(basename "$top" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_\n-' '-' | cut -c 1-100)
  printf '%s\n' "${name:-project}"
}

# bounded OUT ERR CMD...: run CMD with stdout to OUT and stderr to ERR, for at most
# $LESSONS_HOOK_TIMEOUT seconds. Returns CMD's status, or 124 after stopping it at the limit.
bounded() {
  out=$1 err=$2
  shift 2
  "$@" </dev/null >"$out" 2>"$err" &
  pid=$!
  ticks=$((LESSONS_HOOK_TIMEOUT * 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$ticks" -le 0 ]; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.1
    ticks=$((ticks - 1))
  done
  wait "$pid"
}

# detach CMD...: run CMD in the background, in a session of its own, holding none of the hook's
# stdin, stdout or stderr (so the agent framework does not wait for it), its output appended to
# the hook log. The hook's shell exits at once; the orphan is reaped by init, not left a zombie.
detach() {
  mkdir -p "$(dirname "$LESSONS_HOOK_LOG")" 2>/dev/null
  if command -v setsid >/dev/null 2>&1; then
    (setsid "$@" </dev/null >>"$LESSONS_HOOK_LOG" 2>&1 &) 2>/dev/null
  else
    (nohup "$@" </dev/null >>"$LESSONS_HOOK_LOG" 2>&1 &) 2>/dev/null
  fi
}

# read_stdin FILE: what the framework piped in (its JSON), if anything, within the time limit.
# Never waits on a terminal, nor longer than $LESSONS_HOOK_TIMEOUT on a pipe left open.
# (A background job's stdin is /dev/null, so the reader gets the hook's stdin as fd 3.)
read_stdin() {
  : >"$1"
  if [ -t 0 ]; then return 0; fi
  { command exec 3<&0; } 2>/dev/null || return 0 # no stdin at all
  bounded "$1" /dev/null cat_stdin || warn "no end to the input on stdin; ignored it."
}
cat_stdin() { cat <&3; }
