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
status=0
if grep -E "$pattern" "$log" | grep -qvE "$user_trap"; then
	echo "check-log: kernel problems in $log:"
	grep -nE -A12 "$pattern" "$log" | grep -vE "$user_trap" | head -120
	status=1
fi
if [ -n "$leaks" ] && [ -s "$leaks" ]; then
	echo "check-log: kmemleak reports in $leaks:"
	head -60 "$leaks"
	status=1
fi
[ $status = 0 ] && echo "check-log: no kernel problems in ${log##*/}"
exit $status
