/* Unit tests for upload-azure's target, blob names and URLs, and the max_put_blob_mib setting
 * (plugins/upload-azure/target.c). */
#include "errors.h"
#include "target.h"

#include <string.h>

#define KEY                                                                                        \
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static char *url_for(const AzTarget *t, const char *key)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *path = NULL;
  g_assert_true(az_target_blob_path(t, key, &path, &err));
  g_assert_no_error(err);
  return az_target_url(t, path);
}

/* The default endpoint: the location LiveKit reports ("https://<account>.blob.core.windows.net/
 * <container>/<blob>"), with its cases for slashes, nesting, spaces and non-ASCII. */
static void test_default_endpoint(void)
{
  struct {
    const char *container, *key, *want;
  } cases[] = {
      {"mycontainer", "foo.mp4", "https://acct.blob.core.windows.net/mycontainer/foo.mp4"},
      {"/mycontainer", "foo.mp4", "https://acct.blob.core.windows.net/mycontainer/foo.mp4"},
      {"mycontainer/", "foo.mp4", "https://acct.blob.core.windows.net/mycontainer/foo.mp4"},
      {"mycontainer", "/foo.mp4", "https://acct.blob.core.windows.net/mycontainer/foo.mp4"},
      {"mycontainer", "a/b/c.mp4", "https://acct.blob.core.windows.net/mycontainer/a/b/c.mp4"},
      {"mycontainer", "my file.mp4",
       "https://acct.blob.core.windows.net/mycontainer/my%20file.mp4"},
      {"mycontainer", "café/résumé.mp4",
       "https://acct.blob.core.windows.net/mycontainer/caf%C3%A9/r%C3%A9sum%C3%A9.mp4"},
      /* no container: the name's first segment is one */
      {NULL, "recordings/production/6893038.ogg",
       "https://acct.blob.core.windows.net/recordings/production/6893038.ogg"},
      {"", "recordings/x.ogg", "https://acct.blob.core.windows.net/recordings/x.ogg"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(AzTarget) t = az_target_new("acct", KEY, cases[i].container, NULL, &err);
    g_autofree char *url = NULL;
    g_assert_no_error(err);
    g_assert_false(t->custom);
    url = url_for(t, cases[i].key);
    g_assert_cmpstr(url, ==, cases[i].want);
  }
}

/* A custom endpoint: <endpoint>/<container>/<blob>, the endpoint's path kept (Azurite's
 * path-style account). */
static void test_custom_endpoint(void)
{
  struct {
    const char *endpoint, *origin, *base_path, *want;
  } cases[] = {
      {"http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000", "/devstoreaccount1",
       "http://127.0.0.1:10000/devstoreaccount1/c/a%20b.mp4"},
      {"http://127.0.0.1:10000/devstoreaccount1/", "http://127.0.0.1:10000", "/devstoreaccount1",
       "http://127.0.0.1:10000/devstoreaccount1/c/a%20b.mp4"},
      {"https://acct.blob.core.windows.net", "https://acct.blob.core.windows.net", "",
       "https://acct.blob.core.windows.net/c/a%20b.mp4"},
      {"https://acct.blob.core.windows.net:443/", "https://acct.blob.core.windows.net", "",
       "https://acct.blob.core.windows.net/c/a%20b.mp4"},
      {"acct.privatelink.blob.core.windows.net", "https://acct.privatelink.blob.core.windows.net",
       "", "https://acct.privatelink.blob.core.windows.net/c/a%20b.mp4"},
      {"http://[::1]:10000/devstoreaccount1", "http://[::1]:10000", "/devstoreaccount1",
       "http://[::1]:10000/devstoreaccount1/c/a%20b.mp4"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(AzTarget) t = az_target_new("devstoreaccount1", KEY, "c", cases[i].endpoint, &err);
    g_autofree char *url = NULL;
    g_assert_no_error(err);
    g_assert_true(t->custom);
    g_assert_cmpstr(t->origin, ==, cases[i].origin);
    g_assert_cmpstr(t->base_path, ==, cases[i].base_path);
    url = url_for(t, "a b.mp4");
    g_assert_cmpstr(url, ==, cases[i].want);
  }
}

static void test_bad_targets(void)
{
  struct {
    const char *account, *key, *endpoint, *named;
  } cases[] = {
      {NULL, KEY, NULL, "account_name"},
      {"", KEY, NULL, "account_name"},
      {"acct", NULL, NULL, "account_key"},
      {"acct", "", NULL, "account_key"},
      {"acct", "this is not base64", NULL, "account_key"},
      {"ac/ct", KEY, NULL, "account_name"},
      {"acct", KEY, "ftp://example.com", "http:// or https://"},
      {"acct", KEY, "http://example.com/?sv=2020&sig=abc", "SAS"},
      {"acct", KEY, "http://user:pw@example.com/", "no user"},
      {"acct", KEY, "http://", "endpoint"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    AzTarget *t = az_target_new(cases[i].account, cases[i].key, "c", cases[i].endpoint, &err);
    g_assert_null(t);
    g_assert_error(err, AZ_ERROR, AZ_ERROR_CONFIG);
    g_assert_nonnull(strstr(err->message, cases[i].named));
    /* a key never shows up in an error */
    g_assert_null(strstr(err->message, KEY));
    if (cases[i].key != NULL && *cases[i].key != '\0')
      g_assert_null(strstr(err->message, cases[i].key));
  }
}

static void test_blob_names(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(AzTarget) t = az_target_new("acct", KEY, "c", NULL, &err);
  g_autoptr(AzTarget) no_container = az_target_new("acct", KEY, NULL, NULL, &err);
  const char *refused[] = {"", "/", "a//b", "a/./b", "../x", "a/..", ".", "bad\xff\xfe utf8"};
  GString *long_name = g_string_new(NULL);
  g_assert_no_error(err);

  for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_autoptr(GError) e = NULL;
    char *path = NULL;
    g_assert_false(az_target_blob_path(t, refused[i], &path, &e));
    g_assert_null(path);
    g_assert_error(e, AZ_ERROR, AZ_ERROR_KEY);
  }
  /* 1024 characters are allowed (each "é" is one character of two bytes), 1025 are not */
  for (guint i = 0; i < 1024; i++)
    g_string_append(long_name, "é");
  {
    g_autoptr(GError) e = NULL;
    g_autofree char *path = NULL;
    g_assert_true(az_target_blob_path(t, long_name->str, &path, &e));
    g_string_append_c(long_name, 'x');
    g_clear_pointer(&path, g_free);
    g_assert_false(az_target_blob_path(t, long_name->str, &path, &e));
    g_assert_error(e, AZ_ERROR, AZ_ERROR_KEY);
  }
  g_string_free(long_name, TRUE);
  {
    /* no container and a name without one */
    g_autoptr(GError) e = NULL;
    char *path = NULL;
    g_assert_false(az_target_blob_path(no_container, "flat.mp4", &path, &e));
    g_assert_error(e, AZ_ERROR, AZ_ERROR_CONFIG);
    g_assert_nonnull(strstr(e->message, "container_name"));
  }
}

static void test_percent_encode(void)
{
  struct {
    const char *in;
    gboolean keep_slash;
    const char *want;
  } cases[] = {
      {"sp ace/ü+é!(x).txt", TRUE, "sp%20ace/%C3%BC%2B%C3%A9%21%28x%29.txt"},
      {"AZaz09-._~", TRUE, "AZaz09-._~"},
      {"a/b", FALSE, "a%2Fb"},
      {"NGQ3OWZmMzktMDAwMDAwMDAwMA==", FALSE, "NGQ3OWZmMzktMDAwMDAwMDAwMA%3D%3D"},
      {"q?#&=;,:@$*'%", TRUE, "q%3F%23%26%3D%3B%2C%3A%40%24%2A%27%25"},
      {"", TRUE, ""},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = az_percent_encode(cases[i].in, cases[i].keep_slash);
    g_assert_cmpstr(got, ==, cases[i].want);
  }
}

/* The structure the core hands to upload(): max_put_blob_mib (int64, as the core stores YAML
 * integers) sets the largest file sent in one Put Blob, in MiB; without it, the default. Out of
 * 1..AZ_MAX_PUT_BLOB_LIMIT_MIB it is a configuration error that names the key. */
static GstStructure *azure_structure(void)
{
  return gst_structure_new("azure", "account_name", G_TYPE_STRING, "acct", "account_key",
                           G_TYPE_STRING, KEY, "container_name", G_TYPE_STRING, "c", NULL);
}

static void test_max_put_blob(void)
{
  const guint64 mib = 1024 * 1024;
  struct {
    gint64 value;
    guint64 want; /* 0: refused */
  } cases[] = {
      {8, 8 * mib},
      {1, 1 * mib},
      {AZ_MAX_PUT_BLOB_LIMIT_MIB, (guint64)AZ_MAX_PUT_BLOB_LIMIT_MIB * mib},
      {0, 0},
      {-1, 0},
      {AZ_MAX_PUT_BLOB_LIMIT_MIB + 1, 0},
  };
  {
    /* absent: the default, 256 MiB */
    g_autoptr(GError) err = NULL;
    GstStructure *st = azure_structure();
    g_autoptr(AzTarget) t = az_target_from_structure(st, &err);
    g_assert_no_error(err);
    g_assert_nonnull(t);
    g_assert_cmpuint(t->max_put_blob, ==, 256 * mib);
    g_assert_cmpuint(t->max_put_blob, ==, (guint64)AZ_MAX_PUT_BLOB_DEFAULT_MIB * mib);
    gst_structure_free(st);
  }
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(AzTarget) t = NULL;
    GstStructure *st = azure_structure();
    gst_structure_set(st, "max_put_blob_mib", G_TYPE_INT64, cases[i].value, NULL);
    t = az_target_from_structure(st, &err);
    gst_structure_free(st);
    if (cases[i].want != 0) {
      g_assert_no_error(err);
      g_assert_nonnull(t);
      g_assert_cmpuint(t->max_put_blob, ==, cases[i].want);
      g_assert_cmpstr(t->account, ==, "acct");
      g_assert_cmpstr(t->container, ==, "c");
    } else {
      g_autofree char *value = g_strdup_printf(" %" G_GINT64_FORMAT ",", cases[i].value);
      g_assert_null(t);
      g_assert_error(err, AZ_ERROR, AZ_ERROR_CONFIG);
      g_assert_nonnull(strstr(err->message, "max_put_blob_mib"));
      g_assert_nonnull(strstr(err->message, value));
      g_assert_null(strstr(err->message, KEY));
    }
  }
}

int main(int argc, char **argv)
{
  /* No gst_init(): it leaves allocations LeakSanitizer reports, and reading a target must not
   * need it (as in the other storage plugins' target tests). */
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-azure/target/default-endpoint", test_default_endpoint);
  g_test_add_func("/upload-azure/target/custom-endpoint", test_custom_endpoint);
  g_test_add_func("/upload-azure/target/bad-targets", test_bad_targets);
  g_test_add_func("/upload-azure/target/blob-names", test_blob_names);
  g_test_add_func("/upload-azure/target/percent-encode", test_percent_encode);
  g_test_add_func("/upload-azure/target/max-put-blob", test_max_put_blob);
  return g_test_run();
}
