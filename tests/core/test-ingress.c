/* Static ingresses from the config: ids, keys, defaults, and the problems reported with lines. */
#include "config.h"
#include "ingress.h"
#include "log.h"

#include <string.h>

static SlConfig *load(const char *yaml)
{
  SlConfig *cfg = sl_config_new_from_text(yaml, strlen(yaml), "t.yaml", NULL);
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_assert_nonnull(cfg);
  g_assert_true(sl_config_validate(cfg, diags));
  return cfg;
}

static void test_load(void)
{
  g_autoptr(SlConfig) cfg = load("ingresses:\n"
                                 "  - name: studio\n"
                                 "    stream_key: abcdefghijkl\n"
                                 "    room_name: demo\n"
                                 "    outputs:\n"
                                 "      file: { filepath: \"{room_name}.mp4\" }\n"
                                 "      segments: { filename_prefix: hls/x, segment_duration: 2 }\n"
                                 "  - name: second\n");
  g_autoptr(SlIngressStore) store = sl_ingress_store_new();
  g_autoptr(GError) err = NULL;
  SlIngress *a, *b;
  g_assert_true(sl_ingress_store_load_config(store, cfg, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(sl_ingress_store_list(store)->len, ==, 2);
  a = sl_ingress_store_by_key(store, "abcdefghijkl");
  g_assert_nonnull(a);
  g_assert_cmpstr(a->name, ==, "studio");
  g_assert_cmpstr(a->room_name, ==, "demo");
  g_assert_cmpstr(a->participant_identity, ==, "studio");
  g_assert_true(g_str_has_prefix(a->id, "IN_"));
  g_assert_true(a->enabled);
  g_assert_false(a->key_generated);
  g_assert_cmpint(a->status, ==, SL_INGRESS_INACTIVE);
  g_assert_cmpstr(
      json_object_get_string_member(json_object_get_object_member(a->outputs, "file"), "filepath"),
      ==, "{room_name}.mp4");
  g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(a->outputs, "segments"),
                                             "segment_duration"),
                  ==, 2);
  /* an ingress without a key gets a generated one; without outputs it has none */
  b = sl_ingress_store_by_id(store, ((SlIngress *)sl_ingress_store_list(store)->pdata[1])->id);
  g_assert_nonnull(b);
  g_assert_true(b->key_generated);
  g_assert_cmpuint(strlen(b->stream_key), >=, 16);
  g_assert_null(b->outputs);
  g_assert_cmpstr(b->room_name, ==, "second");
}

static void test_stable_ids(void)
{
  const char *yaml = "ingresses:\n  - name: studio\n";
  g_autoptr(SlConfig) c1 = load(yaml);
  g_autoptr(SlConfig) c2 = load(yaml);
  g_autoptr(SlIngressStore) s1 = sl_ingress_store_new();
  g_autoptr(SlIngressStore) s2 = sl_ingress_store_new();
  g_assert_true(sl_ingress_store_load_config(s1, c1, NULL));
  g_assert_true(sl_ingress_store_load_config(s2, c2, NULL));
  g_assert_cmpstr(((SlIngress *)sl_ingress_store_list(s1)->pdata[0])->id, ==,
                  ((SlIngress *)sl_ingress_store_list(s2)->pdata[0])->id);
}

static void expect_problem(const char *yaml, const char *text)
{
  g_autoptr(SlConfig) cfg = load(yaml);
  g_autoptr(SlIngressStore) store = sl_ingress_store_new();
  g_autoptr(GError) err = NULL;
  g_assert_false(sl_ingress_store_load_config(store, cfg, &err));
  g_test_message("%s", err->message);
  g_assert_nonnull(strstr(err->message, text));
}

static void test_problems(void)
{
  expect_problem("ingresses:\n  - name: a\n  - name: a\n", "t.yaml:3: ingresses[1].name");
  expect_problem("ingresses:\n  - name: a\n    stream_key: kkkkk\n  - name: b\n    stream_key: "
                 "kkkkk\n",
                 "t.yaml:5: ingresses[1].stream_key: another ingress already uses");
  expect_problem("ingresses:\n  - name: a\n    input_type: whip\n", "is not an input type");
  expect_problem("ingresses:\n  - name: a\n    stream_key: a/b/c\n", "no '/' or '?'");
  expect_problem("ingresses:\n  - name: a\n    outputs:\n      segments:\n        filename_suffix: "
                 "DAILY\n",
                 "is not INDEX or TIMESTAMP");
}

static void test_status_stamps(void)
{
  SlIngress ing = {0};
  sl_ingress_set_status(&ing, SL_INGRESS_BUFFERING, NULL);
  g_assert_cmpint(ing.started_at, >, 0);
  g_assert_cmpint(ing.ended_at, ==, 0);
  sl_ingress_set_status(&ing, SL_INGRESS_ERROR, "first");
  sl_ingress_set_status(&ing, SL_INGRESS_ERROR, "second");
  g_assert_cmpstr(ing.error, ==, "first");
  g_assert_cmpint(ing.ended_at, >=, ing.started_at);
  g_assert_cmpstr(sl_ingress_status_name(ing.status), ==, "ENDPOINT_ERROR");
  /* a new session clears the old error */
  sl_ingress_set_status(&ing, SL_INGRESS_BUFFERING, NULL);
  g_assert_null(ing.error);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  sl_log_configure(SLUICE_LOG_ERROR, FALSE);
  g_test_add_func("/ingress/load", test_load);
  g_test_add_func("/ingress/stable-ids", test_stable_ids);
  g_test_add_func("/ingress/problems", test_problems);
  g_test_add_func("/ingress/status-stamps", test_status_stamps);
  return g_test_run();
}
