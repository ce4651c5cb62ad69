#!/usr/bin/env bash
# The cadence demo against a real CalDAV server (Radicale), for anyone who wants to see the
# bookings in a calendar app rather than in .ics files:
#
#     bash examples/radicale-demo/run.sh               # run one cycle, list what was booked
#     KEEP_RUNNING=1 bash examples/radicale-demo/run.sh  # ...then keep Radicale up to browse
#
# Radicale listens on 127.0.0.1:5232 with its storage in a temporary folder (deleted at the
# end); user "cadence", password "demo-password". Needs the venv of `make demo` or `make test`
# (the caldav and test extras: caldav, radicale).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
cadence="${CADENCE:-$root/.venv/bin/cadence}"
port=5232
config="examples/radicale-demo/cadence.toml"

if ! "$python" -c "import caldav, radicale" 2>/dev/null; then
    echo "run.sh: needs caldav and radicale: run 'make test' once, or" >&2
    echo "        $python -m pip install -e '$root[caldav,test]'" >&2
    exit 1
fi

work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export CADENCE_CALDAV_PASSWORD="demo-password"
printf 'cadence:%s\n' "$CADENCE_CALDAV_PASSWORD" > "$work/users"

"$python" -m radicale --config "" \
    --storage-filesystem-folder "$work/collections" \
    --server-hosts "127.0.0.1:$port" \
    --auth-type htpasswd --auth-htpasswd-filename "$work/users" \
    --auth-htpasswd-encryption plain --auth-delay 0 \
    --rights-type authenticated \
    --logging-level warning >"$work/radicale.log" 2>&1 &
pid=$!

# Wait for the port, then make one calendar per salesperson of the config, named after them.
if ! "$python" - "$port" "$root/$config" <<'PY'
import socket, sys, time, tomllib

import caldav
import requests

port, config = int(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"radicale did not start on 127.0.0.1:{port} (is the port taken?)")
        time.sleep(0.1)

auth = requests.auth.HTTPBasicAuth("cadence", "demo-password")
with caldav.DAVClient(f"http://127.0.0.1:{port}/", auth=auth) as client:
    principal = client.principal()
    with open(config, "rb") as handle:
        people = tomllib.load(handle)["salesperson"]
    for person in people:
        user = person["email"].partition("@")[0]
        principal.make_calendar(name=person.get("name", user), cal_id=user)
        print(f"calendar for {person['email']}: http://127.0.0.1:{port}/cadence/{user}/")
PY
then
    cat "$work/radicale.log" >&2
    exit 1
fi

rm -f /tmp/cadence-radicale-demo.db
cd "$root"
"$cadence" --config "$config" run --once

# What is in the calendars now, read back through CalDAV.
"$python" - "$port" "$root/$config" <<'PY'
import sys, tomllib

import caldav
import requests

port, config = int(sys.argv[1]), sys.argv[2]
auth = requests.auth.HTTPBasicAuth("cadence", "demo-password")
with open(config, "rb") as handle:
    people = tomllib.load(handle)["salesperson"]
with caldav.DAVClient(f"http://127.0.0.1:{port}/", auth=auth) as client:
    for person in people:
        user = person["email"].partition("@")[0]
        events = client.calendar(url=f"http://127.0.0.1:{port}/cadence/{user}/").events()
        starts = sorted(  # str(): all-day dates and timed datetimes sort together
            (str(e.icalendar_component.decoded("dtstart")), str(e.icalendar_component["summary"]))
            for e in events
        )
        print(f"\n{person['email']}: {len(events)} events in CalDAV")
        for start, summary in starts[:3]:
            print(f"  {start}  {summary}")
        if len(starts) > 3:
            print(f"  ... and {len(starts) - 3} more")
PY

if [ "${KEEP_RUNNING:-}" = "1" ]; then
    echo
    echo "Radicale keeps running at http://127.0.0.1:$port/ (user cadence, password demo-password)."
    echo "Add the calendar URLs above to any CalDAV app; Ctrl-C stops it and deletes the data."
    wait "$pid"
fi
