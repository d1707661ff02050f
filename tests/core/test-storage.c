/* Storage targets: from API requests (sl_storage_target_from_json), which storage an egress
 * output asks for (sl_storage_request_storage), and from config sections, including a static
 * ingress's per-output ones. */
#include "config.h"
#include "storage.h"

#include <string.h>

static SlConfig *config(const char *text)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  SlConfig *cfg = sl_config_new_from_text(text, strlen(text), "test.yaml", &err);
  g_assert_no_error(err);
  for (guint i = 0; i < diags->len; i++)
    g_test_message("%s", ((SlDiag *)g_ptr_array_index(diags, i))->text);
  g_assert_true(sl_config_validate(cfg, diags));
  return cfg;
}

static JsonObject *json(const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new();
  g_autoptr(GError) err = NULL;
  g_assert_true(json_parser_load_from_data(p, text, -1, &err));
  g_assert_no_error(err);
  return json_object_ref(json_node_get_object(json_parser_get_root(p)));
}

static void test_s3_from_request(void)
{
  g_autoptr(SlConfig) cfg = config("storage:\n  s3:\n    max_retries: 2\n");
  g_autoptr(JsonObject) req =
      json("{\"filepath\": \"a.mp4\", \"s3\": {"
           "\"access_key\": \"AKID\", \"secret\": \"shh\","
           "\"region\": \"\", \"endpoint\": \"http://127.0.0.1:9\","
           "\"bucket\": \"media\", \"forcePathStyle\": true,"
           "\"metadata\": {\"a\": \"1\", \"b\": \"2\"},"
           "\"tagging\": \"k=v\","
           "\"proxy\": {\"url\": \"http://proxy:3128\", \"username\": \"u\"},"
           "\"sessionToken\": \"tok\"}}");
  g_autoptr(GError) err = NULL;
  g_autoptr(GstStructure) t = sl_storage_target_from_json(cfg, req, &err);
  const GstStructure *proxy;
  const char *const *meta;
  gboolean b = FALSE;
  gint64 retries = 0;
  double delay = 0;

  g_assert_no_error(err);
  g_assert_nonnull(t);
  g_assert_cmpstr(gst_structure_get_name(t), ==, "s3");
  g_assert_cmpstr(gst_structure_get_string(t, "access_key"), ==, "AKID");
  g_assert_cmpstr(gst_structure_get_string(t, "secret"), ==, "shh");
  g_assert_cmpstr(gst_structure_get_string(t, "session_token"), ==, "tok");
  g_assert_cmpstr(gst_structure_get_string(t, "bucket"), ==, "media");
  /* proto3: an empty string is no value */
  g_assert_false(gst_structure_has_field(t, "region"));
  g_assert_true(gst_structure_get_boolean(t, "force_path_style", &b));
  g_assert_true(b);
  meta = g_value_get_boxed(gst_structure_get_value(t, "metadata"));
  g_assert_cmpuint(g_strv_length((char **)meta), ==, 4);
  g_assert_cmpstr(meta[0], ==, "a");
  g_assert_cmpstr(meta[1], ==, "1");
  g_assert_true(G_VALUE_HOLDS(gst_structure_get_value(t, "proxy_config"), GST_TYPE_STRUCTURE));
  proxy = gst_value_get_structure(gst_structure_get_value(t, "proxy_config"));
  g_assert_cmpstr(gst_structure_get_string(proxy, "url"), ==, "http://proxy:3128");
  g_assert_cmpstr(gst_structure_get_string(proxy, "username"), ==, "u");
  /* what a request cannot say comes from the node's storage: section, then the defaults */
  g_assert_true(gst_structure_get_int64(t, "max_retries", &retries));
  g_assert_cmpint(retries, ==, 2);
  g_assert_true(gst_structure_get_double(t, "max_retry_delay", &delay));
  g_assert_cmpfloat_with_epsilon(delay, 5.0, 1e-9);
}

/* LiveKit's s3_assume_role_*: the node's role is the default, its key assumes a request's role
 * when the request has no key, and without one a request's role is refused. */
