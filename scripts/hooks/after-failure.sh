#!/bin/sh
# Hook for after a failed command: show the failures recorded before that match it, and offer
# (or, with --record, perform) `lessons record-failure`.
#
#   scripts/hooks/after-failure.sh [--record] [--domain D] [--exit N] [-- COMMAND...]
#
# The failed command comes from the arguments, or from the JSON an agent framework pipes in
# (Claude Code's PostToolUseFailure: tool_input.command and error; the answer is then JSON with
# hookSpecificOutput.additionalContext). Plain text on stdin is taken as the command's output.
# --record (or LESSONS_HOOK_RECORD=1) records the failure itself, detached in the background,
# since a busy store can make a write wait: the outcome goes to $LESSONS_HOOK_LOG. It fails
# open: exit 0 always, at most one line on stderr.

. "$(dirname "$0")/lib.sh"

record=${LESSONS_HOOK_RECORD:-0}
domain=
exit_code=
while [ $# -gt 0 ]; do
  case $1 in
    --record) record=1; shift ;;
    --domain) domain=${2:-}; shift 2 || shift ;;
    --exit) exit_code=${2:-}; shift 2 || shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
command_line=$*

# One line of at most $2 characters, without control characters or terminal colours.
one_line() {
  esc=$(printf '\033')
  printf '%s' "$1" | sed "s/${esc}\[[0-9;]*[A-Za-z]//g" | tr -d '\000-\010\013\014\016-\037\177' |
    tr '\r\n\t' '   ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c "1-$2"
}

# Text of at most $2 characters, lines kept, control characters and colours removed.
clean_text() {
  esc=$(printf '\033')
  printf '%s' "$1" | sed "s/${esc}\[[0-9;]*[A-Za-z]//g" | tr -d '\000-\010\013\014\016-\037\177' |
    head -c "$2"
}

# Read the framework's JSON into $hook_tmp/{event,tool,command,error,interrupt}; 1 if not JSON.
parse_event() {
  node -e '
    const fs = require("fs");
    const [file, dir] = process.argv.slice(1);
    let event;
    try { event = JSON.parse(fs.readFileSync(file, "utf8")); } catch { process.exit(1); }
    if (event === null || typeof event !== "object" || Array.isArray(event)) process.exit(1);
    const input = event.tool_input ?? {};
    const response = event.tool_response ?? {};
    const text = (v) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
    const put = (name, value) => fs.writeFileSync(`${dir}/${name}`, text(value));
    put("event", event.hook_event_name);
    put("tool", event.tool_name);
    put("command", input.command ?? event.command);
    put("error", event.error ?? event.error_message ?? response.stderr ?? response.error);
    put("interrupt", event.is_interrupt === true ? "1" : "");
  ' "$hook_tmp/stdin" "$hook_tmp" 2>/dev/null
}

# Print the offer, as JSON for a framework that sent JSON, else as text.
answer() {
  if [ -n "$event" ]; then
    node -e '
      const [event, text] = process.argv.slice(1);
      process.stdout.write(JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: text } }) + "\n");
    ' "$event" "$1" || warn "could not write the answer as JSON (is node on PATH?)."
  else
    printf '%s\n' "$1"
  fi
}

main() {
  find_lessons || return 0
  hook_tmpdir || { warn "no temporary directory; skipped."; return 0; }
  read_stdin "$hook_tmp/stdin"
  event= tool= error=
  if [ -s "$hook_tmp/stdin" ]; then
    if parse_event; then
      event=$(cat "$hook_tmp/event") tool=$(cat "$hook_tmp/tool")
      [ -n "$command_line" ] || command_line=$(cat "$hook_tmp/command")
      error=$(cat "$hook_tmp/error")
      [ -z "$(cat "$hook_tmp/interrupt")" ] || return 0 # stopped by the user: not a failure
    else
      error=$(cat "$hook_tmp/stdin")
    fi
  fi
  what=$(one_line "${command_line:-$tool}" 200)
  if [ -z "$what" ]; then
    warn "no failed command given (pass it after --, or pipe the framework's JSON); skipped."
    return 0
  fi
  [ -n "$domain" ] || domain=$(project_domain)
  summary="\`$what\` failed${exit_code:+ with exit code $exit_code}$(if [ -n "$error" ]; then printf ': %s' "$(one_line "$error" 300)"; fi)"

  # Failures recorded before that share words with the command, best match first.
  query=$(one_line "$what" 200 | tr -c 'A-Za-z0-9_\n' ' ' | tr -s ' ' '\n' | awk 'length($0) > 2' |
    head -n 8 | sed 's/.*/"&"/' | paste -s -d ' ' - | sed 's/" "/" OR "/g')
  past=
  if [ -n "$query" ]; then
    bounded "$hook_tmp/out" "$hook_tmp/err" \
      "$lessons" search --raw --kind failure --limit 3 "$query"
    status=$?
    if [ "$status" -eq 0 ]; then
      grep -q '^Nothing matches' "$hook_tmp/out" || past=$(cat "$hook_tmp/out")
    elif [ "$status" -eq 124 ]; then
      warn "\`lessons search\` took longer than ${LESSONS_HOOK_TIMEOUT} s; skipped it."
    else
      warn "$(sed 's/^lessons: //' "$hook_tmp/err" | head -n 1)"
    fi
  fi

  text="lessons: $summary"
  if [ -n "$past" ]; then
    text="$text
Failures recorded before that match it:
$past"
  fi
  if [ "$record" = 1 ]; then
    detach sh -c 'out=$("$@" 2>&1); status=$?
      printf "%s exit %s %s\n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$status" "$out"' \
      lessons-hook-record "$lessons" --json record-failure \
      --title "$(one_line "Command failed: $what" 500)" --domain "$domain" --severity low \
      --tags hook,command-failure --summary "$summary" \
      --what-happened "$(clean_text "${error:-(no output captured)}" 8000)"
    text="$text
Recorded as a failure in $domain, in the background (outcome in $LESSONS_HOOK_LOG). Once you know why it failed, record the cause and its prevention."
  else
    text="$text
If you find out why it failed, record it so the next task avoids it: the record_failure tool of the lessons MCP server, or
  lessons record-failure --domain $domain --title \"<what went wrong>\" --root-cause \"...\" --prevention \"...\""
  fi
  answer "$text"
}

main
exit 0
