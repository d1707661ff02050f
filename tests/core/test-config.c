/* Unit tests for core/config.c and core/config-keys.c: sources, schema validation and its
 * messages, typed getters, environment overrides, plugin keys and secret registration. */
#include "config.h"
#include "log.h"

#include <glib/gstdio.h>
#include <string.h>

#define SRC "/etc/sluice/test.yaml"

static const char *const SOURCE_VARS[] = {
    "SLUICE_CONFIG_FILE",  "SLUICE_CONFIG_BODY",
    "INGRESS_CONFIG_FILE", "INGRESS_CONFIG_BODY",
    "EGRESS_CONFIG_FILE",  "EGRESS_CONFIG_BODY",
    "LIVEKIT_API_KEY",     "LIVEKIT_API_SECRET",
    "SLUICE_PLUGIN_PATH",  NULL,
};

static void clear_env(void)
{
  for (guint i = 0; SOURCE_VARS[i] != NULL; i++)
    g_unsetenv(SOURCE_VARS[i]);
}

static SlConfig *parse(const char *text)
{
  g_autoptr(GError) error = NULL;
  SlConfig *cfg = sl_config_new_from_text(text, strlen(text), SRC, &error);
  g_assert_no_error(error);
  g_assert_nonnull(cfg);
  return cfg;
}

static void dump(GPtrArray *diags)
{
  for (guint i = 0; i < diags->len; i++) {
    const SlDiag *d = g_ptr_array_index(diags, i);
    g_test_message("diag %d: %s", d->level, d->text);
  }
}

/* Parses and validates `text`; the caller owns *cfg and *diags. */
static gboolean check(const char *text, SlConfig **cfg, GPtrArray **diags)
{
  gboolean ok;
  *cfg = parse(text);
  *diags = sl_diag_array_new();
  ok = sl_config_validate(*cfg, *diags);
  dump(*diags);
  return ok;
}

static guint count_level(GPtrArray *diags, SlDiagLevel level)
{
  guint n = 0;
  for (guint i = 0; i < diags->len; i++)
    if (((SlDiag *)g_ptr_array_index(diags, i))->level == level)
      n++;
  return n;
}

/* Asserts that `diags` holds exactly one diagnostic of `level` and that its text is `text`. */
static void assert_one(GPtrArray *diags, SlDiagLevel level, const char *text)
{
  const SlDiag *found = NULL;
  g_assert_cmpuint(count_level(diags, level), ==, 1);
  for (guint i = 0; i < diags->len; i++) {
    const SlDiag *d = g_ptr_array_index(diags, i);
    if (d->level == level)
      found = d;
  }
  g_assert_cmpstr(found->text, ==, text);
}

/* Validates `text`, expecting exactly one diagnostic: an error reading `expected`. */
static void assert_error(const char *text, const char *expected)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;
  g_assert_false(check(text, &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_ERROR, expected);
}

/* Validates `text`, expecting no diagnostic at all. */
static SlConfig *check_clean(const char *text)
{
  SlConfig *cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;
  g_assert_true(check(text, &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 0);
  return cfg;
}

/* ---- value types ------------------------------------------------------------------------- */

static void test_bool_spellings(void)
{
  static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON", "y", NULL};
  static const char *const no[] = {"false", "False", "no", "NO", "off", "Off", "n", NULL};

  for (guint i = 0; yes[i] != NULL; i++) {
    g_autofree char *text = g_strdup_printf("development: %s\n", yes[i]);
    g_autoptr(SlConfig) cfg = check_clean(text);
    gboolean b = FALSE;
    g_assert_true(sl_config_parse_bool(yes[i], &b));
    g_assert_true(b);
    g_assert_true(sl_config_get_bool(cfg, "development"));
  }
  for (guint i = 0; no[i] != NULL; i++) {
    g_autofree char *text = g_strdup_printf("logging:\n  json: %s\n", no[i]);
    g_autoptr(SlConfig) cfg = check_clean(text);
    gboolean b = TRUE;
    g_assert_true(sl_config_parse_bool(no[i], &b));
    g_assert_false(b);
    g_assert_false(sl_config_get_bool(cfg, "logging.json"));
    g_assert_true(sl_config_is_set(cfg, "logging.json"));
  }
}

static void test_bool_invalid(void)
{
  gboolean b = FALSE;
  g_assert_false(sl_config_parse_bool("maybe", &b));
  g_assert_false(sl_config_parse_bool("", &b));
  g_assert_false(sl_config_parse_bool("truex", &b));
  assert_error("development: maybe\n", SRC ":1: development: 'maybe' is not true or false");
}

static void test_int_range(void)
{
  g_autoptr(SlConfig) top = check_clean("redis:\n  db: 1000\n");
  g_autoptr(SlConfig) bottom = check_clean("redis:\n  db: 0\n");

  g_assert_cmpint(sl_config_get_int(top, "redis.db"), ==, 1000);
  g_assert_cmpint(sl_config_get_int(bottom, "redis.db"), ==, 0);
  assert_error("redis:\n  db: 1001\n", SRC ":2: redis.db: 1001 is out of range (0 to 1000)");
  assert_error("redis:\n  db: -1\n", SRC ":2: redis.db: -1 is out of range (0 to 1000)");
}

static void test_int_not_a_number(void)
{
  assert_error("io_workers: 1.5\n", SRC ":1: io_workers: '1.5' is not a whole number");
  assert_error("io_workers: 12abc\n", SRC ":1: io_workers: '12abc' is not a whole number");
  assert_error("io_workers: 99999999999999999999\n",
               SRC ":1: io_workers: '99999999999999999999' is not a whole number");
  assert_error("io_workers: \"\"\n", SRC ":1: io_workers: '' is not a whole number");
}

static void test_int_read_as_double(void)
{
  g_autoptr(SlConfig) cfg = check_clean("io_workers: 7\n");
  g_assert_cmpint(sl_config_get_int(cfg, "io_workers"), ==, 7);
  g_assert_cmpfloat(sl_config_get_double(cfg, "io_workers"), ==, 7.0);
}

static void test_double_range(void)
{
  g_autoptr(SlConfig) cfg = check_clean("cpu_cost:\n"
                                        "  max_cpu_utilization: 0.01\n"
                                        "  rtmp_cpu_cost: 3\n"
                                        "  track_cpu_cost: 0.25\n");

  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.max_cpu_utilization"), ==, 0.01);
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.rtmp_cpu_cost"), ==, 3.0);
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.track_cpu_cost"), ==, 0.25);
  assert_error("cpu_cost:\n  max_cpu_utilization: 1.5\n",
               SRC ":2: cpu_cost.max_cpu_utilization: 1.5 is out of range (0.01 to 1)");
  assert_error("cpu_cost:\n  max_cpu_utilization: 0\n",
               SRC ":2: cpu_cost.max_cpu_utilization: 0 is out of range (0.01 to 1)");
}

static void test_double_not_a_number(void)
{
  assert_error("cpu_cost:\n  rtmp_cpu_cost: abc\n",
               SRC ":2: cpu_cost.rtmp_cpu_cost: 'abc' is not a number");
  assert_error("cpu_cost:\n  rtmp_cpu_cost: nan\n",
               SRC ":2: cpu_cost.rtmp_cpu_cost: 'nan' is not a number");
  assert_error("cpu_cost:\n  max_memory: inf\n",
               SRC ":2: cpu_cost.max_memory: 'inf' is not a number");
  assert_error("cpu_cost:\n  max_memory: 1e999\n",
               SRC ":2: cpu_cost.max_memory: '1e999' is not a number");
}

static void test_port_valid(void)
{
  g_autoptr(SlConfig) cfg = check_clean("health_port: 0\n"
                                        "prometheus_port: 65535\n"
                                        "rtmp_port: -1\n"
                                        "whip_port: 8443\n");

  g_assert_cmpint(sl_config_get_int(cfg, "health_port"), ==, 0);
  g_assert_cmpint(sl_config_get_int(cfg, "prometheus_port"), ==, 65535);
  g_assert_cmpint(sl_config_get_int(cfg, "rtmp_port"), ==, -1);
  g_assert_cmpint(sl_config_get_int(cfg, "whip_port"), ==, 8443);
}

static void test_port_out_of_range(void)
{
  assert_error("rtmp_port: 65536\n",
               SRC ":1: rtmp_port: '65536' is not a port number (0-65535, or -1 to disable)");
  assert_error("rtmp_port: -2\n",
               SRC ":1: rtmp_port: '-2' is not a port number (0-65535, or -1 to disable)");
  assert_error("rtmp_port: rtmp\n",
               SRC ":1: rtmp_port: 'rtmp' is not a port number (0-65535, or -1 to disable)");
  assert_error("rtmp_port: 80.5\n",
               SRC ":1: rtmp_port: '80.5' is not a port number (0-65535, or -1 to disable)");
}

static void test_duration_parse(void)
{
  static const struct {
    const char *text;
    double seconds;
  } good[] = {
      {"15s", 15},       {"1m30s", 90},     {"500ms", 0.5},    {"2h", 7200}, {"10", 10},
      {"1.5", 1.5},      {"0", 0},          {"1h2m3s", 3723},  {"2m", 120},  {"1.5s", 1.5},
      {"250us", 250e-6}, {"100ns", 100e-9}, {"1m500ms", 60.5},
  };
  static const char *const bad[] = {"5x", "", "s", "m5", "5 s", "1s2", "--5s", "ms", ".s", NULL};

  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    double s = -1;
    g_test_message("%s", good[i].text);
    g_assert_true(sl_config_parse_duration(good[i].text, &s));
    g_assert_cmpfloat_with_epsilon(s, good[i].seconds, 1e-12);
  }
  for (guint i = 0; bad[i] != NULL; i++) {
    double s = -1;
    g_test_message("%s", bad[i]);
    g_assert_false(sl_config_parse_duration(bad[i], &s));
  }
}

