/* Plugin loader: the ABI rules, each refusal with its own message, and what loads. The test
 * plugins are built from tests/plugins-abi/abi-plugin.c, one variant per file. */
#include "config.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"

#include <stddef.h>
#include <string.h>

static const char *plugin_dir(void)
{
  const char *dir = g_getenv("SLUICE_TEST_PLUGIN_DIR");
  g_assert_nonnull(dir);
  return dir;
}

/* Loads one plugin by name from the test directory; returns the error (or NULL on success). */
static GError *load_one(const char *name, SlPluginSet **out)
{
  const char *dirs[] = {plugin_dir(), NULL};
  const char *enable[] = {name, NULL};
  SlPluginSet *set = sl_plugin_set_scan(dirs);
  GError *err = NULL;
  sl_plugin_set_load(set, enable, &err);
  if (out != NULL)
    *out = set;
  else
    sl_plugin_set_free(set);
  return err;
}

static void expect_refusal(const char *name, int code, const char *fragment)
{
  g_autoptr(GError) err = load_one(name, NULL);
  g_assert_nonnull(err);
  g_test_message("%s: %s", name, err->message);
  g_assert_error(err, SL_LOADER_ERROR, code);
  g_assert_nonnull(strstr(err->message, name));
  g_assert_nonnull(strstr(err->message, fragment));
}

static void test_good_loads(void)
{
  SlPluginSet *set = NULL;
  g_autoptr(GError) err = load_one("abi-good", &set);
  SlPlugin *pl;
  g_assert_no_error(err);
  pl = sl_plugin_set_get(set, "abi-good");
  g_assert_nonnull(pl);
  g_assert_cmpint(pl->state, ==, SL_PLUGIN_LOADED);
  g_assert_true(pl->enabled);
  g_assert_cmpstr(pl->desc.version, ==, "0.0.1");
  g_assert_cmpint(pl->desc.kind, ==, SLUICE_PLUGIN_KIND_INPUT);
  g_assert_nonnull(pl->desc.init);
  g_assert_nonnull(pl->desc.shutdown);
  g_assert_nonnull(pl->input.start);
  g_assert_cmpstr(pl->input.input_type, ==, "test");
  g_assert_cmpuint(pl->plugin_desc_size, ==, sizeof(SluicePluginDesc));
  sl_plugin_set_free(set);
}

static void test_older_minor_loads(void)
{
  SlPluginSet *set = NULL;
  g_autoptr(GError) err = load_one("abi-older-minor", &set);
  SlPlugin *pl;
  g_assert_no_error(err);
  pl = sl_plugin_set_get(set, "abi-older-minor");
  g_assert_nonnull(pl);
  g_assert_cmpuint(pl->desc.abi_minor, ==, 0);
  g_assert_cmpuint(pl->plugin_desc_size, ==, offsetof(SluicePluginDesc, shutdown));
  /* The plugin's memory holds a shutdown pointer past its declared size: the host must not see
   * it, because an ABI 1.0 plugin has no such field. */
  g_assert_null(pl->desc.shutdown);
  g_assert_nonnull(pl->desc.init);
  sl_plugin_set_free(set);
}

static void test_newer_minor(void)
{
  expect_refusal("abi-newer-minor", SL_LOADER_ERROR_MINOR, "newer than this sluice's ABI");
}

static void test_other_major(void)
{
  expect_refusal("abi-other-major", SL_LOADER_ERROR_MAJOR, "major version must match");
}

static void test_larger_size(void)
{
  expect_refusal("abi-larger-size", SL_LOADER_ERROR_SIZE, "larger than the");
}

static void test_larger_vtable(void)
{
  expect_refusal("abi-larger-vtable", SL_LOADER_ERROR_SIZE, "input vtable is");
}

static void test_no_init(void)
{
  expect_refusal("abi-no-init", SL_LOADER_ERROR_MANDATORY, "missing mandatory callback init");
}

static void test_no_start(void)
{
  expect_refusal("abi-no-start", SL_LOADER_ERROR_MANDATORY,
                 "missing mandatory input callback start");
}

static void test_no_entry(void)
{
  expect_refusal("abi-no-entry", SL_LOADER_ERROR_NO_ENTRY, "has no entry symbol");
}

static void test_name_mismatch(void)
{
  expect_refusal("abi-name-mismatch", SL_LOADER_ERROR_NAME, "calls itself 'someone-else'");
}

static void test_missing_enabled(void)
{
  expect_refusal("no-such-plugin", SL_LOADER_ERROR_NOT_FOUND, "is in none of");
}

/* Each refusal is distinct: no two variants share a message. */
static void test_messages_distinct(void)
{
  const char *dirs[] = {plugin_dir(), NULL};
  g_autoptr(SlPluginSet) set = sl_plugin_set_scan(dirs);
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *all;
  guint refused = 0;
  sl_plugin_set_inspect_all(set);
  all = sl_plugin_set_list(set);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (pl->state != SL_PLUGIN_REFUSED)
      continue;
    refused++;
    g_assert_false(g_hash_table_contains(seen, pl->refusal));
    g_hash_table_add(seen, pl->refusal);
  }
  g_assert_cmpuint(refused, ==, 8);
}

/* Only enabled plugins are opened. */
static void test_not_enabled_not_opened(void)
{
  SlPluginSet *set = NULL;
  g_autoptr(GError) err = load_one("abi-good", &set);
  GPtrArray *all = sl_plugin_set_list(set);
  g_assert_no_error(err);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (strcmp(pl->name, "abi-good") != 0) {
      g_assert_cmpint(pl->state, ==, SL_PLUGIN_FOUND);
      g_assert_null(pl->module);
    }
  }
  sl_plugin_set_free(set);
}

