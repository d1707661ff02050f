/* upload-gcp: reading the "gcp" target structure and the service account JSON — required
 * fields, where requests go (endpoint, STORAGE_EMULATOR_HOST, CLOUD_STORAGE_EMULATOR_HOST), which
 * credentials are used, the proxy, and errors that never quote a secret. */
#include "gcs-error.h"
#include "gcs-target.h"
#include "gcs-url.h"

#include <glib/gstdio.h>
#include <string.h>

#define PEM                                                                                        \
  "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANSECRETKEYBYTES\\n-----END PRIVATE KEY-----\\n"

static const char creds[] = "{\"type\":\"service_account\",\"project_id\":\"p\","
                            "\"private_key_id\":\"kid-1\",\"private_key\":\"" PEM "\","
                            "\"client_email\":\"up@p.iam.gserviceaccount.com\","
                            "\"token_uri\":\"http://127.0.0.1:1/token\"}";

static GstStructure *target(const char *credentials, const char *endpoint)
{
  GstStructure *st = gst_structure_new("gcp", "bucket", G_TYPE_STRING, "rec", NULL);
  if (credentials != NULL)
    gst_structure_set(st, "credentials_json", G_TYPE_STRING, credentials, NULL);
  if (endpoint != NULL)
    gst_structure_set(st, "endpoint", G_TYPE_STRING, endpoint, NULL);
  return st;
}

static void test_service_account(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GcsServiceAccount) sa = gcs_service_account_parse(creds, &error);
  g_autoptr(GcsServiceAccount) same = gcs_service_account_parse(creds, &error);
  g_autoptr(GcsServiceAccount) minimal = NULL;
  g_assert_no_error(error);
  g_assert_cmpstr(sa->client_email, ==, "up@p.iam.gserviceaccount.com");
  g_assert_cmpstr(sa->private_key_id, ==, "kid-1");
  g_assert_cmpstr(sa->token_uri, ==, "http://127.0.0.1:1/token");
  g_assert_nonnull(strstr(sa->private_key, "BEGIN PRIVATE KEY-----\nMIIE")); /* \n decoded */
  /* The cache key identifies the credentials without containing them. */
  g_assert_cmpuint(strlen(sa->cache_key), ==, 64);
  g_assert_cmpstr(sa->cache_key, ==, same->cache_key);
  g_assert_null(strstr(sa->cache_key, "SECRET"));

  minimal =
      gcs_service_account_parse("{\"client_email\":\"a@b\",\"private_key\":\"" PEM "\"}", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(minimal->token_uri, ==, GCS_DEFAULT_TOKEN_URI);
  g_assert_null(minimal->private_key_id);
  g_assert_cmpstr(minimal->cache_key, !=, sa->cache_key);
}

static void test_service_account_errors(void)
{
  static const struct {
    const char *json;
    const char *says;
  } cases[] = {
      {"{\"client_email\":\"a@b\",\"private_key\":\"MIIESECRETKEYBYTES", "not valid JSON"},
      {"[\"MIIESECRETKEYBYTES\"]", "not a JSON object"},
      {"{\"type\":\"authorized_user\",\"refresh_token\":\"SECRETKEYBYTES\"}", "authorized_user"},
      {"{\"private_key\":\"" PEM "\"}", "client_email"},
      {"{\"client_email\":\"a@b\"}", "private_key"},
      {"{\"client_email\":\"a@b\",\"private_key\":\"SECRETKEYBYTES\"}", "private_key"},
      {"{\"client_email\":\"a@b\",\"private_key\":42}", "private_key"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GcsServiceAccount) sa = gcs_service_account_parse(cases[i].json, &error);
    g_assert_null(sa);
    g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
    if (strstr(error->message, cases[i].says) == NULL)
      g_error("case %u: \"%s\" does not say %s", i, error->message, cases[i].says);
    g_assert_null(strstr(error->message, "SECRET"));
  }
}

