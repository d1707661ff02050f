/* Unit tests for upload-azure's block plan, ids and block list (plugins/upload-azure/blocks.c). */
#include "blocks.h"
#include "errors.h"
#include "ops.h"

#include <string.h>

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)

static void test_block_ids(void)
{
  const guint32 tokens[] = {0, 0x4d79ff39, 0xffffffffu};
  const guint indexes[] = {0, 1, 9, 10, 4999, 49999};
  g_autofree char *known = az_block_id(0x4d79ff39, 1);

  /* An id Azurite accepted in a Put Block and committed in a Put Block List. */
  g_assert_cmpstr(known, ==, "NGQ3OWZmMzktMDAwMDAwMDAwMQ==");

  for (guint i = 0; i < G_N_ELEMENTS(tokens); i++)
    for (guint j = 0; j < G_N_ELEMENTS(indexes); j++) {
      g_autofree char *id = az_block_id(tokens[i], indexes[j]);
      g_autofree char *want_raw = g_strdup_printf("%08x-%010u", tokens[i], indexes[j]);
      g_autofree guchar *raw = NULL;
      gsize len;
      /* every id of a blob has the same length, and at most 64 bytes before base64 */
      g_assert_cmpuint(strlen(id), ==, AZ_BLOCK_ID_LENGTH);
      raw = g_base64_decode(id, &len);
      g_assert_cmpuint(len, <=, 64);
      g_assert_cmpmem(raw, len, want_raw, strlen(want_raw));
    }
  {
    /* distinct per index and per upload */
    g_autofree char *a = az_block_id(7, 1);
    g_autofree char *b = az_block_id(7, 2);
    g_autofree char *c = az_block_id(8, 1);
    g_assert_cmpstr(a, !=, b);
    g_assert_cmpstr(a, !=, c);
  }
}

static void test_block_list_xml(void)
{
  g_autofree char *xml = az_block_list_xml(0x4d79ff39, 2);
  g_autofree char *md5 = az_content_md5(xml, strlen(xml));
  g_autofree char *one = az_block_list_xml(1, 1);
  g_autofree char *many = az_block_list_xml(3, 1000);
  g_autofree char *last = az_block_id(3, 999);
  g_autofree char *last_elem = g_strdup_printf("<Latest>%s</Latest></BlockList>", last);

  g_assert_cmpstr(xml, ==,
                  "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
                  "<Latest>NGQ3OWZmMzktMDAwMDAwMDAwMA==</Latest>"
                  "<Latest>NGQ3OWZmMzktMDAwMDAwMDAwMQ==</Latest>"
                  "</BlockList>");
  /* the body Azurite committed had these length and Content-MD5 */
  g_assert_cmpuint(strlen(xml), ==, 151);
  g_assert_cmpstr(md5, ==, "C6wwvoJR/ysjUMHOPSaDdQ==");

  g_assert_true(g_str_has_suffix(one, "</Latest></BlockList>"));
  g_assert_true(g_str_has_suffix(many, last_elem));
  {
    guint n = 0;
    for (const char *p = many; (p = strstr(p, "<Latest>")) != NULL; p++)
      n++;
    g_assert_cmpuint(n, ==, 1000);
  }
}

static void test_plan(void)
{
  struct {
    guint64 size;
    guint64 want_block;
    guint want_n;
  } cases[] = {
      {0, 8 * MIB, 1},
      {1, 8 * MIB, 1},
      {8 * MIB, 8 * MIB, 1},
      {8 * MIB + 1, 8 * MIB, 2},
      {64 * MIB, 8 * MIB, 8},
      {64 * MIB + 1, 8 * MIB, 9},
      {50000 * 8 * MIB, 8 * MIB, 50000},
      /* one byte more than 50,000 blocks of 8 MiB hold: blocks grow to 9 MiB */
      {50000 * 8 * MIB + 1, 9 * MIB, 44445},
      {G_GUINT64_CONSTANT(4000) * MIB * 50000, 4000 * MIB, 50000},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    guint64 bs = 0;
    guint n = 0;
    g_assert_true(az_block_plan(cases[i].size, AZ_BLOCK_SIZE, &bs, &n, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(bs, ==, cases[i].want_block);
    g_assert_cmpuint(n, ==, cases[i].want_n);
    g_assert_cmpuint(n, <=, AZ_MAX_BLOCKS);
    g_assert_cmpuint(bs, <=, AZ_MAX_BLOCK_SIZE);
    g_assert_cmpuint((guint64)n * bs, >=, cases[i].size);
  }
  {
    g_autoptr(GError) err = NULL;
    guint64 bs;
    guint n;
    g_assert_false(
        az_block_plan(G_GUINT64_CONSTANT(4000) * MIB * 50000 + 1, AZ_BLOCK_SIZE, &bs, &n, &err));
    g_assert_error(err, AZ_ERROR, AZ_ERROR_FILE);
  }
}

static void test_content_md5(void)
{
  g_autofree char *empty = az_content_md5("", 0);
  g_autofree char *hello = az_content_md5("hello\n", 6);
  g_assert_cmpstr(empty, ==, "1B2M2Y8AsgTpgAmY7PhCfg==");
  g_assert_cmpstr(hello, ==, "sZRqySSS0jR8YjW00mERhA==");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-azure/blocks/ids", test_block_ids);
  g_test_add_func("/upload-azure/blocks/list-xml", test_block_list_xml);
  g_test_add_func("/upload-azure/blocks/plan", test_plan);
  g_test_add_func("/upload-azure/blocks/content-md5", test_content_md5);
  return g_test_run();
}
