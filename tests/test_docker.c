/*
 * The Docker image without a Docker daemon (none on the development
 * machines): what the image runs, run the way it runs it.
 * - docker/entrypoint.sh under /bin/sh (dash), a temporary directory
 *   standing in for the volume: the first start creates an admin key and
 *   prints it once, then serves with it; later starts keep the key file
 *   as it is; other commands pass through.
 * - `cpqd health URL`, the HEALTHCHECK: 0 for a 200 from /healthz, 1 for
 *   anything else (refused, another status, silence past --timeout).
 * - scripts/install-deps.sh, the image's install step, under /bin/sh.
 * - The files agree: the Dockerfile installs with that script, probes
 *   with `cpqd health`, starts through the entrypoint; .dockerignore keeps
 *   build/ and var/ out of the image; the compose file (two instances on
 *   PostgreSQL behind nginx, after a one-time setup) and the README use
 *   the Dockerfile's volume; the load balancer sends to the services the
 *   compose file runs.
 * - `entrypoint.sh setup`, the compose file's one-time step: the key and
 *   the schema, once, without serving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- the entrypoint ---- */

/* Starts `sh docker/entrypoint.sh args...` with the image's settings
 * pointed at this repository and var (the volume), its output in log.
 * Returns the pid (the entrypoint execs cpqd: the same process). */
static pid_t entry_spawn(const char *var, const char *log, const char *const *args)
{
    char bin[PATH_MAX];
    if (!realpath(tu_bin(), bin))
        fail_msg("no cpqd binary at %s", tu_bin());
    char *script = tu_path("docker/entrypoint.sh");
    char *cats = tu_path("catalogs"), *rules = tu_path("rules");
    const char *argv[16] = {"sh", script};
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("CPQD_BIN", bin, 1);
        setenv("CPQD_CATALOGS", cats, 1);
        setenv("CPQD_RULES", rules, 1);
        setenv("CPQD_VAR", var, 1);
        setenv("CPQD_LISTEN", "127.0.0.1:0", 1);
        execv("/bin/sh", (char *const *)argv);
        _exit(127);
    }
    free(script);
    free(cats);
    free(rules);
    return pid;
}

/* Waits for the server started by the entrypoint to answer /healthz;
 * fills s (pid, port, log). */
static void entry_wait(tu_server *s, pid_t pid, const char *log)
{
    memset(s, 0, sizeof(*s));
    s->pid = pid;
    snprintf(s->log, sizeof(s->log), "%s", log);
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (!s->port && tu_now_ms() < deadline && tu_wait_exit(pid, 10) < 0) {
        char *text = tu_read_file(log, NULL);
        const char *at = text ? strstr(text, "listening on 127.0.0.1:") : NULL;
        if (at)
            s->port = atoi(at + strlen("listening on 127.0.0.1:"));
        free(text);
    }
    tu_resp r = {0};
    int st = 0;
    while (s->port && st != 200 && tu_now_ms() < deadline) {
        if (tu_get(s->port, "/healthz", &r) == 0)
            st = r.status;
        tu_resp_free(&r);
        if (st != 200)
            tu_sleep_ms(10);
    }
    if (st != 200) {
        tu_server_dump(s);
        fail_msg("the entrypoint did not start a server");
    }
}

/* The key the entrypoint printed in log, or NULL. */
static char *printed_key(const char *log)
{
    char *text = tu_read_file(log, NULL);
    const char *at = text ? strstr(text, "cpqd: admin key: ") : NULL;
    char *key = at ? strndup(at + 17, strcspn(at + 17, "\n")) : NULL;
    free(text);
    return key;
}

static int get_quotes(int port, const char *key)
{
    char *hdr = key ? tu_fmt("Authorization: Bearer %s\r\n", key) : NULL;
    tu_resp r;
    assert_int_equal(tu_http(port, "GET", "/v1/quotes", hdr, NULL, 0, &r), 0);
    int st = r.status;
    tu_resp_free(&r);
    free(hdr);
    return st;
}

/* First start on an empty volume: one admin key created, printed once,
 * the server up with it (and only with keys), healthy by `cpqd health`;
 * SIGTERM stops it with 0. The second start creates nothing, prints no
 * key and serves with the same key file. */
