/* Regressions found by review and fuzzing of the config path: null strings keep defaults,
 * durations are finite and not negative, required plugin keys are checked when their section is
 * absent, a password with "@" is fully redacted, an explicitly empty document is empty, and
 * LIVEKIT_API_KEY is scrubbed from logs. */
#include "config.h"
#include "log.h"
#include "redact.h"
#include "yamltree.h"
#include <string.h>
#define SRC "/etc/sluice/test.yaml"
static SlConfig *v(const char *t, GPtrArray **d, gboolean *ok)
{
  SlConfig *c = sl_config_new_from_text(t, strlen(t), SRC, NULL);
  g_assert_nonnull(c);
  *d = sl_diag_array_new();
  *ok = sl_config_validate(c, *d);
  for (guint i = 0; i < (*d)->len; i++)
    g_test_message("%s", ((SlDiag *)(*d)->pdata[i])->text);
  return c;
}
static void test_null_string(void)
{
  GPtrArray *d;
  gboolean ok;
  SlConfig *c = v("output_dir:\nnode_id: ~\nlogging:\n  level: null\n", &d, &ok);
  g_assert_true(ok);
  g_assert_cmpuint(d->len, ==, 0);
  g_assert_cmpstr(sl_config_get_string(c, "output_dir"), ==, "./recordings");
  g_assert_null(sl_config_get_string(c, "node_id"));
  g_assert_cmpstr(sl_config_get_string(c, "logging.level"), ==, "info");
  g_ptr_array_unref(d);
  sl_config_free(c);
}
static void test_duration_bad(void)
{
  double s;
  g_assert_false(sl_config_parse_duration("1e999s", &s));
  GPtrArray *d;
  gboolean ok;
  SlConfig *c = v("cpu_cost:\n  hold_time: -5s\n", &d, &ok);
  g_assert_false(ok);
  g_assert_cmpstr(((SlDiag *)d->pdata[0])->text, ==,
                  SRC ":2: cpu_cost.hold_time: -5s is negative; a duration is 0 or more");
  g_ptr_array_unref(d);
  sl_config_free(c);
  c = v("io_create_timeout: 1e999s\n", &d, &ok);
  g_assert_false(ok);
  g_assert_cmpstr(((SlDiag *)d->pdata[0])->text, ==,
                  SRC ":1: io_create_timeout: '1e999s' is not a duration such as 15s, 500ms or 2m");
  g_ptr_array_unref(d);
  sl_config_free(c);
}
static const SluiceConfigKey keys[] = {
    {"token", SLUICE_CONFIG_STRING, NULL, 0, 0, "t", SLUICE_CONFIG_FLAG_REQUIRED},
    SLUICE_CONFIG_KEY_END};
static void test_required_absent(void)
{
  const char *texts[] = {"rtmp_port: 1\n", "plugins:\n  needy:\n", "plugins:\n  enable: [needy]\n",
                         NULL};
  const char *want[] = {SRC ":1: plugins.needy.token: required key is missing",
                        SRC ":1: plugins.needy.token: required key is missing",
                        SRC ":1: plugins.needy.token: required key is missing"};
  for (int i = 0; texts[i]; i++) {
    SlConfig *c = sl_config_new_from_text(texts[i], strlen(texts[i]), SRC, NULL);
    g_assert_true(sl_config_add_plugin_keys(c, "needy", keys, NULL));
    GPtrArray *d = sl_diag_array_new();
    g_assert_false(sl_config_validate(c, d));
    g_assert_cmpuint(d->len, ==, 1);
    g_assert_cmpstr(((SlDiag *)d->pdata[0])->text, ==, want[i]);
    g_ptr_array_unref(d);
    sl_config_free(c);
  }
}
static void test_redact_at(void)
{
  char *u = sl_redact_url("rtmp://user:p@ss@host/live", FALSE);
  g_assert_cmpstr(u, ==, "rtmp://user:{...}@host/live");
  g_free(u);
  u = sl_redact_url("rtmp://host/live?x=a@b", FALSE);
  g_assert_cmpstr(u, ==, "rtmp://host/live?x={...}");
  g_free(u);
}
static void test_empty_explicit_doc(void)
{
  const char *ts[] = {"---\n", "---\n...\n", "~\n", NULL};
  for (int i = 0; ts[i]; i++) {
    GError *e = NULL;
    SlYamlNode *r = sl_yaml_parse(ts[i], strlen(ts[i]), "s", &e);
    g_assert_no_error(e);
    g_assert_cmpint(r->kind, ==, SL_YAML_MAP);
    g_assert_cmpuint(r->items->len, ==, 0);
    sl_yaml_node_free(r);
  }
}
static void test_env_key_secret(void)
{
  SlConfig *c = sl_config_new_from_text("", 0, SRC, NULL);
  g_setenv("LIVEKIT_API_KEY", "env-api-key-7777", TRUE);
  sl_config_apply_env(c);
  GPtrArray *d = sl_diag_array_new();
  sl_config_validate(c, d);
  char *o = sl_log_scrub("env-api-key-7777");
  g_assert_cmpstr(o, ==, "{env...777}");
  g_free(o);
  g_unsetenv("LIVEKIT_API_KEY");
  g_ptr_array_unref(d);
  sl_config_free(c);
}
static void test_dotted_key_not_nested(void)
{
  GPtrArray *d;
  gboolean ok;
  SlConfig *c = v("\"redis.address\": 1.2.3.4:6379\n", &d, &ok);
  g_assert_true(ok);
  g_assert_false(sl_config_is_set(c, "redis.address"));
  g_assert_cmpuint(d->len, ==, 1);
  g_assert_nonnull(strstr(((SlDiag *)d->pdata[0])->text, "unknown key"));
  g_ptr_array_unref(d);
  sl_config_free(c);
}

static void test_redact_utf8(void)
{
  char *r = sl_redact_secret("\xc3\xa9\xc3\xa9\xc3\xa9"
                             "abcd"
                             "\xc3\xa9\xc3\xa9\xc3\xa9");
  g_assert_true(g_utf8_validate(r, -1, NULL));
  g_assert_cmpstr(r, ==, "{\xc3\xa9\xc3\xa9\xc3\xa9...\xc3\xa9\xc3\xa9\xc3\xa9}");
  g_free(r);
}

static void test_enable_null_means_default(void)
{
  const char *defaults[] = {"a", "b", NULL};
  const char *t = "plugins:\n  enable:\n";
  SlConfig *c = sl_config_new_from_text(t, strlen(t), SRC, NULL);
  GPtrArray *d = sl_diag_array_new();
  GStrv en = sl_config_plugin_enable(c, defaults, d);
  g_assert_cmpuint(g_strv_length(en), ==, 2);
  g_strfreev(en);
  g_ptr_array_unref(d);
  sl_config_free(c);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/bug/env-key-secret", test_env_key_secret);
  g_test_add_func("/bug/null-string", test_null_string);
  g_test_add_func("/bug/duration", test_duration_bad);
  g_test_add_func("/bug/required-absent", test_required_absent);
  g_test_add_func("/bug/redact-at", test_redact_at);
  g_test_add_func("/bug/empty-doc", test_empty_explicit_doc);
  g_test_add_func("/bug/dotted-key", test_dotted_key_not_nested);
  g_test_add_func("/bug/redact-utf8", test_redact_utf8);
  g_test_add_func("/bug/enable-null", test_enable_null_means_default);
  return g_test_run();
}