static void test_endpoint_precedence(void)
{
  GcsEnv env = {.storage_emulator_host = "localhost:9023",
                .cloud_storage_emulator_host = "http://cpp:1"};
  g_autoptr(GError) error = NULL;
  g_autoptr(GstStructure) with_ep = target(creds, "http://explicit:8080/");
  g_autoptr(GstStructure) without = target(creds, NULL);
  g_autoptr(GcsTarget) a = gcs_target_new(with_ep, &env, &error);
  g_autoptr(GcsTarget) b = gcs_target_new(without, &env, &error);
  g_autoptr(GcsTarget) c = NULL, d = NULL;
  g_assert_no_error(error);
  g_assert_cmpstr(a->bucket, ==, "rec");
  g_assert_cmpstr(a->base_url, ==, "http://explicit:8080");
  g_assert_true(a->custom_base);
  g_assert_cmpstr(b->base_url, ==, "http://localhost:9023"); /* STORAGE_EMULATOR_HOST */
  g_assert_true(b->custom_base);
  env.storage_emulator_host = "";
  c = gcs_target_new(without, &env, &error);
  g_assert_cmpstr(c->base_url, ==, "http://cpp:1"); /* CLOUD_STORAGE_EMULATOR_HOST */
  env.cloud_storage_emulator_host = NULL;
  d = gcs_target_new(without, &env, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(d->base_url, ==, GCS_DEFAULT_BASE_URL);
  g_assert_false(d->custom_base);
  g_assert_nonnull(d->account);
  g_assert_null(d->proxy_url);
}

static void test_credentials_choice(void)
{
  GcsEnv env = {0};
  g_autoptr(GError) error = NULL;
  g_autoptr(GstStructure) anon = target(NULL, "localhost:4443");
  g_autoptr(GstStructure) none = target(NULL, NULL);
  g_autoptr(GcsTarget) a = gcs_target_new(anon, &env, &error);
  g_autoptr(GcsTarget) b = NULL, c = NULL;
  g_autofree char *dir = g_dir_make_tmp("gcp-adc-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "key.json", NULL);

  /* An emulator or custom endpoint without credentials: unauthenticated, as Google's clients. */
  g_assert_no_error(error);
  g_assert_null(a->account);

  /* Google's endpoint without credentials and without GOOGLE_APPLICATION_CREDENTIALS: refused. */
  b = gcs_target_new(none, &env, &error);
  g_assert_null(b);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
  g_assert_nonnull(strstr(error->message, "credentials_json"));
  g_clear_error(&error);

  /* ... and with it, the file it names. */
  g_assert_true(g_file_set_contents(path, creds, -1, NULL));
  env.application_credentials = path;
  c = gcs_target_new(none, &env, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(c->account->client_email, ==, "up@p.iam.gserviceaccount.com");
  g_unlink(path);
  g_clear_pointer(&c, gcs_target_free);
  c = gcs_target_new(none, &env, &error);
  g_assert_null(c);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
  g_assert_nonnull(strstr(error->message, "GOOGLE_APPLICATION_CREDENTIALS"));
  g_rmdir(dir);
}

static void test_config_errors(void)
{
  GcsEnv env = {0};
  g_autoptr(GError) error = NULL;
  g_autoptr(GstStructure) nobucket =
      gst_structure_new("gcp", "credentials_json", G_TYPE_STRING, creds, NULL);
  g_autoptr(GstStructure) emptybucket = target(creds, NULL);
  g_autoptr(GstStructure) badscheme = target(creds, "ftp://host/");
  g_autoptr(GstStructure) badcreds = target("{\"private_key\":\"SECRETKEYBYTES\"", NULL);
  g_autoptr(GcsTarget) t = gcs_target_new(nobucket, &env, &error);
  g_assert_null(t);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CONFIG);
  g_assert_nonnull(strstr(error->message, "bucket"));
  g_clear_error(&error);

  gst_structure_set(emptybucket, "bucket", G_TYPE_STRING, "", NULL);
  t = gcs_target_new(emptybucket, &env, &error);
  g_assert_null(t);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CONFIG);
  g_clear_error(&error);

  t = gcs_target_new(badscheme, &env, &error);
  g_assert_null(t);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CONFIG);
  g_assert_nonnull(strstr(error->message, "endpoint"));
  g_clear_error(&error);

  t = gcs_target_new(badcreds, &env, &error);
  g_assert_null(t);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
  g_assert_null(strstr(error->message, "SECRET"));
}