static void test_s3_assume_role(void)
{
  g_autoptr(SlConfig) cfg =
      config("s3_assume_role_key: NODEKEY\ns3_assume_role_secret: nodesecret\n"
             "s3_assume_role_arn: arn:aws:iam::123456789012:role/node\n"
             "s3_assume_role_external_id: ext-node\n");
  g_autoptr(SlConfig) nokey = config("s3_assume_role_arn: arn:aws:iam::123456789012:role/node\n");
  g_autoptr(SlConfig) plain = config("health_port: 0\n");
  g_autoptr(JsonObject) bare = json("{\"s3\": {\"bucket\": \"b\", \"assumeRoleArn\": \"\"}}");
  g_autoptr(JsonObject) own = json("{\"s3\": {\"bucket\": \"b\", \"assume_role_arn\": "
                                   "\"arn:aws:iam::1:role/req\", \"sessionToken\": \"t\"}}");
  g_autoptr(JsonObject) keyed =
      json("{\"s3\": {\"bucket\": \"b\", \"accessKey\": \"REQKEY\", \"secret\": \"s\","
           "\"assumeRoleArn\": \"arn:aws:iam::1:role/req\", \"assumeRoleExternalId\": \"x\"}}");
  g_autoptr(GstStructure) t1 = NULL, t2 = NULL, t3 = NULL, t4 = NULL, t5 = NULL;
  g_autoptr(GError) err = NULL;

  /* no role in the request: the node's, assumed with the node's key */
  t1 = sl_storage_target_from_json(cfg, bare, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_string(t1, "assume_role_arn"), ==,
                  "arn:aws:iam::123456789012:role/node");
  g_assert_cmpstr(gst_structure_get_string(t1, "assume_role_external_id"), ==, "ext-node");
  g_assert_cmpstr(gst_structure_get_string(t1, "access_key"), ==, "NODEKEY");
  g_assert_cmpstr(gst_structure_get_string(t1, "secret"), ==, "nodesecret");
  /* the request's own role, no key: the node's key assumes it; the request's token is dropped */
  t2 = sl_storage_target_from_json(cfg, own, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_string(t2, "assume_role_arn"), ==, "arn:aws:iam::1:role/req");
  g_assert_false(gst_structure_has_field(t2, "assume_role_external_id"));
  g_assert_cmpstr(gst_structure_get_string(t2, "access_key"), ==, "NODEKEY");
  g_assert_false(gst_structure_has_field(t2, "session_token"));
  /* a request with its own key keeps it */
  t3 = sl_storage_target_from_json(cfg, keyed, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_string(t3, "access_key"), ==, "REQKEY");
  g_assert_cmpstr(gst_structure_get_string(t3, "assume_role_external_id"), ==, "x");
  /* a role and no key anywhere: refused, naming the keys that would allow it */
  g_assert_null(sl_storage_target_from_json(nokey, bare, &err));
  g_assert_error(err, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "s3_assume_role_key"));
  g_clear_error(&err);
  g_assert_null(sl_storage_target_from_json(plain, own, &err));
  g_assert_error(err, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID);
  g_clear_error(&err);
  /* no role anywhere: nothing added */
  t4 = sl_storage_target_from_json(plain, bare, &err);
  g_assert_no_error(err);
  g_assert_false(gst_structure_has_field(t4, "assume_role_arn"));
  g_assert_false(gst_structure_has_field(t4, "access_key"));
  t5 = sl_storage_target_from_json(NULL, keyed, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_string(t5, "access_key"), ==, "REQKEY");
}

static void test_false_is_unset(void)
{
  g_autoptr(JsonObject) req = json("{\"s3\": {\"bucket\": \"b\", \"force_path_style\": false}}");
  g_autoptr(GError) err = NULL;
  g_autoptr(GstStructure) t = sl_storage_target_from_json(NULL, req, &err);
  g_assert_no_error(err);
  g_assert_false(gst_structure_has_field(t, "force_path_style"));
  /* without a config, no retry settings are invented */
  g_assert_false(gst_structure_has_field(t, "max_retries"));
}