static void test_duration_key(void)
{
  g_autoptr(SlConfig) cfg = check_clean("io_create_timeout: 1m30s\n"
                                        "io_update_timeout: 10\n"
                                        "io_selection_timeout: 250ms\n"
                                        "session_limits:\n"
                                        "  file_output_max_duration: 2h\n");

  g_assert_cmpfloat(sl_config_get_double(cfg, "io_create_timeout"), ==, 90);
  g_assert_cmpfloat(sl_config_get_double(cfg, "io_update_timeout"), ==, 10);
  g_assert_cmpfloat(sl_config_get_double(cfg, "io_selection_timeout"), ==, 0.25);
  g_assert_cmpfloat(sl_config_get_double(cfg, "session_limits.file_output_max_duration"), ==, 7200);
  assert_error("io_create_timeout: 5x\n",
               SRC ":1: io_create_timeout: '5x' is not a duration such as 15s, 500ms or 2m");
}

static void test_string_list(void)
{
  g_autoptr(SlConfig) cfg = check_clean("redis:\n"
                                        "  sentinel_addresses:\n"
                                        "    - 10.0.0.1:26379\n"
                                        "    - 10.0.0.2:26379\n"
                                        "  cluster_addresses: 10.0.0.3:6379\n");
  const char *const *sentinels = sl_config_get_strv(cfg, "redis.sentinel_addresses");
  const char *const *cluster = sl_config_get_strv(cfg, "redis.cluster_addresses");
  const char *const *absent = sl_config_get_strv(cfg, "plugins.enable");

  g_assert_cmpuint(g_strv_length((char **)sentinels), ==, 2);
  g_assert_cmpstr(sentinels[0], ==, "10.0.0.1:26379");
  g_assert_cmpstr(sentinels[1], ==, "10.0.0.2:26379");
  g_assert_cmpuint(g_strv_length((char **)cluster), ==, 1);
  g_assert_cmpstr(cluster[0], ==, "10.0.0.3:6379");
  g_assert_nonnull(absent);
  g_assert_null(absent[0]);
}

static void test_string_list_bad(void)
{
  assert_error("redis:\n"
               "  sentinel_addresses:\n"
               "    - a:1\n"
               "    - {host: b}\n",
               SRC ":4: redis.sentinel_addresses: each item must be a single value, found a "
                   "mapping");
  assert_error("redis:\n"
               "  cluster_addresses:\n"
               "    host: b\n",
               SRC ":3: redis.cluster_addresses: expected a list of text values, found a mapping");
}

static void test_string_values(void)
{
  g_autoptr(SlConfig) cfg = check_clean("node_id: 12\n"
                                        "cluster_id: \"quoted: text\"\n"
                                        "location: 'null'\n");

  g_assert_cmpstr(sl_config_get_string(cfg, "node_id"), ==, "12");
  g_assert_cmpstr(sl_config_get_string(cfg, "cluster_id"), ==, "quoted: text");
  g_assert_cmpstr(sl_config_get_string(cfg, "location"), ==, "null");
  assert_error("node_id:\n  a: 1\n", SRC ":2: node_id: expected a text value, found a mapping");
  assert_error("node_id: [a, b]\n", SRC ":1: node_id: expected a text value, found a list");
}

/* ---- messages ---------------------------------------------------------------------------- */

static void test_message_format(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_false(check("# sluice\n"
                       "api_key: key-for-format-test\n"
                       "health_port: not-a-port\n",
                       &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_ERROR,
             SRC ":3: health_port: 'not-a-port' is not a port number (0-65535, or -1 to disable)");
  g_assert_true(
      g_str_has_prefix(((SlDiag *)g_ptr_array_index(diags, 0))->text, SRC ":3: health_port:"));
}

static void test_message_every_problem(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;
  const SlDiag *d;

  g_assert_false(check("health_port: x\n"
                       "rtmp_port: 70000\n"
                       "cpu_cost:\n"
                       "  max_cpu_utilization: 2\n"
                       "typo_key: 1\n",
                       &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 4);
  g_assert_cmpuint(count_level(diags, SL_DIAG_ERROR), ==, 3);
  d = g_ptr_array_index(diags, 0);
  g_assert_true(g_str_has_prefix(d->text, SRC ":1: health_port: "));
  d = g_ptr_array_index(diags, 1);
  g_assert_true(g_str_has_prefix(d->text, SRC ":2: rtmp_port: "));
  d = g_ptr_array_index(diags, 2);
  g_assert_true(g_str_has_prefix(d->text, SRC ":4: cpu_cost.max_cpu_utilization: "));
  d = g_ptr_array_index(diags, 3);
  g_assert_cmpint(d->level, ==, SL_DIAG_WARNING);
  g_assert_true(g_str_has_prefix(d->text, SRC ":5: typo_key: unknown key"));
}

static void test_parse_error(void)
{
  const char *text = "a: 1\nb: [1,\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(SlConfig) cfg = sl_config_new_from_text(text, strlen(text), SRC, &error);

  g_assert_null(cfg);
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_PARSE);
  g_assert_true(g_str_has_prefix(error->message, SRC ":"));
}

static void test_structure_error(void)
{
  const char *text = "- a\n- b\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(SlConfig) cfg = sl_config_new_from_text(text, strlen(text), SRC, &error);

  g_assert_null(cfg);
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_PARSE);
  g_assert_cmpstr(error->message, ==, SRC ":1: the top level must be a mapping of keys");
}

/* ---- unknown, unused and legacy keys ----------------------------------------------------- */

static void test_unknown_key_hint(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("rtmp_port: 1935\nhelth_port: 8080\n", &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_WARNING,
             SRC ":2: helth_port: unknown key, ignored (did you mean 'health_port'?)");
  g_assert_cmpint(sl_config_get_int(cfg, "health_port"), ==, 0);
}

static void test_unknown_key_no_hint(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("completely_unrelated_thing: 1\n", &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_WARNING, SRC ":1: completely_unrelated_thing: unknown key, ignored");
}

/* redis.tls is a section of typed keys (LiveKit's xtls settings), not a free-form value. */
static void test_redis_tls_keys(void)
{
  g_autoptr(SlConfig) cfg = check_clean("redis:\n"
                                        "  address: 127.0.0.1:6380\n"
                                        "  use_tls: true\n"
                                        "  tls:\n"
                                        "    enabled: true\n"
                                        "    insecure: false\n"
                                        "    server_name: redis.internal\n"
                                        "    ca_cert_file: /etc/ca.pem\n"
                                        "    client_cert_file: /etc/client.pem\n"
                                        "    client_key_file: /etc/client.key\n");
  g_autoptr(SlConfig) unset = check_clean("redis:\n  address: 127.0.0.1:6380\n");
  g_autoptr(SlConfig) typo = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(sl_config_get_bool(cfg, "redis.tls.enabled"));
  g_assert_false(sl_config_get_bool(cfg, "redis.tls.insecure"));
  g_assert_cmpstr(sl_config_get_string(cfg, "redis.tls.server_name"), ==, "redis.internal");
  g_assert_cmpstr(sl_config_get_string(cfg, "redis.tls.ca_cert_file"), ==, "/etc/ca.pem");
  g_assert_cmpstr(sl_config_get_string(cfg, "redis.tls.client_key_file"), ==, "/etc/client.key");
  g_assert_cmpuint(sl_config_line(cfg, "redis.tls.client_cert_file"), ==, 9);
  g_assert_false(sl_config_get_bool(unset, "redis.tls.enabled"));
  g_assert_false(sl_config_get_bool(unset, "redis.use_tls"));
  g_assert_null(sl_config_get_string(unset, "redis.tls.ca_cert_file"));

  assert_error("redis:\n  tls:\n    enabled: maybe\n",
               SRC ":3: redis.tls.enabled: 'maybe' is not true or false");
  assert_error("redis:\n  tls:\n    ca_cert_file: [a, b]\n",
               SRC ":3: redis.tls.ca_cert_file: expected a text value, found a list");
  assert_error("redis:\n  tls: true\n",
               SRC ":2: redis.tls: expected a mapping of keys, found a single value");
  g_assert_true(
      check("redis:\n  tls:\n    enabled: true\n    ca_cert_fil: /etc/ca.pem\n", &typo, &diags));
  assert_one(diags, SL_DIAG_WARNING,
             SRC ":4: redis.tls.ca_cert_fil: unknown key, ignored (did you mean 'ca_cert_file'?)");
}

static void test_unknown_key_nested(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("redis:\n"
                      "  db: 2\n"
                      "  adress: 127.0.0.1:6379\n",
                      &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_WARNING,
             SRC ":3: redis.adress: unknown key, ignored (did you mean 'address'?)");
  g_assert_null(sl_config_get_string(cfg, "redis.address"));
  g_assert_cmpint(sl_config_get_int(cfg, "redis.db"), ==, 2);
}

static void test_unknown_key_hint_stays_in_section(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  /* "rtmp_port" is one edit away at the top level, but not a key of cpu_cost. */
  g_assert_true(check("cpu_cost:\n  rtmp_port: 1\n", &cfg, &diags));
  assert_one(diags, SL_DIAG_WARNING, SRC ":2: cpu_cost.rtmp_port: unknown key, ignored");
}

