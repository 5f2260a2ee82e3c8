# Shared by the bench scripts (sourced, POSIX sh).
#
# free_port [SALT]: the first loopback port nothing answers on, from
# 20000 + ($$ + SALT) % 20000 up (curl exits 7: connection refused;
# /dev/tcp is bash's, not sh's). Scripts run by one another start from
# different salts, so that their searches do not meet.
free_port() {
    p=$(( 20000 + ($$ + ${1:-0}) % 20000 ))
    while curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$p/"; [ $? -ne 7 ]; do
        p=$((p + 1))
    done
    echo "$p"
}

# wait_up URL WHAT [SECONDS]: waits until URL answers 2xx, at most SECONDS
# (default 10); else says that WHAT did not start and returns 1.
wait_up() {
    wu_n=$(( ${3:-10} * 10 )) # sh has no locals: names of its own
    wu_i=0
    until curl -fs -o /dev/null "$1"; do
        wu_i=$((wu_i + 1))
        [ $wu_i -gt $wu_n ] && { echo "$2 did not start" >&2; return 1; }
        sleep 0.1
    done
}
