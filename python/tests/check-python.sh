# Sourced by tests/check.sh after the C suites: build pycthreading for each
# interpreter (make python) and run python/tests/run.py under each. Uses and
# updates check.sh's summary, total_p, total_f, total_s and status.
#
# The system interpreter's `test` package is Debian's libpython3.11-testsuite;
# it is installed when missing (as root, with apt-get), else the command to
# run is printed.

PYTHONS=${PYTHONS:-"/usr/bin/python3 /root/.pyenv/versions/3.11.7/bin/python3 /root/.pyenv/versions/3.13.0/bin/python3"}

echo "== python =="
if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import test.lock_tests' 2>/dev/null; then
    pkg=libpython3.$(/usr/bin/python3 -c 'import sys; print(sys.version_info[1])')-testsuite
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "check: installing $pkg"
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg"; } >/dev/null ||
            echo "check: apt-get install $pkg failed"
    else
        echo "check: the Python tests need $pkg: sudo apt-get install $pkg"
    fi
fi
if ! $MAKE --no-print-directory python PYTHONS="$PYTHONS" >build-python.log 2>&1; then
    cat build-python.log
    summary="${summary}python: build failed
"; total_f=$((total_f + 1)); status=1
else
    rm -f build-python.log
    for py in $PYTHONS; do
        [ -x "$py" ] || { echo "python: $py not found, skipped"; continue; }
        out=$("$py" python/tests/run.py 2>&1); rc=$?
        printf '%s\n' "$out"
        line=$(printf '%s\n' "$out" | tail -n 1)
        p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
        f=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        l=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) listed.*/\1/p')
        s=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
        total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-1})); total_s=$((total_s + ${s:-0}))
        [ $rc -eq 0 ] && [ -n "$p" ] || status=1
        ver=$("$py" -c 'import platform; print(platform.python_version())' 2>/dev/null)
        summary="${summary}python $ver: ${p:-0} passed, ${f:-1} failed, ${s:-0} skipped (${l:-0} listed as not applicable)
"
    done
fi
