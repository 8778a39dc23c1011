# The study's data (sourced by start.sh): the data directory and sysbench's tables.
#
#   init_datadir   mariadb-install-db into WORK/data, then, with the server in bootstrap mode
#                  (no network, no grant checks), sysbench's database and its account
#                  sbtest@127.0.0.1. The server's own root account authenticates by Unix
#                  socket only and is not used by the study.
#   ensure_tables  with the server up: sysbench's tables (MARIADB_STUDY_TABLES tables of
#                  MARIADB_STUDY_TABLE_SIZE rows, default 4 x 100000, about 120 MB with
#                  indexes, a little under the baseline's 128 MiB buffer pool), loaded once
#                  and loaded again only when the size asked for changes.

TABLES=${MARIADB_STUDY_TABLES:-4}
TABLE_SIZE=${MARIADB_STUDY_TABLE_SIZE:-100000}
for v in TABLES TABLE_SIZE; do
    case ${!v} in ''|*[!0-9]*|0) die "MARIADB_STUDY_$v=${!v}: expected a positive whole number" ;; esac
done
[ ${#TABLES} -le 3 ] && [ "$TABLES" -le 64 ] || die "MARIADB_STUDY_TABLES=$TABLES: at most 64"
[ ${#TABLE_SIZE} -le 8 ] && [ "$TABLE_SIZE" -le 10000000 ] || die "MARIADB_STUDY_TABLE_SIZE=$TABLE_SIZE: at most 10000000"

# sysbench's options for the private server and its tables, as its account.
SYSBENCH_ARGS=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$PORT" --mysql-user="$DB_USER"
    --mysql-password="$DB_PASSWORD" --mysql-db="$DB_NAME" --tables="$TABLES" --table-size="$TABLE_SIZE")

init_datadir() {
    local install_user=() server_user=() log=$WORK/logs/install.log
    if [ "$(id -u)" = 0 ]; then
        install_user=(--user="$(stat -c %U "$WORK")")
        server_user=(--user="$(stat -c %U "$WORK")")
    fi
    note "making the data directory $WORK/data (mariadb-install-db)"
    rm -rf "$WORK/data" && mkdir -p "$WORK/data"
    "$MARIADB_INSTALL_DB_BIN" --no-defaults --datadir="$WORK/data" "${install_user[@]}" \
        --auth-root-authentication-method=socket --skip-test-db > "$log" 2>&1 ||
        die "mariadb-install-db failed: $(tail -n 3 "$log" | tr '\n' ' ') (see $log)"
    # FLUSH PRIVILEGES loads the grant tables that bootstrap mode starts without.
    printf '%s\n' "FLUSH PRIVILEGES;" \
        "CREATE DATABASE IF NOT EXISTS $DB_NAME;" \
        "CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';" \
        "GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';" |
        "$MARIADBD_BIN" --no-defaults --datadir="$WORK/data" "${server_user[@]}" --bootstrap \
            --skip-networking --log-error="$WORK/logs/bootstrap.log" >> "$log" 2>&1 ||
        die "could not create sysbench's account: $(tail -n 3 "$WORK/logs/bootstrap.log" | tr '\n' ' ')"
    rm -f "$WORK/data/.sbtest-tables"
}

ensure_tables() {
    local want="tables=$TABLES table_size=$TABLE_SIZE" log=$WORK/logs/prepare.log
    [ "$(cat "$WORK/data/.sbtest-tables" 2>/dev/null)" = "$want" ] && return 0
    need_sysbench
    note "loading sysbench's tables ($TABLES x $TABLE_SIZE rows; once per work folder)"
    rm -f "$WORK/data/.sbtest-tables"
    sql "DROP DATABASE IF EXISTS $DB_NAME; CREATE DATABASE $DB_NAME;" ||
        die "could not empty database $DB_NAME"
    "$SYSBENCH_BIN" oltp_read_write "${SYSBENCH_ARGS[@]}" --threads=2 prepare > "$log" 2>&1 ||
        die "sysbench prepare failed: $(tail -n 3 "$log" | tr '\n' ' ') (see $log)"
    echo "$want" > "$WORK/data/.sbtest-tables"
}