static GstStructure *with_proxy(const char *url, const char *user, const char *pass)
{
  GstStructure *st = target(creds, NULL);
  GstStructure *pc = gst_structure_new_empty("proxy_config");
  if (url)
    gst_structure_set(pc, "url", G_TYPE_STRING, url, NULL);
  if (user)
    gst_structure_set(pc, "username", G_TYPE_STRING, user, NULL);
  if (pass)
    gst_structure_set(pc, "password", G_TYPE_STRING, pass, NULL);
  gst_structure_set(st, "proxy_config", gst_structure_get_type(), pc, NULL);
  gst_structure_free(pc);
  return st;
}

static void test_proxy(void)
{
  GcsEnv env = {0};
  g_autoptr(GError) error = NULL;
  g_autoptr(GstStructure) plain = with_proxy("http://proxy.internal:3128", NULL, NULL);
  g_autoptr(GstStructure) hostport = with_proxy("proxy.internal:3128", NULL, NULL);
  g_autoptr(GstStructure) auth = with_proxy("http://proxy.internal:3128/", "me", "p@ss:w/rd%");
  g_autoptr(GstStructure) inurl = with_proxy("http://me:p%40ss@proxy.internal:3128", NULL, NULL);
  g_autoptr(GstStructure) nopass = with_proxy("http://proxy.internal:3128", "me", NULL);
  g_autoptr(GstStructure) empty = with_proxy(NULL, NULL, NULL);
  g_autoptr(GstStructure) bad = with_proxy("http://me:SECRETPW@[bad", NULL, NULL);
  g_autoptr(GcsTarget) a = gcs_target_new(plain, &env, &error);
  g_autoptr(GcsTarget) b = gcs_target_new(hostport, &env, &error);
  g_autoptr(GcsTarget) c = gcs_target_new(auth, &env, &error);
  g_autoptr(GcsTarget) d = gcs_target_new(empty, &env, &error);
  g_autoptr(GcsTarget) e = gcs_target_new(inurl, &env, &error);
  g_autoptr(GcsTarget) f = gcs_target_new(nopass, &env, &error);
  g_autoptr(GcsTarget) g = NULL;
  g_assert_no_error(error);
  g_assert_cmpstr(a->proxy_url, ==, "http://proxy.internal:3128");
  g_assert_null(a->proxy_username);
  g_assert_null(a->proxy_password);
  g_assert_cmpstr(b->proxy_url, ==, "http://proxy.internal:3128");
  g_assert_null(d->proxy_url);
  /* Credentials are kept apart from the URL (they answer the proxy's challenge). */
  g_assert_cmpstr(c->proxy_url, ==, "http://proxy.internal:3128");
  g_assert_cmpstr(c->proxy_username, ==, "me");
  g_assert_cmpstr(c->proxy_password, ==, "p@ss:w/rd%");
  /* ... also when they were written into the URL. */
  g_assert_cmpstr(e->proxy_url, ==, "http://proxy.internal:3128");
  g_assert_cmpstr(e->proxy_username, ==, "me");
  g_assert_cmpstr(e->proxy_password, ==, "p@ss");
  g_assert_cmpstr(f->proxy_username, ==, "me");
  g_assert_cmpstr(f->proxy_password, ==, "");

  g = gcs_target_new(bad, &env, &error);
  g_assert_null(g);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CONFIG);
  g_assert_null(strstr(error->message, "SECRETPW"));
}

int main(int argc, char **argv)
{
  int rc;
  /* No gst_init(): it leaves allocations LeakSanitizer reports, and reading a target must not
   * need it (the plugin asks gst_structure_get_type() for the nested structures' type). */
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-gcp/target/service-account", test_service_account);
  g_test_add_func("/upload-gcp/target/service-account-errors", test_service_account_errors);
  g_test_add_func("/upload-gcp/target/endpoint-precedence", test_endpoint_precedence);
  g_test_add_func("/upload-gcp/target/credentials-choice", test_credentials_choice);
  g_test_add_func("/upload-gcp/target/config-errors", test_config_errors);
  g_test_add_func("/upload-gcp/target/proxy", test_proxy);
  rc = g_test_run();
  return rc;
}
