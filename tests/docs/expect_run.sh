# expect_run EXPECTED_EXIT EXPECTED_TEXT COMMAND...: runs a docs checker and
# fails the calling test unless it exits with EXPECTED_EXIT and its output
# contains EXPECTED_TEXT. Sourced by the docs checkers' tests.
expect_run() {
  local want_rc=$1 want_text=$2 out rc
  shift 2
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  if [[ $rc -ne $want_rc ]]; then
    echo "FAIL: expected exit $want_rc, got $rc; output:"; echo "$out"; exit 1
  fi
  if ! grep -qF -- "$want_text" <<<"$out"; then
    echo "FAIL: expected output containing: $want_text; got:"; echo "$out"; exit 1
  fi
  echo "ok: exit $rc, $want_text"
}