/* The descriptor checks on descriptors made in memory. */
static gboolean dummy_init(const SluiceHost *h, GError **e)
{
  return TRUE;
}
static gboolean dummy_start(GError **e)
{
  return TRUE;
}
static void dummy_stop(void)
{
}

static void test_check_desc_in_memory(void)
{
  static const SluiceInputVTable vt = {
      .size = sizeof vt, .input_type = "x", .start = dummy_start, .stop_accepting = dummy_stop};
  SluicePluginDesc d = SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_INPUT, .name = "ok",
                                               .version = "1", .init = dummy_init, .vtable = &vt);
  SlPlugin out = {0};
  g_autoptr(GError) err = NULL;

  g_assert_true(sl_plugin_check_desc(&d, "ok", &out, &err));
  g_assert_no_error(err);

  g_assert_false(sl_plugin_check_desc(NULL, "ok", &out, &err));
  g_assert_error(err, SL_LOADER_ERROR, SL_LOADER_ERROR_NULL_DESC);
  g_clear_error(&err);

  d.name = "Bad Name";
  g_assert_false(sl_plugin_check_desc(&d, NULL, &out, &err));
  g_assert_error(err, SL_LOADER_ERROR, SL_LOADER_ERROR_NAME);
  g_clear_error(&err);
  d.name = "ok";

  d.kind = 42;
  g_assert_false(sl_plugin_check_desc(&d, NULL, &out, &err));
  g_assert_error(err, SL_LOADER_ERROR, SL_LOADER_ERROR_KIND);
  g_clear_error(&err);
  d.kind = SLUICE_PLUGIN_KIND_INPUT;

  d.size = 8;
  g_assert_false(sl_plugin_check_desc(&d, NULL, &out, &err));
  g_assert_error(err, SL_LOADER_ERROR, SL_LOADER_ERROR_SIZE);
  g_clear_error(&err);
}

/* The ABI version the build system publishes (pkg-config) is the header's. */
static void test_abi_version_matches_build(void)
{
  g_autofree char *header = g_strdup_printf("%d.%d", SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
  g_assert_cmpstr(g_getenv("SLUICE_ABI_MESON"), ==, header);
}

/* Declared keys are validated by the core; init() receives a working host table. */
static void test_keys_and_init(void)
{
  const char *yaml = "plugins:\n"
                     "  enable: [abi-good]\n"
                     "  abi-good:\n"
                     "    level: 9\n";
  g_autoptr(SlConfig) cfg = sl_config_new_from_text(yaml, strlen(yaml), "t.yaml", NULL);
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autoptr(SlMetrics) metrics = sl_metrics_new();
  SlPluginSet *set = NULL;
  g_autoptr(GError) err = load_one("abi-good", &set);
  SlHostEnv env = {.config = cfg, .metrics = metrics, .node_id = "SN_test", .process = "service"};
  SlPlugin *pl;
  const SluiceHost *host;

  g_assert_no_error(err);
  g_assert_true(sl_host_declare_keys(set, cfg, &err));
  g_assert_false(sl_config_validate(cfg, diags));
  g_assert_cmpuint(diags->len, ==, 1);
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 0))->text, ==,
                  "t.yaml:4: plugins.abi-good.level: 9 is out of range (1 to 5)");

  g_assert_true(sl_host_init_plugins(set, &env, &err));
  pl = sl_plugin_set_get(set, "abi-good");
  host = pl->host;
  g_assert_cmpuint(host->size, ==, sizeof(SluiceHost));
  g_assert_cmpstr(host->plugin, ==, "abi-good");
  g_assert_true(SLUICE_HOST_HAS(host, redact));
  /* the invalid value was not stored: the plugin reads its declared default */
  g_assert_cmpint(host->config_int(host, "level"), ==, 3);
  sl_host_shutdown_plugins(set);
  sl_plugin_set_free(set);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  sl_log_configure(SLUICE_LOG_ERROR, FALSE);
  g_test_add_func("/loader/good", test_good_loads);
  g_test_add_func("/loader/older-minor-loads", test_older_minor_loads);
  g_test_add_func("/loader/refuse/newer-minor", test_newer_minor);
  g_test_add_func("/loader/refuse/other-major", test_other_major);
  g_test_add_func("/loader/refuse/larger-size", test_larger_size);
  g_test_add_func("/loader/refuse/larger-vtable", test_larger_vtable);
  g_test_add_func("/loader/refuse/no-init", test_no_init);
  g_test_add_func("/loader/refuse/no-start", test_no_start);
  g_test_add_func("/loader/refuse/no-entry", test_no_entry);
  g_test_add_func("/loader/refuse/name-mismatch", test_name_mismatch);
  g_test_add_func("/loader/refuse/missing-enabled", test_missing_enabled);
  g_test_add_func("/loader/refusals-distinct", test_messages_distinct);
  g_test_add_func("/loader/not-enabled-not-opened", test_not_enabled_not_opened);
  g_test_add_func("/loader/check-desc-in-memory", test_check_desc_in_memory);
  g_test_add_func("/loader/abi-version", test_abi_version_matches_build);
  g_test_add_func("/loader/keys-and-init", test_keys_and_init);
  return g_test_run();
}
