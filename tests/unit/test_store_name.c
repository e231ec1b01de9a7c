/* test_store_name.c - which backend a --database value names, and how it
 * is logged: a password, in the user info or the query, never is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

static void test_backend_for(void **state)
{
    (void)state;
    assert_string_equal(store_backend_for("herald.db"), "sqlite");
    assert_string_equal(store_backend_for("/var/lib/herald/postgresql.db"), "sqlite");
    assert_string_equal(store_backend_for("postgresql://h@db/herald"), "postgresql");
    assert_string_equal(store_backend_for("postgres://h@db/herald"), "postgresql");
}

static void shown(const char *database, const char *want)
{
    char out[256];
    store_describe(database, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_passwords_are_masked(void **state)
{
    (void)state;
    shown("herald.db", "herald.db");
    shown("postgresql://herald@127.0.0.1:5432/herald", "postgresql://herald@127.0.0.1:5432/herald");
    shown("postgresql://app:s3cret@db/herald?sslmode=require",
          "postgresql://app:***@db/herald?sslmode=require");
    /* an '@' in the query is not the user info's */
    shown("postgresql://db:5432/herald?user=app@corp&password=s3cret",
          "postgresql://db:5432/herald?user=app@corp&password=***");
    shown("postgres://a:b@c/d?password=x&y=1", "postgres://a:***@c/d?password=***&y=1");
    /* an '@' inside the password: the last one ends the user info */
    shown("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_for),
        cmocka_unit_test(test_passwords_are_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