static void test_other_backends(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonObject) gcp =
      json("{\"gcp\": {\"credentials\": \"{}\", \"bucket\": \"g\", \"proxy\": {\"url\": \"p\"}}}");
  g_autoptr(JsonObject) az = json(
      "{\"azure\": {\"accountName\": \"acc\", \"account_key\": \"k\", \"containerName\": \"c\"}}");
  g_autoptr(JsonObject) oss = json("{\"aliOSS\": {\"access_key\": \"a\", \"secret\": \"s\", "
                                   "\"region\": \"cn\", \"endpoint\": \"e\", \"bucket\": \"o\"}}");
  g_autoptr(GstStructure) tg = sl_storage_target_from_json(NULL, gcp, &err);
  g_autoptr(GstStructure) ta = NULL;
  g_autoptr(GstStructure) to = NULL;
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_name(tg), ==, "gcp");
  g_assert_cmpstr(gst_structure_get_string(tg, "credentials_json"), ==, "{}");
  g_assert_false(gst_structure_has_field(tg, "credentials"));
  g_assert_true(gst_structure_has_field(tg, "proxy_config"));
  ta = sl_storage_target_from_json(NULL, az, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_name(ta), ==, "azure");
  g_assert_cmpstr(gst_structure_get_string(ta, "account_name"), ==, "acc");
  g_assert_cmpstr(gst_structure_get_string(ta, "container_name"), ==, "c");
  to = sl_storage_target_from_json(NULL, oss, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_name(to), ==, "alioss");
  g_assert_cmpstr(gst_structure_get_string(to, "region"), ==, "cn");
}

static void expect_error(const char *text, int code, const char *fragment)
{
  g_autoptr(JsonObject) req = json(text);
  g_autoptr(GError) err = NULL;
  g_autoptr(GstStructure) t = sl_storage_target_from_json(NULL, req, &err);
  g_assert_null(t);
  g_assert_error(err, SL_STORAGE_ERROR, code);
  g_test_message("%s", err->message);
  g_assert_nonnull(strstr(err->message, fragment));
}

static void test_bad_requests(void)
{
  expect_error("{\"s3\": {\"bucket\": 3}}", SL_STORAGE_ERROR_INVALID,
               "s3.bucket: expected a string");
  expect_error("{\"s3\": {\"bucket\": \"b\", \"nope\": 1}}", SL_STORAGE_ERROR_INVALID, "s3.nope");
  expect_error("{\"s3\": {\"metadata\": {\"a\": 1}}}", SL_STORAGE_ERROR_INVALID, "metadata");
  expect_error("{\"s3\": {\"proxy\": \"x\"}}", SL_STORAGE_ERROR_INVALID, "s3.proxy");
  expect_error("{\"s3\": {}, \"gcp\": {}}", SL_STORAGE_ERROR_AMBIGUOUS, "both s3 and gcp");
  expect_error("{\"azure\": 5}", SL_STORAGE_ERROR_INVALID, "azure: expected an object");
}

static void test_none(void)
{
  g_autoptr(JsonObject) req = json("{\"filepath\": \"x.mp4\"}");
  g_autoptr(GError) err = NULL;
  g_assert_null(sl_storage_target_from_json(NULL, req, &err));
  g_assert_no_error(err);
  g_assert_null(sl_storage_target_from_json(NULL, NULL, &err));
  g_assert_no_error(err);
}

