/*
 * Unit tests for auth: key format and uniqueness, the key file (created
 * 0600, appended byte for byte, validated with exact file:line:col
 * errors), lookups (right entry, every near miss refused, every entry
 * visited), and `cpqd key new` (in process, and through the real binary
 * once main.c has the `key` command).
 * Run from the repository root (CPQD_ROOT); fixtures in tests/data/auth.
 * The keys of tests/data/auth/good.yaml are below; their hashes there were
 * computed with sha256sum, not with this module.
 */
/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpqd/auth.h"
#include "cpqd/digest.h"
#include "testutil.h"

#define DATA "tests/data/auth"

/* The keys of good.yaml, in file order. */
static const char *const good_keys[] = {
    "cpqd_U5cuP7nrPJTe5VP4pqM3SlG4WtsrQStVnCZCyQcDMI0", /* k_00000001 partner P-101 */
    "cpqd_fml_FUQ50KIZStC69z3fZJxOI6TzdRmHNlOytsBkfyY", /* k_00000002 rep */
    "cpqd_VBlbY_kgnaqzc42NJSqh12YVllliG_2qdDgBH322LoY", /* k_00000003 admin */
    "cpqd_Z0m1EhiIsxG5lmwu7ykP4KaYQF0isZWGAKz3iLvcwa4", /* crm.sync-1 crm */
    "cpqd_ch2UYNDniuPTwwTjbjnAuo01CdJdL15x7W0GpV_LnEM", /* k_mgr manager */
};
static const char *const good_ids[] = {"k_00000001", "k_00000002", "k_00000003", "crm.sync-1",
                                       "k_mgr"};

/* ---- helpers ---- */

static auth_keys *load_ok(const char *path)
{
    cpqd_errs *e = errs_new();
    auth_keys *k = NULL;
    int rc = auth_keys_load(path, &k, e);
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(errs_count(e), 0);
    assert_non_null(k);
    errs_free(e);
    return k;
}

/* The sorted, formatted errors of e joined by newlines (malloc'ed). */
static char *errs_join(cpqd_errs *e)
{
    errs_sort(e);
    char *all = calloc(1, 1);
    size_t len = 0;
    for (size_t i = 0; i < errs_count(e); i++) {
        char *m = errs_format(e, i);
        all = realloc(all, len + strlen(m) + 2);
        len += (size_t)sprintf(all + len, "%s\n", m);
        free(m);
    }
    return all;
}

/* Loads DATA/name expecting failure with exactly the errors expected. */
static void expect_errors(const char *name, int code, const char *expected)
{
    char path[256];
    snprintf(path, sizeof(path), DATA "/%s", name);
    cpqd_errs *e = errs_new();
    auth_keys *k = (auth_keys *)&k; /* must be reset to NULL */
    int rc = auth_keys_load(path, &k, e);
    char *all = errs_join(e);
    if (strcmp(all, expected) != 0)
        fail_msg("errors of %s:\n%s\nexpected:\n%s", name, all, expected);
    assert_int_equal(rc, code);
    assert_null(k);
    free(all);
    errs_free(e);
}

/* SHA-256 as the key file writes it, computed here from the digest
 * module (held to the published vectors by test_digest). */
static void sha256_line(const char *key, char out[72])
{
    strcpy(out, "sha256:");
    assert_int_equal(digest_sha256_hex(key, strlen(key), out + 7), 0);
}

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* "cpqd_" + 43 base64url characters; 32 bytes leave the last character
 * 2 bits of padding, so it is one of the 16 whose low bits are zero. */
