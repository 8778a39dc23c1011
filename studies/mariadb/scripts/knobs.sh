# The study's MariaDB knobs (sourced): name, baseline value, allowed values.
#
# The baseline is MariaDB 10.11 as Debian 12 ships it (/etc/mysql/mariadb.conf.d/50-server.cnf
# leaves these at the server's defaults) with the binary log switched on, as that file's
# commented log_bin line suggests and as servers that are backed up or replicated run.
# mariadb_server.yaml declares the search domain; the patterns here are the scripts' own
# guard against a value that would break my.cnf or the server, not the domain.

KNOBS="innodb_buffer_pool_size innodb_log_buffer_size innodb_log_file_size innodb_flush_method
innodb_flush_log_at_trx_commit innodb_doublewrite innodb_io_capacity innodb_adaptive_hash_index
sync_binlog thread_cache_size table_open_cache sort_buffer_size read_buffer_size
read_rnd_buffer_size max_heap_table_size max_connections"

knob_default() {
    case $1 in
        innodb_buffer_pool_size) echo 134217728 ;;
        innodb_log_buffer_size) echo 16777216 ;;
        innodb_log_file_size) echo 100663296 ;;
        innodb_flush_method) echo O_DIRECT ;;
        innodb_flush_log_at_trx_commit) echo 1 ;;
        innodb_doublewrite) echo ON ;;
        innodb_io_capacity) echo 200 ;;
        innodb_adaptive_hash_index) echo OFF ;;
        sync_binlog) echo 0 ;;
        thread_cache_size) echo 151 ;;
        table_open_cache) echo 2000 ;;
        sort_buffer_size) echo 2097152 ;;
        read_buffer_size) echo 131072 ;;
        read_rnd_buffer_size) echo 262144 ;;
        max_heap_table_size) echo 16777216 ;;
        max_connections) echo 151 ;;
        *) return 1 ;;
    esac
}

# knob_valid NAME VALUE: whether VALUE can be written into my.cnf for NAME.
knob_valid() {
    local n=$2
    case $1 in
        innodb_flush_method)
            case $n in fsync|O_DSYNC|O_DIRECT|O_DIRECT_NO_FSYNC) return 0 ;; *) return 1 ;; esac ;;
        innodb_doublewrite|innodb_adaptive_hash_index)
            case $n in ON|OFF) return 0 ;; *) return 1 ;; esac ;;
    esac
    case $n in ''|*[!0-9]*) return 1 ;; esac
    [ ${#n} -le 12 ] || return 1
    n=$((10#$n))
    local KiB=1024 MiB=1048576 GiB=1073741824
    case $1 in
        innodb_buffer_pool_size) [ "$n" -ge $((8 * MiB)) ] && [ "$n" -le $((4 * GiB)) ] ;;
        innodb_log_buffer_size) [ "$n" -ge $((2 * MiB)) ] && [ "$n" -le $((1 * GiB)) ] ;;
        innodb_log_file_size) [ "$n" -ge $((4 * MiB)) ] && [ "$n" -le $((4 * GiB)) ] ;;
        innodb_flush_log_at_trx_commit) [ "$n" -le 2 ] ;;
        innodb_io_capacity) [ "$n" -ge 100 ] && [ "$n" -le 100000 ] ;;
        sync_binlog) [ "$n" -le 100000 ] ;;
        thread_cache_size) [ "$n" -le 16384 ] ;;
        table_open_cache) [ "$n" -ge 10 ] && [ "$n" -le 1048576 ] ;;
        sort_buffer_size|read_buffer_size|read_rnd_buffer_size)
            [ "$n" -ge $((8 * KiB)) ] && [ "$n" -le $((1 * GiB)) ] ;;
        max_heap_table_size) [ "$n" -ge $((16 * KiB)) ] && [ "$n" -le $((4 * GiB)) ] ;;
        max_connections) [ "$n" -ge 10 ] && [ "$n" -le 100000 ] ;;
        *) return 1 ;;
    esac
}

# knob_value NAME: the value in force: params.env in the work folder, else the baseline.
knob_value() {
    local line
    if [ -n "${WORK:-}" ] && [ -f "$WORK/params.env" ]; then
        line=$(grep -m1 "^$1=" "$WORK/params.env" || true)
        if [ -n "$line" ]; then echo "${line#*=}"; return 0; fi
    fi
    knob_default "$1"
}
