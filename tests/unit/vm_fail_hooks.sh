#!/bin/bash
# vm_fail_hooks.sh: proves that the testbed's fail() (tests/vm/lib.sh) runs
# every vm_on_fail hook in order, keeps the first reason when a hook fails
# again, and still ends the scenario with status 1.
set -u
lib=$(cd "$(dirname "$0")/../vm" && pwd)/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(
	VM_OUTDIR=$out
	# shellcheck source=tests/vm/lib.sh
	source "$lib"
	first() { echo first >>"$out/log"; }
	nested() { fail "from a hook"; echo nested-returned >>"$out/log"; }
	last() { echo last >>"$out/log"; }
	vm_on_fail first
	vm_on_fail nested
	vm_on_fail last
	fail "the reason"
	echo "fail returned" >>"$out/log"
)
rc=$?
want=$'first\nnested-returned\nlast'
got=$(cat "$out/log")
[[ $rc == 1 ]] || { echo "exit status $rc, want 1"; exit 1; }
[[ $got == "$want" ]] || { printf 'hooks ran as:\n%s\nwant:\n%s\n' "$got" "$want"; exit 1; }
[[ $(cat "$out/.reason") == "the reason" ]] || { echo "reason: $(cat "$out/.reason")"; exit 1; }