static void test_freemap_not_checked(void)
{
  g_autoptr(SlConfig) cfg = check_clean("storage:\n"
                                        "  s3:\n"
                                        "    metadata:\n"
                                        "      anything: goes\n"
                                        "      nested: {a: 1}\n"
                                        "rtc_config:\n"
                                        "  udp_port: 7885\n"
                                        "  use_external_ip: true\n");
  g_assert_true(sl_config_is_set(cfg, "storage.s3.metadata"));
}

static void test_livekit_unused_note(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;
  const SlDiag *d;

  g_assert_true(check("ws_url: ws://localhost:7880\n"
                      "template_port: 7980\n"
                      "whip_proxy_enabled: false\n",
                      &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 3);
  g_assert_cmpuint(count_level(diags, SL_DIAG_NOTE), ==, 3);
  d = g_ptr_array_index(diags, 0);
  g_assert_cmpstr(d->text, ==,
                  SRC ":1: ws_url: accepted; not used by sluice (no LiveKit server is needed)");
  d = g_ptr_array_index(diags, 1);
  g_assert_cmpstr(d->text, ==,
                  SRC ":2: template_port: accepted; not used by sluice (no Chrome templates)");
  d = g_ptr_array_index(diags, 2);
  g_assert_cmpstr(d->text, ==, SRC ":3: whip_proxy_enabled: accepted; not used by sluice");
}

static void test_legacy_log_level(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("api_key: key-for-legacy-test\nlog_level: debug\n", &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_NOTE, SRC ":2: log_level: older spelling of logging.level, accepted");
  g_assert_cmpstr(sl_config_get_string(cfg, "logging.level"), ==, "debug");
  g_assert_cmpstr(sl_config_get_string(cfg, "log_level"), ==, "debug");
  g_assert_cmpuint(sl_config_line(cfg, "logging.level"), ==, 2);
  g_assert_true(sl_config_key(cfg, "log_level") == sl_config_key(cfg, "logging.level"));
}

static void test_legacy_top_level_level(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("level: warn\n", &cfg, &diags));
  assert_one(diags, SL_DIAG_NOTE, SRC ":1: level: older spelling of logging.level, accepted");
  g_assert_cmpstr(sl_config_get_string(cfg, "logging.level"), ==, "warn");
  g_assert_true(sl_config_is_set(cfg, "logging.level"));
}

static void test_legacy_and_current_both_set(void)
{
  /* Whichever comes first, the error names both lines. */
  g_autoptr(SlConfig) c1 = NULL;
  g_autoptr(SlConfig) c2 = NULL;
  g_autoptr(SlConfig) c3 = NULL;
  g_autoptr(GPtrArray) d1 = NULL;
  g_autoptr(GPtrArray) d2 = NULL;
  g_autoptr(GPtrArray) d3 = NULL;

  g_assert_false(check("logging:\n"
                       "  level: info\n"
                       "log_level: debug\n",
                       &c1, &d1));
  assert_one(d1, SL_DIAG_ERROR, SRC ":3: log_level: also set as logging.level on line 2; keep one");

  g_assert_false(check("level: debug\n"
                       "logging:\n"
                       "  level: info\n",
                       &c2, &d2));
  assert_one(d2, SL_DIAG_ERROR, SRC ":3: logging.level: set more than once (first on line 1)");

  g_assert_false(check("log_level: debug\n"
                       "level: info\n",
                       &c3, &d3));
  assert_one(d3, SL_DIAG_ERROR, SRC ":2: level: also set as logging.level on line 1; keep one");
}

static void test_backup_storage(void)
{
  g_autoptr(SlConfig) cfg = check_clean("backup_storage: /var/lib/sluice/backup\n");
  g_assert_cmpstr(sl_config_get_string(cfg, "backup_storage"), ==, "/var/lib/sluice/backup");
}

static void test_storage_sections(void)
{
  g_autoptr(SlConfig) cfg = check_clean("storage:\n"
                                        "  prefix: rec/\n"
                                        "  s3:\n"
                                        "    access_key: AKIAEXAMPLE\n"
                                        "    secret: storage-s3-secret-for-sections\n"
                                        "    bucket: media\n"
                                        "    force_path_style: true\n"
                                        "    max_retry_delay: 2s\n"
                                        "backup:\n"
                                        "  azure:\n"
                                        "    account_name: acct\n"
                                        "    container_name: backup\n"
                                        "gcp:\n"
                                        "  bucket: legacy-bucket\n");

  g_assert_cmpstr(sl_config_get_string(cfg, "storage.prefix"), ==, "rec/");
  g_assert_true(sl_config_get_bool(cfg, "storage.s3.force_path_style"));
  g_assert_cmpfloat(sl_config_get_double(cfg, "storage.s3.max_retry_delay"), ==, 2);
  g_assert_cmpfloat(sl_config_get_double(cfg, "storage.s3.min_retry_delay"), ==, 0.1);
  g_assert_cmpint(sl_config_get_int(cfg, "storage.s3.max_retries"), ==, 5);
  g_assert_cmpstr(sl_config_get_string(cfg, "backup.azure.container_name"), ==, "backup");
  g_assert_cmpstr(sl_config_get_string(cfg, "gcp.bucket"), ==, "legacy-bucket");
  g_assert_true(sl_config_is_set(cfg, "backup.azure"));
  g_assert_false(sl_config_is_set(cfg, "backup.s3"));
}

/* ---- structure --------------------------------------------------------------------------- */

static void test_duplicate_key(void)
{
  assert_error("health_port: 1\nhealth_port: 2\n",
               SRC ":2: health_port: set more than once (first on line 1)");
  assert_error("redis:\n  db: 1\n  db: 2\n",
               SRC ":3: redis.db: set more than once (first on line 2)");
  assert_error("redis:\n  db: 1\nredis:\n  db: 2\n",
               SRC ":3: redis: set more than once (first on line 1)");
}

static void test_duplicate_key_keeps_first(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_false(check("output_dir: /first\noutput_dir: /second\n", &cfg, &diags));
  g_assert_cmpstr(sl_config_get_string(cfg, "output_dir"), ==, "/first");
}

static void test_section_given_scalar(void)
{
  assert_error("redis: localhost:6379\n",
               SRC ":1: redis: expected a mapping of keys, found a single value");
  assert_error("logging:\n  - level\n",
               SRC ":2: logging: expected a mapping of keys, found a list");
  assert_error("storage:\n  s3: my-bucket\n",
               SRC ":2: storage.s3: expected a mapping of keys, found a single value");
}

static void test_scalar_given_section(void)
{
  assert_error("rtmp_port:\n  value: 1\n",
               SRC ":2: rtmp_port: expected a port number (0-65535, or -1 to disable), found a "
                   "mapping");
}

static void test_null_keeps_default(void)
{
  g_autoptr(SlConfig) cfg = check_clean("rtmp_port:\n"
                                        "health_port: ~\n"
                                        "development: null\n"
                                        "cpu_cost:\n"
                                        "  max_cpu_utilization: Null\n"
                                        "  hold_time:\n"
                                        "redis:\n"
                                        "plugins:\n");

  g_assert_cmpint(sl_config_get_int(cfg, "rtmp_port"), ==, 1935);
  g_assert_cmpint(sl_config_get_int(cfg, "health_port"), ==, 0);
  g_assert_false(sl_config_get_bool(cfg, "development"));
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.max_cpu_utilization"), ==, 0.8);
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.hold_time"), ==, 5);
  g_assert_false(sl_config_is_set(cfg, "rtmp_port"));
  g_assert_false(sl_config_is_set(cfg, "cpu_cost.max_cpu_utilization"));
  g_assert_false(sl_config_is_set(cfg, "redis"));
  g_assert_cmpuint(sl_config_line(cfg, "rtmp_port"), ==, 0);
}

static void test_quoted_null_is_a_value(void)
{
  assert_error("rtmp_port: \"null\"\n",
               SRC ":1: rtmp_port: 'null' is not a port number (0-65535, or -1 to disable)");
}

/* ---- defaults and getters ---------------------------------------------------------------- */

static void test_defaults(void)
{
  g_autoptr(SlConfig) cfg = check_clean("");
  const char *const *sentinels = sl_config_get_strv(cfg, "redis.sentinel_addresses");

  g_assert_cmpstr(sl_config_get_string(cfg, "output_dir"), ==, "./recordings");
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.max_cpu_utilization"), ==, 0.8);
  g_assert_cmpint(sl_config_get_int(cfg, "rtmp_port"), ==, 1935);
  g_assert_cmpint(sl_config_get_int(cfg, "whip_port"), ==, 8080);
  g_assert_cmpint(sl_config_get_int(cfg, "health_port"), ==, 0);
  g_assert_cmpstr(sl_config_get_string(cfg, "logging.level"), ==, "info");
  g_assert_cmpstr(sl_config_get_string(cfg, "bind_address"), ==, "0.0.0.0");
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.rtmp_cpu_cost"), ==, 2.0);
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.rtmp_bypass_transcoding_cpu_cost"), ==,
                    0.05);
  g_assert_cmpfloat(sl_config_get_double(cfg, "io_create_timeout"), ==, 15);
  g_assert_cmpfloat(sl_config_get_double(cfg, "io_selection_timeout"), ==, 0.5);
  g_assert_cmpfloat(sl_config_get_double(cfg, "redis.dial_timeout"), ==, 5);
  g_assert_cmpint(sl_config_get_int(cfg, "max_upload_queue"), ==, 60);
  g_assert_cmpint(sl_config_get_int(cfg, "backup.s3.max_retries"), ==, 5);
  g_assert_false(sl_config_get_bool(cfg, "storage.s3.force_path_style"));
  g_assert_null(sl_config_get_string(cfg, "api_key"));
  g_assert_null(sl_config_get_string(cfg, "node_id"));
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.min_idle_ratio"), ==, 0);
  g_assert_nonnull(sentinels);
  g_assert_null(sentinels[0]);
  g_assert_false(sl_config_is_set(cfg, "output_dir"));
  g_assert_cmpuint(sl_config_line(cfg, "output_dir"), ==, 0);
  g_assert_cmpuint(sl_config_list_len(cfg, "output_dir"), ==, 0);
}

