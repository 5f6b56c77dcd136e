#!/bin/sh
# Install what the benchmark's peer rows and chart need, when we can.
#
# GLib (libglib2.0-dev) gives the GMutex, GCond, GAsyncQueue, GThreadPool
# rows; gnuplot draws bench/results.png. Both are optional: without them the
# GLib rows are skipped and the chart is not drawn, and run.py says so.
# We install only as root (as CI and a fresh machine run); otherwise we print
# the command and go on.
set -u

want=""
pkg-config --exists glib-2.0 2>/dev/null || want="$want libglib2.0-dev"
command -v pkg-config >/dev/null 2>&1 || want="$want pkg-config"
command -v gnuplot >/dev/null 2>&1 || want="$want gnuplot-nox"
command -v python3 >/dev/null 2>&1 || want="$want python3"

[ -z "$want" ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing$want"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $want >/dev/null ||
        echo "bench: could not install$want; those rows will be skipped" >&2
else
    echo "bench: missing$want; to get every row run:" >&2
    echo "    sudo apt-get install$want" >&2
fi
exit 0
