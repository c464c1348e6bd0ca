#!/usr/bin/env bash
# Checks that the release build of the key generator's constant-time arithmetic has no
# conditional jumps on secret data: disassembles the Montgomery squaring, the Miller-Rabin and
# the Lucas test (src/keygen/mont.rs and lucas.rs) of the release unit-test binary and fails on
#  1. any jump on sign, overflow, parity or a signed comparison (js, jns, jo, jl, jg, ...): how
#     masked corrections come out when the optimiser turns them back into branches;
#  2. any conditional jump whose flags come from arithmetic (add/sub/adc/sbb/and/or/xor/shift/
#     bt/neg/mul between registers), i.e. a branch on a carry, a bit or a word of data;
#  3. more register-against-register comparisons (`cmp`/`test` of two registers) per function
#     than the public ones the code has: loop bounds and bounds checks, the `stop` callback,
#     whether the low word of n ∓ 1 is zero, i < checked_below, P = 1 (the base): at most
#     MR_BUDGET in a Miller-Rabin instance, LUCAS_BUDGET in a Lucas one, POW_BUDGET in the RSA
#     signature's windowed exponentiation (src/keygen/crt.rs: the loop bounds of the inlined
#     Montgomery multiplication), none in a squaring.
# Loop counters (compare/decrement against an immediate) are allowed. Run from the repository
# root; exits non-zero on failure. Needs objdump (binutils; installed with apt-get if missing).
set -euo pipefail
MR_BUDGET=${MR_BUDGET:-4}
LUCAS_BUDGET=${LUCAS_BUDGET:-8}
POW_BUDGET=${POW_BUDGET:-11}
if ! command -v objdump >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y binutils >/dev/null
fi
echo "== release build of the unit-test binary"
out=$(cargo test --release --lib --no-run 2>&1) || { echo "$out" >&2; exit 1; }
bin=$(printf '%s\n' "$out" | sed -n 's/.*Executable unittests src\/lib.rs (\(.*\))$/\1/p' | tail -1)
[ -n "$bin" ] && [ -f "$bin" ] || { echo "cannot find the unit-test binary in:" >&2; echo "$out" >&2; exit 1; }
dis=$(mktemp)
trap 'rm -f "$dis"' EXIT
objdump -d --no-show-raw-insn -C "$bin" > "$dis"
awk -v MR="$MR_BUDGET" -v LUCAS="$LUCAS_BUDGET" -v POW="$POW_BUDGET" '
function report(kind, text) { bad++; printf "%s: %s\n  %s\n", kind, fn, text }
/^[0-9a-f]+ <.*>:$/ {
  fn = ""
  if ($0 ~ /<etcd_pki::keygen::(mont::(square|mul_unrolled|miller_rabin_base_2)|lucas::lucas_bpsw21|crt::pow_window)(::\{\{closure\}\})?>:$/) {
    fn = $0; family = ($0 ~ /pow_window/) ? "pow" : ($0 ~ /square|mul_unrolled/) ? "square" : ($0 ~ /miller_rabin/) ? "mr" : "lucas"
    if ($0 !~ /closure/) seen[family]++
  }
  setter = ""; aftercall = 0; last = ""; next
}
/^$/ { fn = ""; next }
fn != "" {
  line = $0; sub(/^ *[0-9a-f]+:\t/, "", line)
  n = split(line, w, /[ \t]+/); op = w[1]; args = (n > 1) ? w[2] : ""
  if (op ~ /^j/ && op != "jmp") {
    if (op ~ /^j(s|ns|o|no|p|np|pe|po|l|le|g|ge|nl|nle|ng|nge)$/) report("sign/overflow/signed jump", line " (flags: " setter ")")
    else if (setter ~ /^(add|sub|adc|sbb|and|or|xor|shr|shl|sar|sal|bt|neg|imul|mul|lzcnt|tzcnt|bsf|bsr|popcnt|shld|shrd|ror|rol|adcx|adox)/ && setter !~ /^(add|sub)[bwlq]? \$/)
      report("jump on arithmetic flags", line " (flags: " setter ")")
    else if (setter ~ /^(cmp|test)[bwlq]? %[a-z0-9]+,%[a-z0-9]+$/ && !aftercall) regcmp[fn]++
    next
  }
  if (op ~ /^(cmp|test|add|sub|adc|sbb|and|or|xor|dec|inc|neg|shr|shl|sar|sal|bt|imul|mul|lzcnt|tzcnt|bsf|bsr|popcnt|shld|shrd|ror|rol|adcx|adox)/) {
    setter = op " " args; aftercall = (last ~ /^call/)
  }
  last = op
}
END {
  for (f in regcmp) {
    budget = (f ~ /pow_window/) ? POW : (f ~ /square|mul_unrolled/) ? 0 : (f ~ /miller_rabin/) ? MR : LUCAS
    if (regcmp[f] > budget) { bad++; printf "%d register comparisons feeding jumps (budget %d): %s\n", regcmp[f], budget, f }
  }
  for (k in want) {}
  if (seen["square"] < 4 || seen["mr"] < 4 || seen["lucas"] < 4 || seen["pow"] < 3) {
    printf "expected the squaring, Miller-Rabin and Lucas functions of 4 sizes each and the signature exponentiation of 3, found %d, %d, %d, %d: inlined or renamed? the check needs them as symbols\n", seen["square"], seen["mr"], seen["lucas"], seen["pow"]
    exit 1
  }
  if (bad) { printf "FAILED: %d data-dependent jump(s) in the constant-time code\n", bad; exit 1 }
  printf "ok: %d squaring, %d Miller-Rabin, %d Lucas, %d signature exponentiation functions without data-dependent jumps\n", seen["square"], seen["mr"], seen["lucas"], seen["pow"]
}' "$dis"