static gboolean parse_int_text(const char *text, gint64 *out)
{
  return g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, out, NULL);
}

/* The table is data: check it the way a reviewer would, key by key. */
static void test_key_table_consistent(void)
{
  g_autoptr(SlConfig) cfg = parse("");
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

  for (const SlKeyDef *d = sl_core_keys; d->path != NULL; d++) {
    const char *dot = strrchr(d->path, '.');
    g_test_message("%s", d->path);
    g_assert_false(g_hash_table_contains(seen, d->path));
    g_hash_table_add(seen, (gpointer)d->path);

    if (dot != NULL) {
      g_autofree char *parent = g_strndup(d->path, dot - d->path);
      gboolean in_list = g_str_has_suffix(parent, "[]");
      const SlKeyDef *p;
      if (in_list)
        parent[strlen(parent) - 2] = '\0';
      p = sl_config_key(cfg, parent);
      g_assert_nonnull(p);
      g_assert_cmpint(p->type, ==, in_list ? SL_KEY_LIST : SL_KEY_SECTION);
    }
    if (d->alias_of != NULL) {
      const SlKeyDef *canon = sl_config_key(cfg, d->alias_of);
      g_assert_nonnull(canon);
      g_assert_null(canon->alias_of);
    }
    g_assert_cmpfloat(d->min, <=, d->max);
    if (d->def == NULL)
      continue;

    switch (d->type) {
    case SL_KEY_BOOL: {
      gboolean b;
      g_assert_true(sl_config_parse_bool(d->def, &b));
      g_assert_true(sl_config_get_bool(cfg, d->path) == b);
      break;
    }
    case SL_KEY_INT:
    case SL_KEY_PORT: {
      gint64 i = 0;
      g_assert_true(parse_int_text(d->def, &i));
      g_assert_cmpint(sl_config_get_int(cfg, d->path), ==, i);
      if (d->min != 0 || d->max != 0) {
        g_assert_cmpfloat((double)i, >=, d->min);
        g_assert_cmpfloat((double)i, <=, d->max);
      }
      break;
    }
    case SL_KEY_DOUBLE:
    case SL_KEY_DURATION: {
      double v = 0;
      if (d->type == SL_KEY_DOUBLE) {
        char *end = NULL;
        v = g_ascii_strtod(d->def, &end);
        g_assert_true(end != d->def && *end == '\0');
      } else {
        g_assert_true(sl_config_parse_duration(d->def, &v));
      }
      g_assert_cmpfloat(sl_config_get_double(cfg, d->path), ==, v);
      if (d->min != 0 || d->max != 0) {
        g_assert_cmpfloat(v, >=, d->min);
        g_assert_cmpfloat(v, <=, d->max);
      }
      break;
    }
    case SL_KEY_STRING:
      g_assert_cmpstr(sl_config_get_string(cfg, d->path), ==, d->def);
      break;
    default:
      g_test_fail_printf("%s: a default for a key of type %d", d->path, d->type);
    }
  }
}

static void test_set_and_line(void)
{
  g_autoptr(SlConfig) cfg = check_clean("# comment\n"
                                        "\n"
                                        "rtmp_port: 1936\n"
                                        "cpu_cost:\n"
                                        "  track_cpu_cost: 0.75\n");

  g_assert_true(sl_config_is_set(cfg, "rtmp_port"));
  g_assert_cmpuint(sl_config_line(cfg, "rtmp_port"), ==, 3);
  g_assert_true(sl_config_is_set(cfg, "cpu_cost"));
  g_assert_cmpuint(sl_config_line(cfg, "cpu_cost"), ==, 4);
  g_assert_cmpuint(sl_config_line(cfg, "cpu_cost.track_cpu_cost"), ==, 5);
  g_assert_false(sl_config_is_set(cfg, "cpu_cost.rtmp_cpu_cost"));
}

static void test_key_lookup(void)
{
  g_autoptr(SlConfig) cfg = parse("");
  const SlKeyDef *def = sl_config_key(cfg, "redis.password");

  g_assert_nonnull(def);
  g_assert_cmpint(def->type, ==, SL_KEY_STRING);
  g_assert_true(def->flags & SL_KEY_SECRET);
  def = sl_config_key(cfg, "ws_url");
  g_assert_true(def->flags & SL_KEY_UNUSED);
  g_assert_null(sl_config_key(cfg, "no_such_key"));
  g_assert_null(sl_config_key(cfg, "redis.no_such_key"));
}

static void test_getter_misuse(void)
{
  g_autoptr(SlConfig) cfg = parse("rtmp_port: 1936\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();

  g_assert_true(sl_config_validate(cfg, diags));
  /* Programming errors: logged, and the zero value is returned. */
  g_assert_null(sl_config_get_string(cfg, "rtmp_port"));
  g_assert_false(sl_config_get_bool(cfg, "rtmp_port"));
  g_assert_cmpint(sl_config_get_int(cfg, "no_such_key"), ==, 0);
  g_assert_cmpint(sl_config_get_int(cfg, "output_dir"), ==, 0);
  g_assert_null(sl_config_get_strv(cfg, "rtmp_port")[0]);
}

/* ---- lists of sections ------------------------------------------------------------------- */

static void test_list_items(void)
{
  g_autoptr(SlConfig) cfg = check_clean("ingresses:\n"
                                        "  - name: first\n"
                                        "    room_name: lobby\n"
                                        "  - name: second\n"
                                        "    enable_transcoding: true\n"
                                        "    outputs:\n"
                                        "      segments:\n"
                                        "        segment_duration: 6\n");

  g_assert_cmpuint(sl_config_list_len(cfg, "ingresses"), ==, 2);
  g_assert_cmpstr(sl_config_get_string(cfg, "ingresses.0.name"), ==, "first");
  g_assert_cmpstr(sl_config_get_string(cfg, "ingresses.0.room_name"), ==, "lobby");
  g_assert_cmpstr(sl_config_get_string(cfg, "ingresses.1.name"), ==, "second");
  g_assert_cmpuint(sl_config_line(cfg, "ingresses.1.name"), ==, 4);
  g_assert_true(sl_config_get_bool(cfg, "ingresses.1.enable_transcoding"));
  g_assert_false(sl_config_get_bool(cfg, "ingresses.0.enable_transcoding"));
  g_assert_cmpint(sl_config_get_int(cfg, "ingresses.1.outputs.segments.segment_duration"), ==, 6);
  /* Unset item keys read as the declared default. */
  g_assert_cmpint(sl_config_get_int(cfg, "ingresses.0.outputs.segments.segment_duration"), ==, 4);
  g_assert_true(sl_config_get_bool(cfg, "ingresses.0.enabled"));
  g_assert_false(sl_config_is_set(cfg, "ingresses.0.enabled"));
  g_assert_null(sl_config_get_string(cfg, "ingresses.0.participant_identity"));
}

static void test_list_diagnostics(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_false(check("ingresses:\n"
                       "  - name: a\n"
                       "    room_nme: lobby\n"
                       "  - name: b\n"
                       "    outputs:\n"
                       "      segments:\n"
                       "        segment_duration: 61\n"
                       "  - room_name: lobby\n"
                       "  - just a string\n",
                       &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 4);
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 0))->text, ==,
                  SRC
                  ":3: ingresses[0].room_nme: unknown key, ignored (did you mean 'room_name'?)");
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 1))->text, ==,
                  SRC
                  ":7: ingresses[1].outputs.segments.segment_duration: 61 is out of range (1 to "
                  "60)");
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 2))->text, ==,
                  SRC ":8: ingresses[2].name: required key is missing");
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 3))->text, ==,
                  SRC ":9: ingresses[3]: expected a mapping of keys, found a single value");
  g_assert_cmpuint(sl_config_list_len(cfg, "ingresses"), ==, 4);
}

static void test_list_not_a_list(void)
{
  assert_error("ingresses:\n  name: a\n",
               SRC ":2: ingresses: expected a list of mappings, found a mapping");
}

static void test_list_empty(void)
{
  g_autoptr(SlConfig) empty = check_clean("ingresses: []\n");
  g_autoptr(SlConfig) null = check_clean("ingresses:\n");

  g_assert_cmpuint(sl_config_list_len(empty, "ingresses"), ==, 0);
  g_assert_true(sl_config_is_set(empty, "ingresses"));
  g_assert_cmpuint(sl_config_list_len(null, "ingresses"), ==, 0);
  g_assert_false(sl_config_is_set(null, "ingresses"));
}

