/* libFuzzer target: untrusted YAML through the parser, schema validation and typed getters.
 *
 * The input is taken as a whole configuration file. A plugin's keys are added so that the
 * plugins.<name> and top-level plugin key paths are exercised too. Besides the sanitizers, one
 * invariant is checked: every diagnostic starts with "SOURCE:LINE: ", the format people rely on.
 */
#include "config.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SOURCE "<fuzz>"

static const SluiceConfigKey FUZZ_KEYS[] = {
    {"greeting", SLUICE_CONFIG_STRING, "hello", 0, 0, "text", 0},
    {"repeat", SLUICE_CONFIG_INT, "1", 1, 10, "count", 0},
    {"timeout", SLUICE_CONFIG_DURATION, "5s", 0.1, 60, "wait", 0},
    {"ratio", SLUICE_CONFIG_DOUBLE, "0.5", 0, 1, "fraction", 0},
    {"hosts", SLUICE_CONFIG_STRING_LIST, NULL, 0, 0, "list", 0},
    {"token", SLUICE_CONFIG_STRING, NULL, 0, 0, "secret", SLUICE_CONFIG_FLAG_SECRET},
    {"fuzz_port", SLUICE_CONFIG_PORT, "9000", 0, 0, "port", SLUICE_CONFIG_FLAG_TOP_LEVEL},
    SLUICE_CONFIG_KEY_END,
};

static void check_diags(const GPtrArray *diags)
{
  const gsize plen = strlen(FUZZ_SOURCE ":");
  for (guint i = 0; i < diags->len; i++) {
    const SlDiag *d = g_ptr_array_index(diags, i);
    const char *p = d->text + plen;
    if (strncmp(d->text, FUZZ_SOURCE ":", plen) != 0 || !g_ascii_isdigit(*p))
      abort();
    while (g_ascii_isdigit(*p))
      p++;
    if (strncmp(p, ": ", 2) != 0)
      abort();
    if (d->level != SL_DIAG_ERROR && d->level != SL_DIAG_WARNING && d->level != SL_DIAG_NOTE)
      abort();
  }
}

static void read_values(const SlConfig *cfg)
{
  const char *const *strv;
  volatile gsize sink = 0;

  sink += (gsize)sl_config_get_int(cfg, "rtmp_port");
  sink += (gsize)sl_config_get_int(cfg, "redis.db");
  sink += (gsize)sl_config_get_int(cfg, "plugins.fuzz.repeat");
  sink += (gsize)sl_config_get_int(cfg, "fuzz_port");
  sink += (gsize)sl_config_get_bool(cfg, "logging.json");
  sink += (gsize)(sl_config_get_double(cfg, "cpu_cost.max_cpu_utilization") > 0.5);
  sink += (gsize)(sl_config_get_double(cfg, "io_create_timeout") > 1);
  sink += (gsize)(sl_config_get_double(cfg, "plugins.fuzz.timeout") > 1);
  sink += strlen(sl_config_get_string(cfg, "output_dir"));
  sink += strlen(sl_config_get_string(cfg, "logging.level"));
  sink += strlen(sl_config_get_string(cfg, "plugins.fuzz.greeting"));
  if (sl_config_get_string(cfg, "api_secret") != NULL)
    sink += strlen(sl_config_get_string(cfg, "api_secret"));
  strv = sl_config_get_strv(cfg, "redis.sentinel_addresses");
  for (guint i = 0; strv[i] != NULL; i++)
    sink += strlen(strv[i]);
  strv = sl_config_get_strv(cfg, "plugins.fuzz.hosts");
  for (guint i = 0; strv[i] != NULL; i++)
    sink += strlen(strv[i]);
  for (guint i = 0; i < MIN(sl_config_list_len(cfg, "ingresses"), 8); i++) {
    g_autofree char *name = g_strdup_printf("ingresses.%u.name", i);
    g_autofree char *seg = g_strdup_printf("ingresses.%u.outputs.segments.segment_duration", i);
    const char *v = sl_config_get_string(cfg, name);
    sink += v ? strlen(v) : 0;
    sink += (gsize)sl_config_get_int(cfg, seg);
  }
  sink += sl_config_line(cfg, "logging.level");
  sink += sl_config_is_set(cfg, "storage.s3.bucket");
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const default_enable[] = {"input-rtmp", "output-file", NULL};
  static gboolean quiet = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;
  g_auto(GStrv) path = NULL;
  g_auto(GStrv) enable = NULL;

  if (!quiet) {
    sl_log_configure(SLUICE_LOG_ERROR + 0, FALSE);
    quiet = TRUE;
  }

  cfg = sl_config_new_from_text((const char *)data, size, FUZZ_SOURCE, &error);
  if (cfg == NULL) {
    if (error == NULL || error->domain != SL_CONFIG_ERROR ||
        strncmp(error->message, FUZZ_SOURCE, strlen(FUZZ_SOURCE)) != 0)
      abort();
    return 0;
  }

  diags = sl_diag_array_new();
  path = sl_config_plugin_path(cfg, "/usr/lib/sluice/plugins", diags);
  enable = sl_config_plugin_enable(cfg, default_enable, diags);
  if (path == NULL || enable == NULL)
    abort();
  if (!sl_config_add_plugin_keys(cfg, "fuzz", FUZZ_KEYS, &error))
    abort();
  (void)sl_config_validate(cfg, diags);
  check_diags(diags);
  read_values(cfg);
  return 0;
}