/* Per output, then the output's v2 storage, then the request's. */
static void test_request_precedence(void)
{
  g_autoptr(JsonObject) request =
      json("{\"storage\": {\"gcp\": {\"bucket\": \"req\"}}, \"file_outputs\": []}");
  g_autoptr(JsonObject) own = json("{\"filepath\": \"a\", \"s3\": {\"bucket\": \"own\"}, "
                                   "\"storage\": {\"azure\": {\"container_name\": \"v2\"}}}");
  g_autoptr(JsonObject) v2 =
      json("{\"filepath\": \"a\", \"storage\": {\"azure\": {\"container_name\": \"v2\"}}}");
  g_autoptr(JsonObject) bare = json("{\"filepath\": \"a\"}");
  g_autoptr(JsonObject) bad = json("{\"filepath\": \"a\", \"s3\": {\"bucket\": false}}");
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonObject) a = sl_storage_request_storage(own, request, &err);
  g_autoptr(JsonObject) b = NULL;
  g_autoptr(JsonObject) c = NULL;
  g_autoptr(JsonObject) d = NULL;
  g_autoptr(JsonObject) e = NULL;
  g_assert_no_error(err);
  g_assert_true(json_object_has_member(a, "s3"));
  g_assert_cmpuint(json_object_get_size(a), ==, 1);
  b = sl_storage_request_storage(v2, request, &err);
  g_assert_no_error(err);
  g_assert_true(json_object_has_member(b, "azure"));
  c = sl_storage_request_storage(bare, request, &err);
  g_assert_no_error(err);
  g_assert_true(json_object_has_member(c, "gcp"));
  d = sl_storage_request_storage(bare, NULL, &err);
  g_assert_no_error(err);
  g_assert_null(d);
  e = sl_storage_request_storage(bad, request, &err);
  g_assert_null(e);
  g_assert_error(err, SL_STORAGE_ERROR, SL_STORAGE_ERROR_INVALID);
}

/* A static ingress's output carries its own section, shaped like storage:. */
static void test_static_output_section(void)
{
  g_autoptr(SlConfig) cfg = config("ingresses:\n"
                                   "  - name: one\n"
                                   "  - name: two\n"
                                   "    outputs:\n"
                                   "      file:\n"
                                   "        filepath: x.mp4\n"
                                   "        s3:\n"
                                   "          bucket: per-output\n"
                                   "          endpoint: http://127.0.0.1:1\n"
                                   "          proxy_config:\n"
                                   "            url: http://p\n"
                                   "      segments:\n"
                                   "        filename_prefix: s\n"
                                   "        gcp:\n"
                                   "          bucket: g\n"
                                   "storage:\n"
                                   "  prefix: pre\n"
                                   "  azure:\n"
                                   "    container_name: c\n");
  g_autoptr(GError) err = NULL;
  g_autoptr(GstStructure) f = sl_storage_target_from_config(cfg, "ingresses.1.outputs.file", &err);
  g_autoptr(GstStructure) s = NULL;
  g_autoptr(GstStructure) none = NULL;
  g_autoptr(GstStructure) def = NULL;
  gint64 retries = 0;
  g_assert_no_error(err);
  g_assert_nonnull(f);
  g_assert_cmpstr(gst_structure_get_name(f), ==, "s3");
  g_assert_cmpstr(gst_structure_get_string(f, "bucket"), ==, "per-output");
  g_assert_true(gst_structure_get_int64(f, "max_retries", &retries));
  g_assert_cmpint(retries, ==, 5);
  g_assert_true(gst_structure_has_field(f, "proxy_config"));
  s = sl_storage_target_from_config(cfg, "ingresses.1.outputs.segments", &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_name(s), ==, "gcp");
  none = sl_storage_target_from_config(cfg, "ingresses.0.outputs.file", &err);
  g_assert_no_error(err);
  g_assert_null(none);
  def = sl_storage_default_target(cfg, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(gst_structure_get_name(def), ==, "azure");
  g_assert_cmpstr(sl_config_get_string(cfg, "storage.prefix"), ==, "pre");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  gst_init(NULL, NULL);
  g_test_add_func("/storage/json/s3", test_s3_from_request);
  g_test_add_func("/storage/json/s3-assume-role", test_s3_assume_role);
  g_test_add_func("/storage/json/false-is-unset", test_false_is_unset);
  g_test_add_func("/storage/json/other-backends", test_other_backends);
  g_test_add_func("/storage/json/bad", test_bad_requests);
  g_test_add_func("/storage/json/none", test_none);
  g_test_add_func("/storage/json/precedence", test_request_precedence);
  g_test_add_func("/storage/config/static-output", test_static_output_section);
  return g_test_run();
}