static void test_list_secret_registered(void)
{
  g_autoptr(SlConfig) cfg = parse("ingresses:\n"
                                  "  - name: cam\n"
                                  "    stream_key: list-stream-key-9d3f\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autofree char *before = sl_log_scrub("key list-stream-key-9d3f");
  g_autofree char *after = NULL;

  g_assert_cmpstr(before, ==, "key list-stream-key-9d3f");
  g_assert_true(sl_config_validate(cfg, diags));
  after = sl_log_scrub("key list-stream-key-9d3f");
  g_assert_cmpstr(after, ==, "key {lis...d3f}");
}

/* ---- environment ------------------------------------------------------------------------- */

static void test_env_api_credentials(void)
{
  g_autoptr(SlConfig) cfg = parse("api_key: file-key-0001\n"
                                  "api_secret: file-secret-0001-abcdefgh\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autofree char *scrubbed = NULL;

  clear_env();
  g_setenv("LIVEKIT_API_KEY", "env-key-0002", TRUE);
  g_setenv("LIVEKIT_API_SECRET", "env-secret-0002-ijklmnop", TRUE);
  sl_config_apply_env(cfg);
  g_assert_true(sl_config_validate(cfg, diags));
  g_assert_cmpuint(diags->len, ==, 0);
  g_assert_cmpstr(sl_config_get_string(cfg, "api_key"), ==, "env-key-0002");
  g_assert_cmpstr(sl_config_get_string(cfg, "api_secret"), ==, "env-secret-0002-ijklmnop");
  scrubbed = sl_log_scrub("secret=env-secret-0002-ijklmnop");
  g_assert_cmpstr(scrubbed, ==, "secret={env...nop}");
  clear_env();
}

static void test_env_only_secret(void)
{
  g_autoptr(SlConfig) cfg = parse("api_key: file-key-0003\n"
                                  "api_secret: file-secret-0003-abcdefgh\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();

  clear_env();
  g_setenv("LIVEKIT_API_SECRET", "env-secret-0003-qrstuvwx", TRUE);
  g_setenv("LIVEKIT_API_KEY", "", TRUE);
  sl_config_apply_env(cfg);
  g_assert_true(sl_config_validate(cfg, diags));
  g_assert_cmpstr(sl_config_get_string(cfg, "api_key"), ==, "file-key-0003");
  g_assert_cmpstr(sl_config_get_string(cfg, "api_secret"), ==, "env-secret-0003-qrstuvwx");
  clear_env();
}

static void test_env_without_variables(void)
{
  g_autoptr(SlConfig) cfg = parse("api_key: file-key-0004\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();

  clear_env();
  sl_config_apply_env(cfg);
  g_assert_true(sl_config_validate(cfg, diags));
  g_assert_cmpstr(sl_config_get_string(cfg, "api_key"), ==, "file-key-0004");
  g_assert_null(sl_config_get_string(cfg, "api_secret"));
}

static void test_env_file_still_validated(void)
{
  g_autoptr(SlConfig) cfg = parse("api_key:\n  nested: value\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();

  clear_env();
  g_setenv("LIVEKIT_API_KEY", "env-key-0005", TRUE);
  sl_config_apply_env(cfg);
  g_assert_false(sl_config_validate(cfg, diags));
  assert_one(diags, SL_DIAG_ERROR, SRC ":2: api_key: expected a text value, found a mapping");
  clear_env();
}

/* ---- sources ----------------------------------------------------------------------------- */

static char *write_temp_config(const char *text, char **dir_out)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("sluice-config-XXXXXX", &error);
  char *path;

  g_assert_no_error(error);
  path = g_build_filename(dir, "sluice.yaml", NULL);
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  g_assert_no_error(error);
  *dir_out = dir;
  return path;
}

static void remove_temp_config(const char *path, const char *dir)
{
  g_assert_cmpint(g_remove(path), ==, 0);
  g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static SlConfig *load_ok(const char *cli_file, const char *cli_body)
{
  g_autoptr(GError) error = NULL;
  SlConfig *cfg = sl_config_load(cli_file, cli_body, &error);
  g_assert_no_error(error);
  g_assert_nonnull(cfg);
  return cfg;
}

static gint64 validated_rtmp_port(SlConfig *cfg)
{
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_assert_true(sl_config_validate(cfg, diags));
  return sl_config_get_int(cfg, "rtmp_port");
}

static void test_source_sluice_body(void)
{
  g_autoptr(SlConfig) cfg = NULL;

  clear_env();
  g_setenv("SLUICE_CONFIG_BODY", "rtmp_port: 1001\n", TRUE);
  g_setenv("INGRESS_CONFIG_BODY", "rtmp_port: 1002\n", TRUE);
  g_setenv("EGRESS_CONFIG_BODY", "rtmp_port: 1003\n", TRUE);
  cfg = load_ok(NULL, NULL);
  g_assert_cmpstr(sl_config_source(cfg), ==, "<SLUICE_CONFIG_BODY>");
  g_assert_cmpint(validated_rtmp_port(cfg), ==, 1001);
  clear_env();
}

static void test_source_ingress_body(void)
{
  g_autoptr(SlConfig) cfg = NULL;

  clear_env();
  g_setenv("SLUICE_CONFIG_BODY", "", TRUE);
  g_setenv("INGRESS_CONFIG_BODY", "rtmp_port: 1002\n", TRUE);
  g_setenv("EGRESS_CONFIG_BODY", "rtmp_port: 1003\n", TRUE);
  cfg = load_ok(NULL, NULL);
  g_assert_cmpstr(sl_config_source(cfg), ==, "<INGRESS_CONFIG_BODY>");
  g_assert_cmpint(validated_rtmp_port(cfg), ==, 1002);
  clear_env();
}

static void test_source_egress_file(void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = write_temp_config("rtmp_port: 1004\n", &dir);
  g_autoptr(SlConfig) cfg = NULL;

  clear_env();
  g_setenv("EGRESS_CONFIG_FILE", path, TRUE);
  g_setenv("EGRESS_CONFIG_BODY", "rtmp_port: 1003\n", TRUE);
  cfg = load_ok(NULL, NULL);
  g_assert_cmpstr(sl_config_source(cfg), ==, path);
  g_assert_cmpint(validated_rtmp_port(cfg), ==, 1004);
  clear_env();
  remove_temp_config(path, dir);
}

static void test_source_file_before_body(void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = write_temp_config("rtmp_port: 1005\n", &dir);
  g_autoptr(SlConfig) cfg = NULL;

  clear_env();
  g_setenv("SLUICE_CONFIG_BODY", "rtmp_port: 1001\n", TRUE);
  g_setenv("SLUICE_CONFIG_FILE", path, TRUE);
  cfg = load_ok(NULL, NULL);
  g_assert_cmpstr(sl_config_source(cfg), ==, path);
  g_assert_cmpint(validated_rtmp_port(cfg), ==, 1005);
  clear_env();
  remove_temp_config(path, dir);
}

static void test_source_cli_wins(void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = write_temp_config("rtmp_port: 1006\n", &dir);
  g_autoptr(SlConfig) from_file = NULL;
  g_autoptr(SlConfig) from_body = NULL;

  clear_env();
  g_setenv("SLUICE_CONFIG_BODY", "rtmp_port: 1001\n", TRUE);
  from_file = load_ok(path, "rtmp_port: 1007\n");
  g_assert_cmpstr(sl_config_source(from_file), ==, path);
  g_assert_cmpint(validated_rtmp_port(from_file), ==, 1006);
  from_body = load_ok(NULL, "rtmp_port: 1007\n");
  g_assert_cmpstr(sl_config_source(from_body), ==, "<--config-body>");
  g_assert_cmpint(validated_rtmp_port(from_body), ==, 1007);
  clear_env();
  remove_temp_config(path, dir);
}

static void test_source_embedded_default(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = sl_diag_array_new();

  clear_env();
  cfg = load_ok(NULL, NULL);
  g_assert_cmpstr(sl_config_source(cfg), ==, "<embedded default>");
  g_assert_true(sl_config_validate(cfg, diags));
  dump(diags);
  g_assert_cmpuint(count_level(diags, SL_DIAG_WARNING), ==, 0);
  g_assert_cmpint(sl_config_get_int(cfg, "rtmp_port"), ==, 1935);
}

static void test_source_unreadable(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) env_error = NULL;
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(SlConfig) env_cfg = NULL;
  g_autoptr(GError) dir_error = NULL;
  g_autofree char *dir = g_dir_make_tmp("sluice-config-XXXXXX", &dir_error);
  g_autofree char *missing = g_build_filename(dir, "missing.yaml", NULL);

  g_assert_no_error(dir_error);
  clear_env();
  cfg = sl_config_load(missing, NULL, &error);
  g_assert_null(cfg);
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SOURCE);
  g_assert_nonnull(strstr(error->message, missing));

  /* A named file that cannot be read is an error, not a reason to try the next source. */
  g_setenv("SLUICE_CONFIG_FILE", missing, TRUE);
  g_setenv("EGRESS_CONFIG_BODY", "rtmp_port: 1003\n", TRUE);
  env_cfg = sl_config_load(NULL, NULL, &env_error);
  g_assert_null(env_cfg);
  g_assert_error(env_error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SOURCE);

  /* A directory is not a config file either. */
  g_clear_error(&error);
  g_assert_null(sl_config_load(dir, NULL, &error));
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SOURCE);
  clear_env();
  g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_source_file_parse_error(void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = write_temp_config("a: 1\nb: [\n", &dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(SlConfig) cfg = NULL;
  g_autofree char *prefix = g_strdup_printf("%s:", path);

  clear_env();
  cfg = sl_config_load(path, NULL, &error);
  g_assert_null(cfg);
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_PARSE);
  g_assert_true(g_str_has_prefix(error->message, prefix));
  remove_temp_config(path, dir);
}

/* ---- plugin keys ------------------------------------------------------------------------- */

static const SluiceConfigKey HELLO_KEYS[] = {
    {"greeting", SLUICE_CONFIG_STRING, "hello", 0, 0, "what to say", 0},
    {"repeat", SLUICE_CONFIG_INT, "1", 1, 10, "how many times", 0},
    {"timeout", SLUICE_CONFIG_DURATION, "5s", 1, 60, "how long to wait", 0},
    {"loud", SLUICE_CONFIG_BOOL, "false", 0, 0, "shout", 0},
    {"token", SLUICE_CONFIG_STRING, NULL, 0, 0, "access token", SLUICE_CONFIG_FLAG_SECRET},
    {"hello_port", SLUICE_CONFIG_PORT, "9000", 0, 0, "listener", SLUICE_CONFIG_FLAG_TOP_LEVEL},
    SLUICE_CONFIG_KEY_END,
};

static gboolean check_with_hello(const char *text, SlConfig **cfg, GPtrArray **diags)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;
  *cfg = parse(text);
  g_assert_true(sl_config_add_plugin_keys(*cfg, "hello", HELLO_KEYS, &error));
  g_assert_no_error(error);
  *diags = sl_diag_array_new();
  ok = sl_config_validate(*cfg, *diags);
  dump(*diags);
  return ok;
}

static void test_plugin_section_keys(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check_with_hello("plugins:\n"
                                 "  hello:\n"
                                 "    greeting: bonjour\n"
                                 "    repeat: 3\n"
                                 "    loud: yes\n",
                                 &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 0);
  g_assert_cmpstr(sl_config_get_string(cfg, "plugins.hello.greeting"), ==, "bonjour");
  g_assert_cmpint(sl_config_get_int(cfg, "plugins.hello.repeat"), ==, 3);
  g_assert_true(sl_config_get_bool(cfg, "plugins.hello.loud"));
  g_assert_cmpfloat(sl_config_get_double(cfg, "plugins.hello.timeout"), ==, 5);
  g_assert_cmpuint(sl_config_line(cfg, "plugins.hello.repeat"), ==, 4);
  g_assert_cmpint(sl_config_get_int(cfg, "hello_port"), ==, 9000);
}

static void test_plugin_defaults_without_section(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check_with_hello("", &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 0);
  g_assert_cmpstr(sl_config_get_string(cfg, "plugins.hello.greeting"), ==, "hello");
  g_assert_cmpint(sl_config_get_int(cfg, "plugins.hello.repeat"), ==, 1);
  g_assert_null(sl_config_get_string(cfg, "plugins.hello.token"));
  g_assert_false(sl_config_is_set(cfg, "plugins.hello.greeting"));
}

static void test_plugin_top_level_key(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check_with_hello("hello_port: 9001\n"
                                 "plugins:\n"
                                 "  hello:\n"
                                 "    hello_port: 9002\n",
                                 &cfg, &diags));
  g_assert_cmpint(sl_config_get_int(cfg, "hello_port"), ==, 9001);
  g_assert_cmpuint(sl_config_line(cfg, "hello_port"), ==, 1);
  /* A top-level key does not also live under the plugin's section. */
  g_assert_cmpuint(diags->len, ==, 1);
  g_assert_cmpint(((SlDiag *)g_ptr_array_index(diags, 0))->level, ==, SL_DIAG_WARNING);
  g_assert_true(g_str_has_prefix(((SlDiag *)g_ptr_array_index(diags, 0))->text,
                                 SRC ":4: plugins.hello.hello_port: unknown key"));
}

static void test_plugin_top_level_shared_with_core(void)
{
  static const SluiceConfigKey keys[] = {
      {"rtmp_port", SLUICE_CONFIG_PORT, "1935", 0, 0, "RTMP listener",
       SLUICE_CONFIG_FLAG_TOP_LEVEL},
      SLUICE_CONFIG_KEY_END,
  };
  g_autoptr(SlConfig) cfg = parse("rtmp_port: 1940\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autoptr(GError) error = NULL;

  g_assert_true(sl_config_add_plugin_keys(cfg, "rtmp", keys, &error));
  g_assert_no_error(error);
  g_assert_true(sl_config_validate(cfg, diags));
  g_assert_cmpuint(diags->len, ==, 0);
  g_assert_cmpint(sl_config_get_int(cfg, "rtmp_port"), ==, 1940);
}

static void test_plugin_top_level_type_clash(void)
{
  static const SluiceConfigKey keys[] = {
      {"rtmp_port", SLUICE_CONFIG_STRING, "1935", 0, 0, "RTMP listener",
       SLUICE_CONFIG_FLAG_TOP_LEVEL},
      SLUICE_CONFIG_KEY_END,
  };
  g_autoptr(SlConfig) cfg = parse("");
  g_autoptr(GError) error = NULL;

  g_assert_false(sl_config_add_plugin_keys(cfg, "rtmp", keys, &error));
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SCHEMA);
  g_assert_cmpstr(error->message, ==,
                  "plugin rtmp declares top-level key rtmp_port as a text value, but sluice reads "
                  "it as a port number (0-65535, or -1 to disable)");
  /* The core's declaration is untouched. */
  g_assert_cmpint(sl_config_key(cfg, "rtmp_port")->type, ==, SL_KEY_PORT);
  g_assert_cmpint(sl_config_get_int(cfg, "rtmp_port"), ==, 1935);
}

static void test_plugin_unknown_type(void)
{
  static const SluiceConfigKey keys[] = {
      {"odd", (SluiceConfigType)42, NULL, 0, 0, "?", 0},
      SLUICE_CONFIG_KEY_END,
  };
  g_autoptr(SlConfig) cfg = parse("");
  g_autoptr(GError) error = NULL;

  g_assert_false(sl_config_add_plugin_keys(cfg, "weird", keys, &error));
  g_assert_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SCHEMA);
  g_assert_cmpstr(error->message, ==, "plugin weird declares key odd with an unknown type 42");
}

