/* Generated ids and keys: shape, alphabet, and no repeats across many draws. */
#include "ids.h"

#include <string.h>

static void test_shape(void)
{
  g_autofree char *id = sl_id_random("EG_", 12);
  g_autofree char *key = sl_id_random(NULL, 20);
  g_assert_cmpuint(strlen(id), ==, 15);
  g_assert_true(g_str_has_prefix(id, "EG_"));
  g_assert_cmpuint(strlen(key), ==, 20);
  for (const char *c = key; *c; c++) {
    g_assert_true(g_ascii_isalnum(*c));
    g_assert_null(strchr("0O1lI", *c));
  }
}

static void test_distinct(void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  guint counts[128] = {0};
  for (int i = 0; i < 20000; i++) {
    char *k = sl_id_random(NULL, 12);
    for (const char *c = k; *c; c++)
      counts[(guchar)*c]++;
    g_assert_false(g_hash_table_contains(seen, k));
    g_hash_table_add(seen, k);
  }
  /* 240000 characters over 57 symbols: about 4210 each; a biased draw would stand out. */
  for (guint c = 0; c < 128; c++) {
    if (counts[c] == 0)
      continue;
    g_assert_cmpuint(counts[c], >, 3700);
    g_assert_cmpuint(counts[c], <, 4700);
  }
}

static void test_track(void)
{
  g_autofree char *v = sl_id_track("RT_abcdef", 'V');
  g_autofree char *a = sl_id_track("abc", 'A');
  g_assert_cmpstr(v, ==, "TR_abcdefV");
  g_assert_cmpstr(a, ==, "TR_abcA");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ids/shape", test_shape);
  g_test_add_func("/ids/distinct-and-uniform", test_distinct);
  g_test_add_func("/ids/track", test_track);
  return g_test_run();
}