static void assert_key_format(const char *key)
{
    assert_int_equal(strlen(key), 48);
    assert_memory_equal(key, "cpqd_", 5);
    for (int i = 5; i < 48; i++)
        assert_true(b64url_char(key[i]));
    assert_non_null(strchr("AEIMQUYcgkosw048", key[47]));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Creates a key in path; returns the key (malloc'ed). */
static char *new_key(const char *path, auth_role role, const char *partner, const char *name)
{
    char key[AUTH_KEY_MAX];
    cpqd_errs *e = errs_new();
    int rc = auth_key_new(path, role, partner, name, key, sizeof(key), e);
    if (rc != 0) {
        char *all = errs_join(e);
        fail_msg("auth_key_new: %d\n%s", rc, all);
    }
    errs_free(e);
    assert_key_format(key);
    return strdup(key);
}

/* auth_key_new expected to fail with code and errors containing why. */
static void new_key_fails(const char *path, auth_role role, const char *partner, const char *name,
                          int code, const char *why)
{
    char key[AUTH_KEY_MAX] = "untouched";
    cpqd_errs *e = errs_new();
    assert_int_equal(auth_key_new(path, role, partner, name, key, sizeof(key), e), code);
    assert_string_equal(key, "");
    char *all = errs_join(e);
    if (!strstr(all, why))
        fail_msg("expected '%s' in:\n%s", why, all);
    free(all);
    errs_free(e);
}

/* ---- key generation and hashing ---- */

static void test_auth_generate_format_and_1000_distinct(void **state)
{
    (void)state;
    enum { N = 1000 };
    char **keys = calloc(N, sizeof(char *));
    for (int i = 0; i < N; i++) {
        char key[AUTH_KEY_MAX];
        assert_int_equal(auth_key_generate(key, sizeof(key)), 0);
        assert_key_format(key);
        keys[i] = strdup(key);
    }
    qsort(keys, N, sizeof(char *), cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(keys[i - 1], keys[i]);
    for (int i = 0; i < N; i++)
        free(keys[i]);
    free(keys);
}

static void test_auth_generate_refuses_a_small_buffer(void **state)
{
    (void)state;
    char key[AUTH_KEY_MAX];
    assert_int_equal(auth_key_generate(key, AUTH_KEY_MAX - 1), CPQD_EINVAL);
    assert_int_equal(auth_key_generate(NULL, AUTH_KEY_MAX), CPQD_EINVAL);
}

static void test_auth_hash_known_vectors(void **state)
{
    (void)state;
    char h[AUTH_HASH_MAX];
    /* FIPS 180-2 test vectors */
    assert_int_equal(auth_key_hash("abc", 3, h, sizeof(h)), 0);
    assert_string_equal(h,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(auth_key_hash("", 0, h, sizeof(h)), 0);
    assert_string_equal(h,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* the fixture's first hash, from sha256sum */
    assert_int_equal(auth_key_hash(good_keys[0], strlen(good_keys[0]), h, sizeof(h)), 0);
    assert_string_equal(h,
                        "sha256:ec19320712032659dad6b532f93188cc671ef8e7ee1d825744d8bbf43047f985");
    assert_int_equal(auth_key_hash("abc", 3, h, AUTH_HASH_MAX - 1), CPQD_EINVAL);
}

static void test_auth_role_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {"partner", "rep", "manager", "crm", "admin"};
    for (int r = 0; r < AUTH_ROLE_N; r++) {
        auth_role got = AUTH_ROLE_N;
        assert_string_equal(auth_role_name((auth_role)r), names[r]);
        assert_int_equal(auth_role_parse(names[r], &got), 0);
        assert_int_equal(got, r);
    }
    auth_role x;
    assert_null(auth_role_name(AUTH_ROLE_N));
    assert_int_equal(auth_role_parse("Admin", &x), CPQD_EINVAL);
    assert_int_equal(auth_role_parse("", &x), CPQD_EINVAL);
    assert_int_equal(auth_role_parse("reps", &x), CPQD_EINVAL);
    assert_int_equal(auth_role_parse(NULL, &x), CPQD_EINVAL);
}

/* ---- loading and lookup ---- */

static void test_auth_load_and_lookup_find_the_right_entry(void **state)
{
    (void)state;
    auth_keys *k = load_ok(DATA "/good.yaml");
    assert_int_equal(auth_keys_count(k), 5);
    for (int i = 0; i < 5; i++) {
        const auth_key *x = auth_keys_lookup(k, good_keys[i], strlen(good_keys[i]));
        assert_non_null(x);
        assert_string_equal(x->id, good_ids[i]);
    }
    const auth_key *p = auth_keys_lookup(k, good_keys[0], strlen(good_keys[0]));
    assert_int_equal(p->role, AUTH_ROLE_PARTNER);
    assert_string_equal(p->partner, "P-101");
    assert_string_equal(p->name, "Partner portal \xe5\x8d\x8e\xe4\xb8\x9c");
    assert_true(p->has_authority);
    assert_int_equal(p->authority.coef, 8);
    assert_int_equal(p->authority.scale, 0);
    const auth_key *r = auth_keys_lookup(k, good_keys[1], strlen(good_keys[1]));
    assert_int_equal(r->role, AUTH_ROLE_REP);
    assert_null(r->name);
    assert_null(r->partner);
    assert_false(r->has_authority);
    const auth_key *a = auth_keys_lookup(k, good_keys[2], strlen(good_keys[2]));
    assert_int_equal(a->role, AUTH_ROLE_ADMIN);
    assert_string_equal(a->name, "Ops: admin \"root\"");
    assert_int_equal(a->authority.coef, 100);
    assert_int_equal(auth_keys_lookup(k, good_keys[3], strlen(good_keys[3]))->role, AUTH_ROLE_CRM);
    const auth_key *m = auth_keys_lookup(k, good_keys[4], strlen(good_keys[4]));
    assert_int_equal(m->role, AUTH_ROLE_MANAGER);
    assert_int_equal(m->authority.coef, 125);
    assert_int_equal(m->authority.scale, 1);
    auth_keys_free(k);
}

static void test_auth_lookup_refuses_near_misses(void **state)
{
    (void)state;
    auth_keys *k = load_ok(DATA "/good.yaml");
    const char *key = good_keys[1];
    size_t n = strlen(key);
    char buf[AUTH_KEY_MAX + 8];
    /* the token is token[0..len): no NUL needed, trailing bytes ignored */
    snprintf(buf, sizeof(buf), "%sXYZ", key);
    assert_string_equal(auth_keys_lookup(k, buf, n)->id, "k_00000002");
    assert_null(auth_keys_lookup(k, buf, n + 1)); /* extended */
    assert_null(auth_keys_lookup(k, key, n - 1)); /* truncated */
    assert_null(auth_keys_lookup(k, key, 5));     /* the prefix alone */
    assert_null(auth_keys_lookup(k, "", 0));      /* empty */
    assert_null(auth_keys_lookup(k, NULL, 0));
    memcpy(buf, key, n + 1);
    buf[n - 1] = buf[n - 1] == 'A' ? 'B' : 'A'; /* last character wrong */
    assert_null(auth_keys_lookup(k, buf, n));
    memcpy(buf, key, n + 1);
    buf[0] = 'C'; /* first character's case */
    assert_null(auth_keys_lookup(k, buf, n));
    /* the stored hash itself is not a key */
    const char *hash = "sha256:7566debc7a9eb083800d3ddb4dc74d9b13cc19e97027366f0debc885f21dbec2";
    assert_null(auth_keys_lookup(k, hash, strlen(hash)));
    assert_null(auth_keys_lookup(NULL, key, n));
    auth_keys_free(k);
}

static void test_auth_lookup_visits_every_entry(void **state)
{
    (void)state;
#ifdef CPQD_TESTING
    auth_keys *k = load_ok(DATA "/good.yaml");
    const char *tokens[] = {good_keys[0], good_keys[4], good_keys[2], "cpqd_nope"};
    for (size_t i = 0; i < 4; i++) {
        unsigned long before = auth_test_compares();
        auth_keys_lookup(k, tokens[i], strlen(tokens[i]));
        assert_int_equal(auth_test_compares() - before, 5);
    }
    auth_keys_free(k);
#else
    skip(); /* the counter exists in CPQD_TESTING (asan) builds */
#endif
}

static void test_auth_load_with_no_entries(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/k.yaml", dir);
    assert_int_equal(tu_write(dir, "k.yaml", "keys:\n"), 0);
    auth_keys *k = load_ok(path);
    assert_int_equal(auth_keys_count(k), 0);
    assert_null(auth_keys_lookup(k, good_keys[0], strlen(good_keys[0])));
    auth_keys_free(k);
    k = load_ok(DATA "/flow_empty.yaml");
    assert_int_equal(auth_keys_count(k), 0);
    auth_keys_free(k);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* ---- validation errors ---- */

static void test_auth_load_reports_every_entry_error(void **state)
{
    (void)state;
    const char *f = DATA "/bad_entries.yaml";
    char *want = tu_fmt(
        "%1$s:3:11: invalid role 'boss' (partner, rep, manager, crm or admin)\n"
        "%1$s:6:11: role partner needs a 'partner' id\n"
        "%1$s:10:5: 'partner' is only allowed with role partner, not rep\n"
        "%1$s:14:11: malformed hash (expected \"sha256:\" and 64 lowercase hex digits)\n"
        "%1$s:15:9: invalid id 'k 5' (letters, digits, '_', '.', '-'; starts with a letter or "
        "digit; at most 64)\n"
        "%1$s:20:5: unknown key 'colour' in a key entry (id, name, role, partner, "
        "discount_authority, max_lines, quotes_per_minute, bytes_per_day, max_concurrent, hash, "
        "created, revoked)\n"
        "%1$s:24:25: 'discount_authority' must be a percent between 0 and 100, not '120'\n"
        "%1$s:28:25: 'discount_authority' must be a percent between 0 and 100, not '-1'\n"
        "%1$s:30:5: key entry is missing 'id'\n"
        "%1$s:32:5: key entry is missing 'hash'\n"
        "%1$s:36:11: malformed hash (expected \"sha256:\" and 64 lowercase hex digits)\n"
        "%1$s:39:14: 'created' must be a date YYYY-MM-DD, not '2026-02-30'\n"
        "%1$s:42:11: 'name' must be printable UTF-8 text of 1 to 200 bytes, without control "
        "characters\n"
        "%1$s:46:11: 'role' must be a scalar, not a sequence\n"
        "%1$s:48:5: a key entry must be a mapping, not a scalar\n"
        "%1$s:51:14: invalid partner id 'P 1' (letters, digits, '_', '.', '-'; starts with a "
        "letter or digit; at most 64)\n"
        "%1$s:54:11: 'name' must be printable UTF-8 text of 1 to 200 bytes, without control "
        "characters\n",
        f);
    expect_errors("bad_entries.yaml", CPQD_EINVAL, want);
    free(want);
}

static void test_auth_load_reports_duplicate_ids_and_hashes(void **state)
{
    (void)state;
    expect_errors("dups.yaml", CPQD_EINVAL,
                  DATA "/dups.yaml:7:11: duplicate hash: the same key as the entry at line 2\n" DATA
                       "/dups.yaml:8:9: duplicate id 'k_a' (first at line 2)\n" DATA
                       "/dups.yaml:13:11: duplicate hash: the same key as the entry at line 2\n");
}

static void test_auth_load_reports_top_level_errors(void **state)
{
    (void)state;
    expect_errors("top.yaml", CPQD_EINVAL,
                  DATA "/top.yaml:1:7: 'keys' must be a list of key entries\n" DATA
                       "/top.yaml:2:1: unknown key 'users' (a key file holds only 'keys')\n");
    expect_errors("nokeys.yaml", CPQD_EINVAL,
                  DATA "/nokeys.yaml:2:1: unknown key 'foo' (a key file holds only 'keys')\n" DATA
                       "/nokeys.yaml:2:1: missing 'keys'\n");
    expect_errors("not_map.yaml", CPQD_EINVAL,
                  DATA "/not_map.yaml:1:1: a key file is a mapping with one key, 'keys'\n");
    expect_errors("empty.yaml", CPQD_EINVAL,
                  DATA "/empty.yaml:1:1: empty key file (expected a 'keys:' list)\n");
}

static void test_auth_load_reports_syntax_and_missing_file(void **state)
{
    (void)state;
    expect_errors("syntax.yaml", CPQD_EINVAL,
                  DATA "/syntax.yaml:4:1: YAML syntax error: did not find expected ',' or ']' "
                       "(while parsing a flow sequence)\n");
    expect_errors("nope.yaml", CPQD_EIO,
                  DATA "/nope.yaml: cannot read: No such file or directory\n");
    expect_errors(".", CPQD_EINVAL, DATA "/.: not a regular file\n");
}

static void test_auth_load_refuses_too_many_keys(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/k.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("keys:\n", f);
    for (int i = 0; i <= AUTH_MAX_KEYS; i++)
        fprintf(f, "  - {id: k_%d, role: rep, hash: \"sha256:%064d\"}\n", i, i);
    fclose(f);
    cpqd_errs *e = errs_new();
    auth_keys *k = NULL;
    assert_int_equal(auth_keys_load(path, &k, e), CPQD_EINVAL);
    assert_null(k);
    char *all = errs_join(e), *want = tu_fmt("%s:2:3: too many keys (at most 10000)\n", path);
    assert_string_equal(all, want);
    free(all);
    free(want);
    errs_free(e);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* ---- creating keys ---- */

static void test_auth_new_creates_the_file_0600_with_only_the_hash(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/keys.yaml", dir);
    mode_t old = umask(0); /* 0600 whatever the umask */
    char *key = new_key(path, AUTH_ROLE_PARTNER, "P-101", "Portal \"华东\" \\ east");
    umask(old);
    assert_int_equal(file_mode(path), 0600);
    char *text = tu_read_file(path, NULL), hash[72];
    assert_null(strstr(text, key));
    assert_null(strstr(text, key + 5)); /* not even without its prefix */
    sha256_line(key, hash);
    assert_non_null(strstr(text, hash));
    assert_non_null(strstr(text, "\nkeys:\n  - id: k_"));
    assert_non_null(strstr(text, "    role: partner\n    partner: P-101\n"));
    auth_keys *k = load_ok(path);
    assert_int_equal(auth_keys_count(k), 1);
    const auth_key *x = auth_keys_lookup(k, key, strlen(key));
    assert_non_null(x);
    assert_int_equal(x->role, AUTH_ROLE_PARTNER);
    assert_string_equal(x->partner, "P-101");
    assert_string_equal(x->name, "Portal \"华东\" \\ east");
    assert_false(x->has_authority);
    /* "k_" + 8 lowercase hex */
    assert_int_equal(strlen(x->id), 10);
    assert_int_equal(strspn(x->id + 2, "0123456789abcdef"), 8);
    auth_keys_free(k);
    /* no temporary file is left behind */
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *de; (de = readdir(d));)
        files += de->d_name[0] != '.' || strncmp(de->d_name, ".keys", 5) == 0;
    closedir(d);
    assert_int_equal(files, 1);
    free(text);
    free(key);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

static void test_auth_new_appends_and_keeps_existing_bytes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/keys.yaml", dir);
    char *k1 = new_key(path, AUTH_ROLE_REP, NULL, NULL);
    size_t len1 = 0, len2 = 0;
    char *before = tu_read_file(path, &len1);
    assert_int_equal(chmod(path, 0644), 0);
    char *k2 = new_key(path, AUTH_ROLE_ADMIN, NULL, "second");
    char *after = tu_read_file(path, &len2);
    assert_true(len2 > len1);
    assert_memory_equal(before, after, len1); /* the first entry byte for byte */
    assert_memory_equal(after + len1, "  - id: k_", 10);
    assert_int_equal(file_mode(path), 0600); /* a rewrite is 0600 again */
    auth_keys *k = load_ok(path);
    assert_int_equal(auth_keys_count(k), 2);
    const auth_key *a = auth_keys_lookup(k, k1, strlen(k1)),
                   *b = auth_keys_lookup(k, k2, strlen(k2));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->role, AUTH_ROLE_REP);
    assert_int_equal(b->role, AUTH_ROLE_ADMIN);
    assert_string_not_equal(a->id, b->id);
    auth_keys_free(k);
    free(before);
    free(after);
    free(k1);
    free(k2);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

static void test_auth_new_twenty_keys_all_distinct(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/keys.yaml", dir);
    char *keys[20];
    for (int i = 0; i < 20; i++)
        keys[i] = new_key(path, AUTH_ROLE_CRM, NULL, NULL);
    auth_keys *k = load_ok(path); /* also: no duplicate ids or hashes */
    assert_int_equal(auth_keys_count(k), 20);
    for (int i = 0; i < 20; i++) {
        assert_non_null(auth_keys_lookup(k, keys[i], strlen(keys[i])));
        free(keys[i]);
    }
    auth_keys_free(k);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* Writers in separate processes take turns on the directory lock, so
 * none overwrites another's entry. */
static void test_auth_new_concurrent_writers_lose_nothing(void **state)
{
    (void)state;
    enum { PROCS = 6, EACH = 3 };
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/keys.yaml", dir);
    pid_t pids[PROCS];
    fflush(NULL);
    for (int i = 0; i < PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] > 0)
            continue;
        int failed = 0;
        for (int j = 0; j < EACH; j++) {
            char key[AUTH_KEY_MAX];
            cpqd_errs *e = errs_new();
            failed |= auth_key_new(path, AUTH_ROLE_REP, NULL, NULL, key, sizeof(key), e) != 0;
            errs_free(e);
        }
        _exit(failed);
    }
    for (int i = 0; i < PROCS; i++)
        assert_int_equal(tu_wait_exit(pids[i], TU_WAIT_MS), 0);
    auth_keys *k = load_ok(path);
    assert_int_equal(auth_keys_count(k), PROCS * EACH);
    auth_keys_free(k);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* A hand-written file: comments, an indentless list and no final line
 * break. The old bytes stay, a line break is added, and the entry takes
 * the first entry's indentation. */
static void test_auth_new_extends_a_handwritten_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/hand.yaml", dir);
    char *src = tu_path(DATA "/handwritten.yaml");
    assert_int_equal(tu_copy_file(src, path), 0);
    size_t len1 = 0;
    char *before = tu_read_file(path, &len1);
    assert_true(len1 > 0 && before[len1 - 1] != '\n');
    char *key = new_key(path, AUTH_ROLE_MANAGER, NULL, NULL);
    char *after = tu_read_file(path, NULL);
    assert_memory_equal(before, after, len1);
    const char *tail = after + len1;
    assert_memory_equal(tail, "\n- id: k_", 9);
    assert_non_null(strstr(tail, "\n  role: manager\n  hash: sha256:"));
    auth_keys *k = load_ok(path);
    assert_int_equal(auth_keys_count(k), 2);
    assert_int_equal(auth_keys_lookup(k, key, strlen(key))->role, AUTH_ROLE_MANAGER);
    auth_keys_free(k);
    free(before);
    free(after);
    free(key);
    free(src);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* key revoke adds one line after the entry's id, indented like its keys,
 * and keeps every other byte; the key is then revoked (still found by
 * lookup, marked revoked, dated); revoking again changes nothing; an
 * unknown id or a flow-style entry is refused and the file unchanged. */
static void test_auth_revoke_adds_a_line_and_keeps_the_rest(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/k.yaml", dir);
    static const char text[] = "# hand-made\n"
                               "keys:\n"
                               "- role: rep   # a comment stays\n"
                               "  id: k_00000002\n"
                               "  hash: sha256:"
                               "d5e9a68e0e8d2e8e3c2b4b1d6e2a6c1b3f2e4d5c6b7a8f9e0d1c2b3a4f5e6d7c\n"
                               "- id: k_00000003\n"
                               "  role: admin\n"
                               "  hash: sha256:"
                               "a5e9a68e0e8d2e8e3c2b4b1d6e2a6c1b3f2e4d5c6b7a8f9e0d1c2b3a4f5e6d7c";
    assert_int_equal(tu_write(dir, "k.yaml", text), 0);
    cpqd_errs *e = errs_new();
    bool already = true;
    char on[11];
    assert_int_equal(auth_key_revoke(path, "k_00000002", &already, on, e), 0);
    assert_false(already);
    assert_int_equal(strlen(on), 10);
    char *after = tu_read_file(path, NULL);
    char *want = tu_fmt("# hand-made\nkeys:\n- role: rep   # a comment stays\n  id: k_00000002\n"
                        "  revoked: %s\n  hash: sha256:",
                        on);
    assert_memory_equal(after, want, strlen(want));
    assert_string_equal(after + strlen(want) + 64, text + strlen(text) - strlen(strstr(
                                                        text, "\n- id: k_00000003")));
    free(want);
    auth_keys *k = load_ok(path);
    assert_true(auth_keys_at(k, 0)->revoked);
    assert_string_equal(auth_keys_at(k, 0)->revoked_on, on);
    assert_false(auth_keys_at(k, 1)->revoked);
    assert_int_equal(auth_keys_revoked(k), 1);
    auth_keys_free(k);
    /* the last entry, without a final line break */
    assert_int_equal(auth_key_revoke(path, "k_00000003", &already, on, e), 0);
    k = load_ok(path);
    assert_int_equal(auth_keys_revoked(k), 2);
    auth_keys_free(k);
    char *twice = tu_read_file(path, NULL);
    assert_int_equal(auth_key_revoke(path, "k_00000003", &already, on, e), 0);
    assert_true(already);
    char *same = tu_read_file(path, NULL);
    assert_string_equal(twice, same);
    assert_int_equal(auth_key_revoke(path, "k_nope", &already, on, e), CPQD_ENOTFOUND);
    free(same);
    same = tu_read_file(path, NULL);
    assert_string_equal(twice, same);
    /* flow style: refused, unchanged */
    assert_int_equal(tu_write(dir, "k.yaml",
                              "keys:\n- {id: k_1, role: rep, hash: "
                              "\"sha256:d5e9a68e0e8d2e8e3c2b4b1d6e2a6c1b3f2e4d5c6b7a8f9e0d1c2b3a4f5e6d7c\"}\n"),
                     0);
    char *flow = tu_read_file(path, NULL);
    errs_free(e);
    e = errs_new();
    assert_int_equal(auth_key_revoke(path, "k_1", &already, on, e), CPQD_EINVAL);
    assert_non_null(strstr(errs_get(e, 0)->msg, "cannot add 'revoked:' to the entry of k_1"));
    free(same);
    same = tu_read_file(path, NULL);
    assert_string_equal(flow, same);
    free(flow), free(same), free(twice), free(after);
    errs_free(e);
    tu_rm_tree(dir);
    free(path), free(dir);
}

/* The key file in force: read again when it changes, refused whole when
 * it does not load (the keys before stay), a reference kept by a caller
 * outlives a reload. */
static void test_auth_keyring_follows_the_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/keys.yaml", dir);
    char *src = tu_path(DATA "/good.yaml");
    assert_int_equal(tu_copy_file(src, path), 0);
    cpqd_errs *e = errs_new();
    auth_keyring *r = NULL;
    assert_int_equal(auth_keyring_open(path, &r, e), 0);
    auth_keys *held = auth_keyring_acquire(r);
    assert_int_equal(auth_keys_count(held), 5);
    /* one key fewer, written as an editor would: a new file renamed */
    char *text = tu_read_file(path, NULL);
    char *cut = strstr(text, "\n  - id: k_mgr");
    assert_non_null(cut);
    cut[1] = '\0';
    assert_int_equal(tu_write(dir, "new.yaml", text), 0);
    char *tmp = tu_fmt("%s/new.yaml", dir);
    assert_int_equal(rename(tmp, path), 0);
    auth_keys *now = auth_keyring_acquire(r);
    assert_int_equal(auth_keys_count(now), 4);
    assert_int_equal(auth_keys_count(held), 5); /* the older set lives on */
    auth_keys_release(held);
    auth_keys_release(now);
    /* broken: refused, the 4 keys stay */
    assert_int_equal(tu_write(dir, "new.yaml", "keys:\n  - id: [\n"), 0);
    assert_int_equal(rename(tmp, path), 0);
    now = auth_keyring_acquire(r);
    assert_int_equal(auth_keys_count(now), 4);
    auth_keys_release(now);
    assert_int_not_equal(auth_keyring_reload(r), 0);
    auth_keyring_close(r);
    errs_free(e);
    free(text), free(tmp), free(src);
    tu_rm_tree(dir);
    free(path), free(dir);
}

static void test_auth_new_fills_an_empty_file_or_list(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p1 = tu_fmt("%s/empty.yaml", dir), *p2 = tu_fmt("%s/list.yaml", dir);
    assert_int_equal(tu_write(dir, "empty.yaml", ""), 0);
    assert_int_equal(tu_write(dir, "list.yaml", "# ours\nkeys:\n"), 0);
    char *a = new_key(p1, AUTH_ROLE_REP, NULL, NULL), *b = new_key(p2, AUTH_ROLE_REP, NULL, NULL);
    char *t1 = tu_read_file(p1, NULL), *t2 = tu_read_file(p2, NULL);
    assert_memory_equal(t1, "keys:\n  - id: k_", 16); /* an existing file gets no header */
    assert_memory_equal(t2, "# ours\nkeys:\n  - id: k_", 23);
    auth_keys *k1 = load_ok(p1), *k2 = load_ok(p2);
    assert_non_null(auth_keys_lookup(k1, a, strlen(a)));
    assert_non_null(auth_keys_lookup(k2, b, strlen(b)));
    auth_keys_free(k1);
    auth_keys_free(k2);
    free(t1);
    free(t2);
    free(a);
    free(b);
    tu_rm_tree(dir);
    free(p1);
    free(p2);
    free(dir);
}

static void assert_file_is(const char *path, const char *want)
{
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void test_auth_new_refuses_a_file_it_cannot_extend(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/k.yaml", dir);
    assert_int_equal(tu_write(dir, "k.yaml", "keys: []\n"), 0);
    char *want = tu_fmt("%s:1:1: cannot append a key here", path);
    new_key_fails(path, AUTH_ROLE_REP, NULL, NULL, CPQD_EINVAL, want);
    assert_file_is(path, "keys: []\n");
    free(want);
    /* an invalid file is reported, not extended */
    const char *bad = "keys:\n  - id: k_1\n    role: boss\n    hash: sha256:x\n";
    assert_int_equal(tu_write(dir, "k.yaml", bad), 0);
    want = tu_fmt("%s:3:11: invalid role 'boss'", path);
    new_key_fails(path, AUTH_ROLE_REP, NULL, NULL, CPQD_EINVAL, want);
    assert_file_is(path, bad);
    free(want);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

static void test_auth_new_refuses_bad_arguments(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/k.yaml", dir);
    new_key_fails(path, AUTH_ROLE_PARTNER, NULL, NULL, CPQD_EINVAL,
                  "role partner needs a partner id");
    new_key_fails(path, AUTH_ROLE_REP, "P-1", NULL, CPQD_EINVAL,
                  "a partner id is only allowed with role partner");
    new_key_fails(path, AUTH_ROLE_PARTNER, "P 1", NULL, CPQD_EINVAL, "invalid partner id");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "line\nbreak", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "\xff bad utf-8", CPQD_EINVAL, "invalid name");
    /* lead bytes F5..FF, an overlong form, a surrogate, a C1 control */
    new_key_fails(path, AUTH_ROLE_REP, NULL, "\xf8\x88\x80 x", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "\xf5\x80\x80\x80", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "\xc0\xaf", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "\xed\xa0\x80", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_REP, NULL, "\xc2\x85", CPQD_EINVAL, "invalid name");
    new_key_fails(path, AUTH_ROLE_N, NULL, NULL, CPQD_EINVAL, "invalid role");
    assert_int_equal(access(path, F_OK), -1); /* nothing created */
    char *missing = tu_fmt("%s/no/such/dir/k.yaml", dir);
    new_key_fails(missing, AUTH_ROLE_REP, NULL, NULL, CPQD_EIO, "cannot open directory");
    free(missing);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* ---- `cpqd key new` in process ---- */

typedef struct run {
    int status;
    char *out, *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* Calls auth_cli_key(argv) with stdout and stderr sent to files. */
static run cli(const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    char *dir = tu_tmpdir(), *po = tu_fmt("%s/out", dir), *pe = tu_fmt("%s/err", dir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    run r = {auth_cli_key(argc, (char **)argv), NULL, NULL};
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    r.out = tu_read_file(po, NULL);
    r.err = tu_read_file(pe, NULL);
    assert_non_null(r.out);
    assert_non_null(r.err);
    tu_rm_tree(dir);
    free(po);
    free(pe);
    free(dir);
    return r;
}

/* stdout is the key and a line break, nothing else. */
static char *only_the_key(const run *r)
{
    assert_int_equal(strlen(r->out), 49);
    assert_int_equal(r->out[48], '\n');
    char *key = strndup(r->out, 48);
    assert_key_format(key);
    return key;
}

static void test_auth_cli_prints_only_the_key(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_fmt("%s/keys.yaml", dir);
    const char *argv[] = {"new",    "--keys",        path, "--role", "partner", "--partner=P-7",
                          "--name", "Reseller Nord", NULL};
    run r = cli(argv);
    if (r.status != 0)
        fail_msg("status %d, stderr:\n%s", r.status, r.err);
    char *key = only_the_key(&r);
    assert_non_null(strstr(r.err, "added k_"));
    assert_non_null(strstr(r.err, "(role partner, partner P-7)"));
    assert_null(strstr(r.err, key));
    assert_int_equal(file_mode(path), 0600);
    char *text = tu_read_file(path, NULL);
    assert_null(strstr(text, key));
    auth_keys *k = load_ok(path);
    const auth_key *x = auth_keys_lookup(k, key, strlen(key));
    assert_non_null(x);
    assert_string_equal(x->partner, "P-7");
    assert_string_equal(x->name, "Reseller Nord");
    auth_keys_free(k);
    /* a second key: the first entry stays byte for byte */
    const char *argv2[] = {"new", "--role=rep", "--keys", path, NULL};
    run r2 = cli(argv2);
    assert_int_equal(r2.status, 0);
    char *key2 = only_the_key(&r2);
    char *text2 = tu_read_file(path, NULL);
    assert_memory_equal(text, text2, strlen(text));
    assert_string_not_equal(key, key2);
    free(text);
    free(text2);
    free(key);
    free(key2);
    run_free(&r);
    run_free(&r2);
    tu_rm_tree(dir);
    free(path);
    free(dir);
}

/* A usage error: exit 2, nothing on stdout, why on stderr (main adds the
 * usage), no file. */
static void assert_cli_usage(const char *const *argv, const char *path, const char *why)
{
    run r = cli(argv);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    if (!strstr(r.err, why) || strncmp(r.err, "cpqd key: ", 10) != 0 || strchr(r.err, '\n')[1])
        fail_msg("expected one line 'cpqd key: ...%s...' in stderr:\n%s", why, r.err);
    assert_int_equal(access(path, F_OK), -1);
    run_free(&r);
}

static void test_auth_cli_usage_errors_exit_2(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *p = tu_fmt("%s/keys.yaml", dir);
    const char *none[] = {NULL};
    assert_cli_usage(none, p, "unknown subcommand ''");
    const char *a1[] = {"old", "--keys", p, "--role", "rep", NULL};
    assert_cli_usage(a1, p, "unknown subcommand 'old'");
    const char *a2[] = {"new", "--role", "rep", NULL};
    assert_cli_usage(a2, p, "--keys FILE is required");
    const char *a3[] = {"new", "--keys", p, NULL};
    assert_cli_usage(a3, p, "--role must be partner, rep, manager, crm or admin, not ''");
    const char *a4[] = {"new", "--keys", p, "--role", "boss", NULL};
    assert_cli_usage(a4, p, "--role must be partner, rep, manager, crm or admin, not 'boss'");
    const char *a5[] = {"new", "--keys", p, "--role", "partner", NULL};
    assert_cli_usage(a5, p, "role partner needs a partner id");
    const char *a6[] = {"new", "--keys", p, "--role", "rep", "--partner", "P-1", NULL};
    assert_cli_usage(a6, p, "a partner id is only allowed with role partner");
    const char *a7[] = {"new", "--keys", p, "--role", "rep", "--colour", "red", NULL};
    assert_cli_usage(a7, p, "unknown flag '--colour'");
    const char *a8[] = {"new", "--keys", p, "--role", NULL};
    assert_cli_usage(a8, p, "flag --role needs a value");
    const char *a9[] = {"new", "--keys", p, "--role", "rep", "extra", NULL};
    assert_cli_usage(a9, p, "unexpected argument 'extra'");
    const char *a10[] = {"new", "--keys", p, "--role", "rep", "--name", "a\tb", NULL};
    assert_cli_usage(a10, p, "invalid name");
    const char *a11[] = {"new", "--keys=", "--role", "rep", NULL};
    assert_cli_usage(a11, p, "--keys FILE is required");
    tu_rm_tree(dir);
    free(p);
    free(dir);
}

static void test_auth_cli_invalid_file_exits_1_with_positions(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *p = tu_fmt("%s/keys.yaml", dir);
    const char *bad = "keys:\n  - id: k_1\n    role: rep\n    hash: sha256:abc\n";
    assert_int_equal(tu_write(dir, "keys.yaml", bad), 0);
    const char *argv[] = {"new", "--keys", p, "--role", "rep", NULL};
    run r = cli(argv);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    char *want = tu_fmt("%s:4:11: malformed hash (expected \"sha256:\" and 64 lowercase hex "
                        "digits)\ncpqd key new: no key created\n",
                        p);
    assert_string_equal(r.err, want);
    assert_file_is(p, bad);
    free(want);
    run_free(&r);
    tu_rm_tree(dir);
    free(p);
    free(dir);
}

/* ---- the real binary ---- */

static void test_auth_binary_key_new(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *p = tu_fmt("%s/keys.yaml", dir);
    const char *argv[] = {"key", "new", "--keys", p, "--role", "manager", NULL};
    run r = {0, NULL, NULL};
    r.status = tu_run(argv, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    if (r.status == 2 && strstr(r.err, "unknown command 'key'")) {
        run_free(&r);
        tu_rm_tree(dir);
        free(p);
        free(dir);
        skip(); /* main.c has no `key` command yet */
    }
    if (r.status != 0)
        fail_msg("status %d, stderr:\n%s", r.status, r.err);
    char *key = only_the_key(&r);
    auth_keys *k = load_ok(p);
    assert_int_equal(auth_keys_lookup(k, key, strlen(key))->role, AUTH_ROLE_MANAGER);
    auth_keys_free(k);
    run_free(&r);
    const char *bad[] = {"key", "new", "--keys", p, "--role", "boss", NULL};
    r.status = tu_run(bad, &r.out, &r.err);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "not 'boss'"));
    assert_non_null(strstr(r.err, "cpqd key new --keys FILE"));
    free(key);
    run_free(&r);
    tu_rm_tree(dir);
    free(p);
    free(dir);
}

int main(void)
{
    const char *root = getenv("CPQD_ROOT");
    if (root && chdir(root) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_generate_format_and_1000_distinct),
        cmocka_unit_test(test_auth_generate_refuses_a_small_buffer),
        cmocka_unit_test(test_auth_hash_known_vectors),
        cmocka_unit_test(test_auth_role_names_round_trip),
        cmocka_unit_test(test_auth_load_and_lookup_find_the_right_entry),
        cmocka_unit_test(test_auth_lookup_refuses_near_misses),
        cmocka_unit_test(test_auth_lookup_visits_every_entry),
        cmocka_unit_test(test_auth_load_with_no_entries),
        cmocka_unit_test(test_auth_load_reports_every_entry_error),
        cmocka_unit_test(test_auth_load_reports_duplicate_ids_and_hashes),
        cmocka_unit_test(test_auth_load_reports_top_level_errors),
        cmocka_unit_test(test_auth_load_reports_syntax_and_missing_file),
        cmocka_unit_test(test_auth_load_refuses_too_many_keys),
        cmocka_unit_test(test_auth_new_creates_the_file_0600_with_only_the_hash),
        cmocka_unit_test(test_auth_new_appends_and_keeps_existing_bytes),
        cmocka_unit_test(test_auth_new_twenty_keys_all_distinct),
        cmocka_unit_test(test_auth_new_concurrent_writers_lose_nothing),
        cmocka_unit_test(test_auth_new_extends_a_handwritten_file),
        cmocka_unit_test(test_auth_new_fills_an_empty_file_or_list),
        cmocka_unit_test(test_auth_new_refuses_a_file_it_cannot_extend),
        cmocka_unit_test(test_auth_new_refuses_bad_arguments),
        cmocka_unit_test(test_auth_revoke_adds_a_line_and_keeps_the_rest),
        cmocka_unit_test(test_auth_keyring_follows_the_file),
        cmocka_unit_test(test_auth_cli_prints_only_the_key),
        cmocka_unit_test(test_auth_cli_usage_errors_exit_2),
        cmocka_unit_test(test_auth_cli_invalid_file_exits_1_with_positions),
        cmocka_unit_test(test_auth_binary_key_new),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