static void test_plugin_out_of_range(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_false(check_with_hello("plugins:\n"
                                  "  hello:\n"
                                  "    repeat: 11\n"
                                  "    timeout: 90s\n",
                                  &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 2);
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 0))->text, ==,
                  SRC ":3: plugins.hello.repeat: 11 is out of range (1 to 10)");
  g_assert_cmpstr(((SlDiag *)g_ptr_array_index(diags, 1))->text, ==,
                  SRC ":4: plugins.hello.timeout: 90s is out of range (1s to 60s)");
  g_assert_cmpint(sl_config_get_int(cfg, "plugins.hello.repeat"), ==, 1);
}

static void test_plugin_unknown_key_hint(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check_with_hello("plugins:\n"
                                 "  hello:\n"
                                 "    greting: hi\n",
                                 &cfg, &diags));
  assert_one(diags, SL_DIAG_WARNING,
             SRC ":3: plugins.hello.greting: unknown key, ignored (did you mean 'greeting'?)");
}

static void test_plugin_not_enabled(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check_with_hello("plugins:\n"
                                 "  enable: [hello]\n"
                                 "  other:\n"
                                 "    setting: 1\n",
                                 &cfg, &diags));
  g_assert_cmpuint(diags->len, ==, 1);
  assert_one(diags, SL_DIAG_WARNING,
             SRC ":3: plugins.other: plugin 'other' is not enabled; its settings are ignored");
}

static void test_plugin_required_key(void)
{
  static const SluiceConfigKey keys[] = {
      {"token", SLUICE_CONFIG_STRING, NULL, 0, 0, "access token", SLUICE_CONFIG_FLAG_REQUIRED},
      {"name", SLUICE_CONFIG_STRING, NULL, 0, 0, "a name", 0},
      SLUICE_CONFIG_KEY_END,
  };
  g_autoptr(SlConfig) missing = parse("plugins:\n  needy:\n    name: x\n");
  g_autoptr(SlConfig) present = parse("plugins:\n  needy:\n    token: t-0001\n");
  g_autoptr(GPtrArray) d1 = sl_diag_array_new();
  g_autoptr(GPtrArray) d2 = sl_diag_array_new();

  g_assert_true(sl_config_add_plugin_keys(missing, "needy", keys, NULL));
  g_assert_true(sl_config_add_plugin_keys(present, "needy", keys, NULL));
  g_assert_false(sl_config_validate(missing, d1));
  assert_one(d1, SL_DIAG_ERROR, SRC ":2: plugins.needy.token: required key is missing");
  g_assert_true(sl_config_validate(present, d2));
  g_assert_cmpuint(d2->len, ==, 0);
}

/* ---- plugin path and enable list --------------------------------------------------------- */

static void assert_strv(char **got, const char *const *want)
{
  guint n = g_strv_length((char **)want);
  for (guint i = 0; got[i] != NULL; i++)
    g_test_message("got[%u] = %s", i, got[i]);
  g_assert_cmpuint(g_strv_length(got), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr(got[i], ==, want[i]);
}

static void test_plugin_path_order(void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = write_temp_config("plugins:\n"
                                            "  path:\n"
                                            "    - my-plugins\n"
                                            "    - /opt/sluice/plugins\n",
                                            &dir);
  g_autofree char *relative = NULL;
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) got = NULL;

  clear_env();
  cfg = load_ok(path, NULL);
  relative = g_build_filename(dir, "my-plugins", NULL);
  g_setenv("SLUICE_PLUGIN_PATH", "/env/one::/env/two:", TRUE);
  got = sl_config_plugin_path(cfg, "/usr/lib/sluice/plugins", diags);
  {
    const char *const want[] = {relative,   "/opt/sluice/plugins",     "/env/one",
                                "/env/two", "/usr/lib/sluice/plugins", NULL};
    assert_strv(got, want);
  }
  g_assert_cmpuint(diags->len, ==, 0);
  clear_env();
  remove_temp_config(path, dir);
}