static void test_docker_entrypoint_creates_the_key_once_and_serves(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *var = tu_fmt("%s/var", dir), *log1 = tu_fmt("%s/first.log", dir);
    char *log2 = tu_fmt("%s/second.log", dir), *keys = tu_fmt("%s/keys.yaml", var);
    const char *args[] = {"serve", "--clock", TU_TODAY, "--threads", "2", NULL};
    tu_server s;
    entry_wait(&s, entry_spawn(var, log1, args), log1);
    char *key = printed_key(log1);
    if (!key) {
        tu_server_dump(&s);
        fail_msg("no key printed on the first start");
    }
    assert_true(strlen(key) > 20);
    assert_int_equal(get_quotes(s.port, key), 200);
    assert_int_equal(get_quotes(s.port, NULL), 401); /* keys are on */
    char *url = tu_fmt("http://127.0.0.1:%d", s.port);
    const char *health[] = {"health", url, NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_run(health, &out, &err), 0);
    assert_true(strncmp(out, "healthy: ", 9) == 0);
    free(out), free(err);
    struct stat st;
    assert_int_equal(stat(keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *keys_before = tu_read_file(keys, NULL);
    assert_non_null(keys_before);
    assert_int_equal(tu_server_stop(&s), 0);
    /* the store is in the volume too */
    char *db = tu_fmt("%s/cpqd.db", var);
    assert_int_equal(stat(db, &st), 0);

    entry_wait(&s, entry_spawn(var, log2, args), log2);
    char *again = printed_key(log2);
    char *text = tu_read_file(log2, NULL);
    assert_null(again);
    assert_null(strstr(text, "created the first admin API key"));
    char *keys_after = tu_read_file(keys, NULL);
    assert_string_equal(keys_after, keys_before);
    assert_int_equal(get_quotes(s.port, key), 200);
    assert_int_equal(tu_server_stop(&s), 0);
    free(text), free(keys_after), free(keys_before), free(db), free(url), free(key);
    tu_rm_tree(dir);
    free(dir), free(var), free(log1), free(log2), free(keys);
}

/* setup: the key once and the schema, then exit 0 without serving; a
 * later serve on the same volume uses that key and store. */
static void test_docker_entrypoint_setup_makes_key_and_schema_once(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *var = tu_fmt("%s/var", dir), *log1 = tu_fmt("%s/setup1.log", dir);
    char *log2 = tu_fmt("%s/setup2.log", dir), *log3 = tu_fmt("%s/serve.log", dir);
    char *db = tu_fmt("%s/cpqd.db", var), *keys = tu_fmt("%s/keys.yaml", var);
    const char *setup[] = {"setup", NULL};
    assert_int_equal(tu_wait_exit(entry_spawn(var, log1, setup), 60000), 0);
    char *key = printed_key(log1), *text = tu_read_file(log1, NULL);
    assert_non_null(key);
    assert_non_null(strstr(text, "schema version 0 -> ")); /* cpqd migrate made the schema */
    struct stat st;
    assert_int_equal(stat(db, &st), 0);
    char *keys_before = tu_read_file(keys, NULL);
    free(text);
    /* again: no new key, the schema already there */
    assert_int_equal(tu_wait_exit(entry_spawn(var, log2, setup), 60000), 0);
    char *again = printed_key(log2);
    assert_null(again);
    char *keys_after = tu_read_file(keys, NULL);
    assert_string_equal(keys_after, keys_before);
    /* the instance serves with the key setup made */
    const char *args[] = {"serve", "--clock", TU_TODAY, "--threads", "2", NULL};
    tu_server s;
    entry_wait(&s, entry_spawn(var, log3, args), log3);
    assert_int_equal(get_quotes(s.port, key), 200);
    assert_int_equal(tu_server_stop(&s), 0);
    free(key), free(keys_before), free(keys_after);
    tu_rm_tree(dir);
    free(dir), free(var), free(log1), free(log2), free(log3), free(db), free(keys);
}

/* Any command but serve goes to cpqd as it is, and creates no key. */
static void test_docker_entrypoint_passes_other_commands_through(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *var = tu_fmt("%s/var", dir), *log = tu_fmt("%s/version.log", dir);
    const char *args[] = {"version", NULL};
    pid_t pid = entry_spawn(var, log, args);
    assert_int_equal(tu_wait_exit(pid, TU_WAIT_MS), 0);
    char *text = tu_read_file(log, NULL);
    assert_true(strncmp(text, "cpqd ", 5) == 0);
    assert_null(strstr(text, "admin key"));
    struct stat st;
    assert_int_not_equal(stat(var, &st), 0); /* nothing created */
    free(text);
    tu_rm_tree(dir);
    free(dir), free(var), free(log);
}

/* ---- cpqd health ---- */

/* A one-connection HTTP peer: answers reply (NULL: never answers, holds
 * the connection until stopped). */
typedef struct peer {
    int fd, port;
    const char *reply;
    atomic_bool stop;
    pthread_t th;
} peer;

static void *peer_main(void *arg)
{
    peer *p = arg;
    int c = -1;
    while (c < 0 && !atomic_load(&p->stop)) {
        struct pollfd pf = {p->fd, POLLIN, 0};
        if (poll(&pf, 1, 20) > 0)
            c = accept(p->fd, NULL, NULL);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    long long deadline = tu_now_ms() + TU_WAIT_MS;
    while (c >= 0 && (!buf || !strstr(buf, "\r\n\r\n")) && tu_now_ms() < deadline &&
           tu_read_some(c, &buf, &len, &cap, deadline) > 0)
        ;
    if (c >= 0 && p->reply)
        tu_send(c, p->reply, strlen(p->reply));
    while (c >= 0 && !p->reply && !atomic_load(&p->stop))
        tu_sleep_ms(10);
    if (c >= 0)
        close(c);
    free(buf);
    return NULL;
}

static void peer_start(peer *p, const char *reply)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(p->fd >= 0);
    assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(p->fd, 4), 0);
    socklen_t al = sizeof(a);
    getsockname(p->fd, (struct sockaddr *)&a, &al);
    p->port = ntohs(a.sin_port);
    p->reply = reply;
    atomic_store(&p->stop, false);
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void peer_stop(peer *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
    close(p->fd);
}

/* cpqd health URL against a peer; returns the exit status, *err its
 * stderr. */
static int health(int port, const char *extra, char **err)
{
    char *url = tu_fmt("http://127.0.0.1:%d", port);
    const char *argv[] = {"health", url, extra ? "--timeout" : NULL, extra, NULL};
    char *out = NULL;
    int st = tu_run(argv, &out, err);
    free(out);
    free(url);
    return st;
}

static void test_docker_health_is_1_unless_healthz_answers_200(void **state)
{
    (void)state;
    char *err = NULL;
    /* a port nobody listens on */
    peer p;
    peer_start(&p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    int closed = p.port;
    peer_stop(&p);
    assert_int_equal(health(closed, NULL, &err), 1);
    assert_non_null(strstr(err, "unhealthy: "));
    assert_non_null(strstr(err, "no answer"));
    free(err);
    /* another status */
    peer_start(&p, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n\r\n");
    assert_int_equal(health(p.port, NULL, &err), 1);
    assert_non_null(strstr(err, "GET /healthz: HTTP 503"));
    free(err);
    peer_stop(&p);
    /* silence: bounded by --timeout */
    peer_start(&p, NULL);
    long long t0 = tu_now_ms();
    assert_int_equal(health(p.port, "1", &err), 1);
    assert_true(tu_now_ms() - t0 < TU_WAIT_MS);
    assert_non_null(strstr(err, "unhealthy: "));
    free(err);
    peer_stop(&p);
    /* 200 */
    peer_start(&p, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 44\r\n"
                   "\r\n{\"status\":\"ok\",\"version\":\"0123456789abcdef\"}");
    assert_int_equal(health(p.port, NULL, &err), 0);
    assert_string_equal(err, "");
    free(err);
    peer_stop(&p);
    /* usage errors: 2 */
    const char *none[] = {"health", NULL};
    const char *ftp[] = {"health", "ftp://127.0.0.1/", NULL};
    const char *zero[] = {"health", "http://127.0.0.1:1", "--timeout", "0", NULL};
    const char *const *bad[] = {none, ftp, zero};
    for (size_t i = 0; i < 3; i++) {
        char *out = NULL;
        assert_int_equal(tu_run(bad[i], &out, &err), 2);
        free(out);
        free(err);
    }
}

/* ---- the install script and the files ---- */

/* The image's install step is this script under /bin/sh: on a machine
 * with every package (this one: `make test` ran it first) it installs
 * nothing and exits 0. */
static void test_docker_install_script_runs_under_sh(void **state)
{
    (void)state;
    char *script = tu_path("scripts/install-deps.sh");
    char *dir = tu_tmpdir(), *log = tu_fmt("%s/deps.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", script, (char *)NULL);
        _exit(127);
    }
    int st = tu_wait_exit(pid, TU_WAIT_MS);
    char *text = tu_read_file(log, NULL);
    if (st != 0)
        fail_msg("sh scripts/install-deps.sh: exit %d\n%s", st, text ? text : "");
    assert_string_equal(text, "");
    free(text);
    tu_rm_tree(dir);
    free(dir), free(log), free(script);
}

static char *repo_file(const char *rel)
{
    char *p = tu_path(rel);
    char *text = tu_read_file(p, NULL);
    if (!text)
        fail_msg("cannot read %s", p);
    free(p);
    return text;
}

/* Whether text has a line equal to line (trailing spaces ignored). */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        size_t k = strcspn(l, "\n");
        while (k > n && (l[k - 1] == ' ' || l[k - 1] == '\r'))
            k--;
        if (k == n && !strncmp(l, line, n))
            return true;
    }
    return false;
}

static void test_docker_files_agree(void **state)
{
    (void)state;
    char *df = repo_file("docker/Dockerfile");
    char *compose = repo_file("docker/compose.yaml");
    char *ignore = repo_file(".dockerignore");
    char *readme = repo_file("README.md");
    /* the build stage installs with the repository's script */
    assert_true(has_line(df, "RUN sh scripts/install-deps.sh && make all"));
    /* the health probe is the binary's own, never /dev/tcp */
    assert_non_null(strstr(df, "CMD [\"/usr/local/bin/cpqd\", \"health\", \"http://127.0.0.1:8080\"]"));
    assert_null(strstr(df, "/dev/tcp"));
    /* started through docker/entrypoint.sh under /bin/sh */
    assert_true(has_line(df, "COPY docker/entrypoint.sh /usr/local/bin/cpqd-entrypoint"));
    assert_true(has_line(df, "ENTRYPOINT [\"/bin/sh\", \"/usr/local/bin/cpqd-entrypoint\"]"));
    assert_true(has_line(df, "CMD [\"serve\"]"));
    /* one volume, one name */
    assert_true(has_line(df, "VOLUME /srv/cpqd/var"));
    assert_non_null(strstr(df, "-v cpqd-var:/srv/cpqd/var"));
    assert_non_null(strstr(compose, "- cpqd-var:/srv/cpqd/var"));
    assert_non_null(strstr(compose, "\n  cpqd-var:\n    name: cpqd-var"));
    assert_non_null(strstr(readme, "cpqd-var:/srv/cpqd/var"));
    assert_non_null(strstr(readme, "docker compose -f docker/compose.yaml up"));
    /* two instances on one PostgreSQL database after one setup, behind
     * nginx: every upstream of nginx.conf is a service of the compose file */
    char *nginx = repo_file("docker/nginx.conf"), *lb = repo_file("docker/lb.Dockerfile");
    assert_non_null(strstr(compose, "CPQD_DB: postgresql://cpqd:cpqd@db:5432/cpqd"));
    assert_non_null(strstr(compose, "--lc-collate=C --lc-ctype=C"));
    assert_non_null(strstr(compose, "command: [\"setup\"]"));
    assert_non_null(strstr(compose, "setup: {condition: service_completed_successfully}"));
    static const char *const instances[] = {"cpqd1", "cpqd2"};
    for (size_t i = 0; i < 2; i++) {
        char *svc = tu_fmt("\n  %s:\n    <<: *cpqd\n", instances[i]);
        char *up = tu_fmt("server %s:8080 ", instances[i]);
        assert_non_null(strstr(compose, svc));
        assert_non_null(strstr(nginx, up));
        free(svc), free(up);
    }
    assert_true(has_line(lb, "COPY docker/nginx.conf /etc/nginx/nginx.conf"));
    assert_non_null(strstr(compose, "dockerfile: docker/lb.Dockerfile"));
    free(nginx), free(lb);
    /* keys and databases stay out of the image */
    assert_true(has_line(ignore, "build/"));
    assert_true(has_line(ignore, "var/"));
    free(df), free(compose), free(ignore), free(readme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_entrypoint_creates_the_key_once_and_serves),
        cmocka_unit_test(test_docker_entrypoint_passes_other_commands_through),
        cmocka_unit_test(test_docker_entrypoint_setup_makes_key_and_schema_once),
        cmocka_unit_test(test_docker_health_is_1_unless_healthz_answers_200),
        cmocka_unit_test(test_docker_install_script_runs_under_sh),
        cmocka_unit_test(test_docker_files_agree),
    };
    return cmocka_run_group_tests_name("docker", tests, NULL, NULL);
}
