#!/bin/bash
# Fail if the serial log shows any kernel splat: BUG, WARNING, oops, panic,
# KASAN/UBSAN/KFENCE reports, lockdep, RCU and hung-task reports, kmemleak.
# Prints each hit with context. Usage: ci/check-log.sh LOG [KMEMLEAK_FILE]
set -u
log=$1
leaks=${2:-}
pattern='(^|[] ])(BUG:|WARNING:|Oops|Kernel panic|general protection fault|UBSAN:|KASAN:|KFENCE:|kernel BUG at|list_(add|del) corruption|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|INFO: rcu_|Call Trace:|refcount_t:|unreferenced object)'
# A user-mode fault the kernel reports ("traps: COMM[PID] general protection
# fault ip:... in PROG") is a program's fault, not the kernel's: the
# hostile-use selftest provokes one on purpose (an outb without ioperm()).
user_trap='traps: .*\[[0-9]+\] general protection fault ip:'
# An OOM kill in a memory cgroup is the kernel doing its job (the hostile-use
# selftest fills a cgroup with embryos until its limit), but its report
# has a call trace: drop each report, from "invoked oom-killer" to the line
# that names the killed process, before looking for problems.
oom_free=$(mktemp)
trap 'rm -f "$oom_free"' EXIT
awk '/invoked oom-killer:/ { skip = 1 }
	!skip { print; next }
	/(Memory cgroup out of memory|Out of memory): Killed process/ { skip = 0 }' \
	"$log" >"$oom_free"
status=0
if grep -E "$pattern" "$oom_free" | grep -qvE "$user_trap"; then
	echo "check-log: kernel problems in $log:"
	grep -nE -A12 "$pattern" "$oom_free" | grep -vE "$user_trap" | head -120
	status=1
fi
if [ -n "$leaks" ] && [ -s "$leaks" ]; then
	echo "check-log: kmemleak reports in $leaks:"
	head -60 "$leaks"
	status=1
fi
[ $status = 0 ] && echo "check-log: no kernel problems in ${log##*/}"
exit $status