static void test_plugin_path_body_source(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) got = NULL;
  const char *const want[] = {"relative/dir", "/install", NULL};

  clear_env();
  cfg = load_ok(NULL, "plugins:\n  path: relative/dir\n");
  got = sl_config_plugin_path(cfg, "/install", diags);
  /* A body has no directory to be relative to: the entry is kept as written. */
  assert_strv(got, want);
  g_assert_cmpuint(diags->len, ==, 0);
}

static void test_plugin_path_defaults(void)
{
  g_autoptr(SlConfig) cfg = parse("rtmp_port: 1935\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) install_only = NULL;
  g_auto(GStrv) nothing = NULL;
  g_auto(GStrv) env_only = NULL;
  const char *const want_install[] = {"/install", NULL};
  const char *const want_nothing[] = {NULL};
  const char *const want_env[] = {"/env/a", NULL};

  clear_env();
  install_only = sl_config_plugin_path(cfg, "/install", diags);
  assert_strv(install_only, want_install);
  nothing = sl_config_plugin_path(cfg, NULL, diags);
  assert_strv(nothing, want_nothing);
  g_setenv("SLUICE_PLUGIN_PATH", "/env/a", TRUE);
  env_only = sl_config_plugin_path(cfg, NULL, diags);
  assert_strv(env_only, want_env);
  g_assert_cmpuint(diags->len, ==, 0);
  clear_env();
}

static void test_plugin_path_malformed(void)
{
  g_autoptr(SlConfig) cfg = parse("plugins:\n  path:\n    dir: /x\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) got = NULL;
  const char *const want[] = {"/install", NULL};

  clear_env();
  got = sl_config_plugin_path(cfg, "/install", diags);
  assert_strv(got, want);
  assert_one(diags, SL_DIAG_ERROR,
             SRC ":3: plugins.path: expected a list of text values, found a mapping");
}

static void test_plugin_enable_absent(void)
{
  const char *const defaults[] = {"input-rtmp", "output-file", NULL};
  g_autoptr(SlConfig) none = parse("rtmp_port: 1935\n");
  g_autoptr(SlConfig) section_only = parse("plugins:\n  path: /x\n");
  g_autoptr(SlConfig) null_section = parse("plugins:\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) a = sl_config_plugin_enable(none, defaults, diags);
  g_auto(GStrv) b = sl_config_plugin_enable(section_only, defaults, diags);
  g_auto(GStrv) c = sl_config_plugin_enable(null_section, defaults, diags);

  assert_strv(a, defaults);
  assert_strv(b, defaults);
  assert_strv(c, defaults);
  g_assert_cmpuint(diags->len, ==, 0);
}

static void test_plugin_enable_list(void)
{
  const char *const defaults[] = {"input-rtmp", NULL};
  const char *const want_list[] = {"hello", "output-file", NULL};
  const char *const want_one[] = {"hello", NULL};
  const char *const want_none[] = {NULL};
  g_autoptr(SlConfig) list = parse("plugins:\n  enable: [hello, output-file]\n");
  g_autoptr(SlConfig) one = parse("plugins:\n  enable: hello\n");
  g_autoptr(SlConfig) empty = parse("plugins:\n  enable: []\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) a = sl_config_plugin_enable(list, defaults, diags);
  g_auto(GStrv) b = sl_config_plugin_enable(one, defaults, diags);
  g_auto(GStrv) c = sl_config_plugin_enable(empty, defaults, diags);

  assert_strv(a, want_list);
  assert_strv(b, want_one);
  assert_strv(c, want_none);
  g_assert_cmpuint(diags->len, ==, 0);
}

static void test_plugin_enable_malformed(void)
{
  const char *const defaults[] = {"input-rtmp", NULL};
  const char *const want_none[] = {NULL};
  const char *const want_good[] = {"hello", NULL};
  g_autoptr(SlConfig) map = parse("plugins:\n  enable:\n    hello: true\n");
  g_autoptr(SlConfig) scalar_section = parse("plugins: hello\n");
  g_autoptr(SlConfig) nested = parse("plugins:\n  enable:\n    - hello\n    - [x]\n");
  g_autoptr(GPtrArray) d1 = sl_diag_array_new();
  g_autoptr(GPtrArray) d2 = sl_diag_array_new();
  g_autoptr(GPtrArray) d3 = sl_diag_array_new();
  g_auto(GStrv) a = sl_config_plugin_enable(map, defaults, d1);
  g_auto(GStrv) b = sl_config_plugin_enable(scalar_section, defaults, d2);
  g_auto(GStrv) c = sl_config_plugin_enable(nested, defaults, d3);

  assert_strv(a, want_none);
  assert_one(d1, SL_DIAG_ERROR,
             SRC ":3: plugins.enable: expected a list of text values, found a mapping");
  assert_strv(b, want_none);
  assert_one(d2, SL_DIAG_ERROR,
             SRC ":1: plugins: expected a mapping of keys, found a single value");
  assert_strv(c, want_good);
  assert_one(d3, SL_DIAG_ERROR,
             SRC ":4: plugins.enable: each item must be a single value, found a list");
}

/* ---- secrets ----------------------------------------------------------------------------- */

static void assert_scrubbed(const char *secret, gboolean expect)
{
  g_autofree char *line = g_strdup_printf("before %s after", secret);
  g_autofree char *out = sl_log_scrub(line);
  g_test_message("%s -> %s", line, out);
  if (expect)
    g_assert_null(strstr(out, secret));
  else
    g_assert_cmpstr(out, ==, line);
}

static void test_secrets_registered(void)
{
  static const char *const secrets[] = {
      "api-secret-value-8f2k1",    "redis-password-value-3j9x", "s3-secret-value-7q4m",
      "backup-alioss-secret-2p8v", "legacy-azure-key-6t1w",     NULL,
  };
  g_autoptr(SlConfig) cfg = parse("api_secret: api-secret-value-8f2k1\n"
                                  "redis:\n"
                                  "  address: redis-host-not-secret:6379\n"
                                  "  password: redis-password-value-3j9x\n"
                                  "storage:\n"
                                  "  s3:\n"
                                  "    secret: s3-secret-value-7q4m\n"
                                  "backup:\n"
                                  "  alioss:\n"
                                  "    secret: backup-alioss-secret-2p8v\n"
                                  "azure:\n"
                                  "  account_key: legacy-azure-key-6t1w\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autofree char *redacted = NULL;

  for (guint i = 0; secrets[i] != NULL; i++)
    assert_scrubbed(secrets[i], FALSE);
  g_assert_true(sl_config_validate(cfg, diags));
  g_assert_cmpuint(diags->len, ==, 0);
  for (guint i = 0; secrets[i] != NULL; i++)
    assert_scrubbed(secrets[i], TRUE);
  assert_scrubbed("redis-host-not-secret", FALSE);
  redacted = sl_log_scrub("auth api-secret-value-8f2k1");
  g_assert_cmpstr(redacted, ==, "auth {api...2k1}");
  /* The getter still hands out the real value: scrubbing is for log lines only. */
  g_assert_cmpstr(sl_config_get_string(cfg, "redis.password"), ==, "redis-password-value-3j9x");
}

static void test_secret_invalid_not_registered(void)
{
  g_autoptr(SlConfig) cfg = parse("redis:\n  password: [unreg-secret-list-1, x]\n");
  g_autoptr(GPtrArray) diags = sl_diag_array_new();

  g_assert_false(sl_config_validate(cfg, diags));
  assert_scrubbed("unreg-secret-list-1", FALSE);
}

static void test_plugin_secret_registered(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  assert_scrubbed("hello-plugin-token-5r3e", FALSE);
  g_assert_true(check_with_hello("plugins:\n"
                                 "  hello:\n"
                                 "    token: hello-plugin-token-5r3e\n",
                                 &cfg, &diags));
  assert_scrubbed("hello-plugin-token-5r3e", TRUE);
}

/* ---- whole files ------------------------------------------------------------------------- */

static void test_livekit_ingress_config(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("log_level: debug\n"
                      "api_key: ingress-key-0006\n"
                      "api_secret: ingress-secret-0006-abcdef\n"
                      "ws_url: ws://livekit:7880\n"
                      "redis:\n"
                      "  address: redis:6379\n"
                      "health_port: 7888\n"
                      "prometheus_port: 7889\n"
                      "rtmp_port: 1935\n"
                      "whip_port: 8080\n"
                      "http_relay_port: 9090\n"
                      "rtc_config:\n"
                      "  udp_port: 7885\n"
                      "  use_external_ip: true\n"
                      "cpu_cost:\n"
                      "  rtmp_cpu_cost: 2.0\n"
                      "  whip_cpu_cost: 2.0\n"
                      "  whip_bypass_transcoding_cpu_cost: 0.1\n"
                      "  min_idle_ratio: 0.3\n"
                      "development: false\n",
                      &cfg, &diags));
  g_assert_cmpuint(count_level(diags, SL_DIAG_ERROR), ==, 0);
  g_assert_cmpuint(count_level(diags, SL_DIAG_WARNING), ==, 0);
  g_assert_cmpuint(count_level(diags, SL_DIAG_NOTE), ==, 3);
  g_assert_cmpint(sl_config_get_int(cfg, "health_port"), ==, 7888);
  g_assert_cmpfloat(sl_config_get_double(cfg, "cpu_cost.min_idle_ratio"), ==, 0.3);
  g_assert_cmpstr(sl_config_get_string(cfg, "redis.address"), ==, "redis:6379");
}

static void test_livekit_egress_config(void)
{
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(GPtrArray) diags = NULL;

  g_assert_true(check("logging:\n"
                      "  level: info\n"
                      "  json: true\n"
                      "api_key: egress-key-0007\n"
                      "api_secret: egress-secret-0007-abcdef\n"
                      "ws_url: wss://livekit.example.com\n"
                      "insecure: false\n"
                      "health_port: 8080\n"
                      "prometheus_port: 9090\n"
                      "template_port: 7980\n"
                      "cluster_id: eu-1\n"
                      "redis:\n"
                      "  address: redis:6379\n"
                      "  db: 0\n"
                      "  use_tls: false\n"
                      "cpu_cost:\n"
                      "  max_cpu_utilization: 0.8\n"
                      "  room_composite_cpu_cost: 4\n"
                      "  track_cpu_cost: 0.5\n"
                      "  max_pulse_clients: 60\n"
                      "session_limits:\n"
                      "  file_output_max_duration: 1h\n"
                      "  file_output_max_size: 2000000000\n"
                      "max_upload_queue: 60\n"
                      "io_create_timeout: 15s\n"
                      "s3:\n"
                      "  access_key: AKIAEGRESS\n"
                      "  secret: egress-s3-secret-0007\n"
                      "  region: us-east-1\n"
                      "  bucket: recordings\n"
                      "  force_path_style: true\n"
                      "storage:\n"
                      "  gcp:\n"
                      "    bucket: gcs-bucket\n"
                      "backup:\n"
                      "  prefix: backup/\n"
                      "  azure:\n"
                      "    account_name: acct\n"
                      "    account_key: egress-azure-key-0007\n"
                      "    container_name: rec\n"
                      "backup_storage: /tmp/backup\n",
                      &cfg, &diags));
  g_assert_cmpuint(count_level(diags, SL_DIAG_ERROR), ==, 0);
  g_assert_cmpuint(count_level(diags, SL_DIAG_WARNING), ==, 0);
  g_assert_cmpuint(count_level(diags, SL_DIAG_NOTE), ==, 4);
  g_assert_true(sl_config_get_bool(cfg, "logging.json"));
  g_assert_cmpfloat(sl_config_get_double(cfg, "session_limits.file_output_max_duration"), ==, 3600);
  g_assert_cmpint(sl_config_get_int(cfg, "session_limits.file_output_max_size"), ==, 2000000000);
  g_assert_cmpstr(sl_config_get_string(cfg, "s3.bucket"), ==, "recordings");
  g_assert_cmpstr(sl_config_get_string(cfg, "storage.gcp.bucket"), ==, "gcs-bucket");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  clear_env();

  g_test_add_func("/config/bool/spellings", test_bool_spellings);
  g_test_add_func("/config/bool/invalid", test_bool_invalid);
  g_test_add_func("/config/int/range", test_int_range);
  g_test_add_func("/config/redis-tls-keys", test_redis_tls_keys);
  g_test_add_func("/config/int/not-a-number", test_int_not_a_number);
  g_test_add_func("/config/int/read-as-double", test_int_read_as_double);
  g_test_add_func("/config/double/range", test_double_range);
  g_test_add_func("/config/double/not-a-number", test_double_not_a_number);
  g_test_add_func("/config/port/valid", test_port_valid);
  g_test_add_func("/config/port/out-of-range", test_port_out_of_range);
  g_test_add_func("/config/duration/parse", test_duration_parse);
  g_test_add_func("/config/duration/key", test_duration_key);
  g_test_add_func("/config/string-list/list-or-scalar", test_string_list);
  g_test_add_func("/config/string-list/malformed", test_string_list_bad);
  g_test_add_func("/config/string/values", test_string_values);

  g_test_add_func("/config/message/format", test_message_format);
  g_test_add_func("/config/message/every-problem", test_message_every_problem);
  g_test_add_func("/config/message/parse-error", test_parse_error);
  g_test_add_func("/config/message/structure-error", test_structure_error);

  g_test_add_func("/config/unknown/hint", test_unknown_key_hint);
  g_test_add_func("/config/unknown/no-hint", test_unknown_key_no_hint);
  g_test_add_func("/config/unknown/nested", test_unknown_key_nested);
  g_test_add_func("/config/unknown/hint-stays-in-section", test_unknown_key_hint_stays_in_section);
  g_test_add_func("/config/unknown/freemap-not-checked", test_freemap_not_checked);
  g_test_add_func("/config/livekit/unused-note", test_livekit_unused_note);
  g_test_add_func("/config/legacy/log-level", test_legacy_log_level);
  g_test_add_func("/config/legacy/top-level-level", test_legacy_top_level_level);
  g_test_add_func("/config/legacy/both-set", test_legacy_and_current_both_set);
  g_test_add_func("/config/legacy/backup-storage", test_backup_storage);
  g_test_add_func("/config/storage/sections", test_storage_sections);

  g_test_add_func("/config/structure/duplicate-key", test_duplicate_key);
  g_test_add_func("/config/structure/duplicate-keeps-first", test_duplicate_key_keeps_first);
  g_test_add_func("/config/structure/section-given-scalar", test_section_given_scalar);
  g_test_add_func("/config/structure/scalar-given-section", test_scalar_given_section);
  g_test_add_func("/config/null/keeps-default", test_null_keeps_default);
  g_test_add_func("/config/null/quoted-is-a-value", test_quoted_null_is_a_value);

  g_test_add_func("/config/defaults/values", test_defaults);
  g_test_add_func("/config/defaults/table-consistent", test_key_table_consistent);
  g_test_add_func("/config/getters/set-and-line", test_set_and_line);
  g_test_add_func("/config/getters/key-lookup", test_key_lookup);
  g_test_add_func("/config/getters/misuse", test_getter_misuse);

  g_test_add_func("/config/list/items", test_list_items);
  g_test_add_func("/config/list/diagnostics", test_list_diagnostics);
  g_test_add_func("/config/list/not-a-list", test_list_not_a_list);
  g_test_add_func("/config/list/empty", test_list_empty);
  g_test_add_func("/config/list/secret-registered", test_list_secret_registered);

  g_test_add_func("/config/env/api-credentials", test_env_api_credentials);
  g_test_add_func("/config/env/only-secret", test_env_only_secret);
  g_test_add_func("/config/env/unset", test_env_without_variables);
  g_test_add_func("/config/env/file-still-validated", test_env_file_still_validated);

  g_test_add_func("/config/source/sluice-body", test_source_sluice_body);
  g_test_add_func("/config/source/ingress-body", test_source_ingress_body);
  g_test_add_func("/config/source/egress-file", test_source_egress_file);
  g_test_add_func("/config/source/file-before-body", test_source_file_before_body);
  g_test_add_func("/config/source/cli-wins", test_source_cli_wins);
  g_test_add_func("/config/source/embedded-default", test_source_embedded_default);
  g_test_add_func("/config/source/unreadable", test_source_unreadable);
  g_test_add_func("/config/source/file-parse-error", test_source_file_parse_error);

  g_test_add_func("/config/plugin/section-keys", test_plugin_section_keys);
  g_test_add_func("/config/plugin/defaults-without-section", test_plugin_defaults_without_section);
  g_test_add_func("/config/plugin/top-level", test_plugin_top_level_key);
  g_test_add_func("/config/plugin/top-level-shared", test_plugin_top_level_shared_with_core);
  g_test_add_func("/config/plugin/top-level-type-clash", test_plugin_top_level_type_clash);
  g_test_add_func("/config/plugin/unknown-type", test_plugin_unknown_type);
  g_test_add_func("/config/plugin/out-of-range", test_plugin_out_of_range);
  g_test_add_func("/config/plugin/unknown-key-hint", test_plugin_unknown_key_hint);
  g_test_add_func("/config/plugin/not-enabled", test_plugin_not_enabled);
  g_test_add_func("/config/plugin/required-key", test_plugin_required_key);
  g_test_add_func("/config/plugin-path/order", test_plugin_path_order);
  g_test_add_func("/config/plugin-path/body-source", test_plugin_path_body_source);
  g_test_add_func("/config/plugin-path/defaults", test_plugin_path_defaults);
  g_test_add_func("/config/plugin-path/malformed", test_plugin_path_malformed);
  g_test_add_func("/config/plugin-enable/absent", test_plugin_enable_absent);
  g_test_add_func("/config/plugin-enable/list", test_plugin_enable_list);
  g_test_add_func("/config/plugin-enable/malformed", test_plugin_enable_malformed);

  g_test_add_func("/config/secrets/registered", test_secrets_registered);
  g_test_add_func("/config/secrets/invalid-not-registered", test_secret_invalid_not_registered);
  g_test_add_func("/config/secrets/plugin-key", test_plugin_secret_registered);

  g_test_add_func("/config/file/livekit-ingress", test_livekit_ingress_config);
  g_test_add_func("/config/file/livekit-egress", test_livekit_egress_config);
  return g_test_run();
}
