/* upload-alioss — the target, signing version, addressing and URLs. See oss-target.h. */
#include "oss-target.h"

#include "oss-error.h"

#include <gio/gio.h>
#include <string.h>

void oss_target_free(OssTarget *t)
{
  if (t == NULL)
    return;
  g_free(t->access_key);
  if (t->secret != NULL)
    memset(t->secret, 0, strlen(t->secret));
  g_free(t->secret);
  g_free(t->bucket);
  g_free(t->scheme);
  g_free(t->host);
  g_free(t->region);
  g_free(t);
}

static gboolean region_chars_valid(const char *r)
{
  if (r == NULL || *r == '\0' || *r == '-')
    return FALSE;
  for (const char *p = r; *p; p++)
    if (!(g_ascii_islower(*p) || g_ascii_isdigit(*p) || *p == '-'))
      return FALSE;
  return TRUE;
}

char *oss_endpoint_region(const char *host)
{
  g_autofree char *h = host ? g_ascii_strdown(host, -1) : NULL;
  const char *suffix = ".aliyuncs.com";
  g_autofree char *label = NULL;
  gsize hl;

  if (h == NULL || !g_str_has_prefix(h, "oss-") || !g_str_has_suffix(h, suffix))
    return NULL;
  hl = strlen(h);
  label = g_strndup(h + 4, hl - 4 - strlen(suffix)); /* between "oss-" and ".aliyuncs.com" */
  if (strchr(label, '.') != NULL)
    return NULL;
  if (g_str_has_suffix(label, "-internal"))
    label[strlen(label) - strlen("-internal")] = '\0';
  /* The global acceleration endpoints carry no region. */
  if (strcmp(label, "accelerate") == 0 || strcmp(label, "accelerate-overseas") == 0 ||
      !region_chars_valid(label))
    return NULL;
  return g_steal_pointer(&label);
}

gboolean oss_bucket_name_valid(const char *b)
{
  gsize n = b ? strlen(b) : 0;
  if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!(g_ascii_islower(b[i]) || g_ascii_isdigit(b[i]) || b[i] == '-'))
      return FALSE;
  return TRUE;
}

char *oss_object_key(const char *key, GError **error)
{
  const char *k = key ? key : "";
  while (*k == '/')
    k++;
  if (!g_utf8_validate(k, -1, NULL)) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_KEY, "object key is not valid UTF-8");
    return NULL;
  }
  if (*k == '\0') {
    g_set_error(error, OSS_ERROR, OSS_ERROR_KEY, "object key \"%s\" is empty", key ? key : "");
    return NULL;
  }
  if (strlen(k) > 1023) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_KEY,
                "object key is %zu bytes long; OSS allows at most 1023", strlen(k));
    return NULL;
  }
  return g_strdup(k);
}

static const char *string_field(const GstStructure *s, const char *name)
{
  const char *v;
  if (!gst_structure_has_field_typed(s, name, G_TYPE_STRING))
    return NULL;
  v = gst_structure_get_string(s, name);
  return v != NULL && *v != '\0' ? v : NULL;
}

OssTarget *oss_target_from_structure(const GstStructure *s, GError **error)
{
  static const char *const required[] = {"access_key", "secret", "endpoint", "bucket"};
  g_autoptr(OssTarget) t = g_new0(OssTarget, 1);
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) uri_error = NULL;
  g_autofree char *endpoint_url = NULL;
  const char *endpoint, *region, *path;

  if (s == NULL || !gst_structure_has_name(s, "alioss")) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_CONFIG, "the target is not an alioss: section");
    return NULL;
  }
  for (guint i = 0; i < G_N_ELEMENTS(required); i++)
    if (string_field(s, required[i]) == NULL) {
      g_set_error(error, OSS_ERROR, OSS_ERROR_CONFIG, "alioss: %s is missing", required[i]);
      return NULL;
    }
  t->access_key = g_strdup(string_field(s, "access_key"));
  t->secret = g_strdup(string_field(s, "secret"));
  t->bucket = g_strdup(string_field(s, "bucket"));
  if (!oss_bucket_name_valid(t->bucket)) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_CONFIG,
                "alioss: bucket \"%s\" is not a valid OSS bucket name (3-63 characters of a-z, "
                "0-9 and '-', not starting or ending with '-')",
                t->bucket);
    return NULL;
  }

  endpoint = string_field(s, "endpoint");
  endpoint_url = strstr(endpoint, "://") != NULL ? g_strdup(endpoint)
                                                 : g_strconcat("https://", endpoint, NULL);
  uri = g_uri_parse(endpoint_url, G_URI_FLAGS_NONE, &uri_error);
  if (uri == NULL || g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0') {
    g_set_error(error, OSS_ERROR, OSS_ERROR_CONFIG,
                "alioss: endpoint \"%s\" is not a host name%s%s", endpoint, uri_error ? ": " : "",
                uri_error ? uri_error->message : "");
    return NULL;
  }
  t->scheme = g_ascii_strdown(g_uri_get_scheme(uri), -1);
  path = g_uri_get_path(uri);
  if ((strcmp(t->scheme, "https") != 0 && strcmp(t->scheme, "http") != 0) ||
      (path != NULL && *path != '\0' && strcmp(path, "/") != 0) || g_uri_get_query(uri) != NULL ||
      g_uri_get_userinfo(uri) != NULL) {
    g_set_error(error, OSS_ERROR, OSS_ERROR_CONFIG,
                "alioss: endpoint \"%s\" must be a host with an optional http:// or https:// "
                "and port, such as oss-cn-hangzhou.aliyuncs.com",
                endpoint);
    return NULL;
  }
  t->host = g_ascii_strdown(g_uri_get_host(uri), -1);
  t->port = g_uri_get_port(uri);
  t->addressing = strcmp(t->host, "localhost") == 0 || g_hostname_is_ip_address(t->host)
                      ? OSS_ADDRESSING_PATH_STYLE
                      : OSS_ADDRESSING_VIRTUAL_HOSTED;

  region = string_field(s, "region");
  if (region != NULL) {
    const char *r = g_str_has_prefix(region, "oss-") ? region + 4 : region;
    if (!region_chars_valid(r)) {
      g_set_error(error, OSS_ERROR, OSS_ERROR_CONFIG,
                  "alioss: region \"%s\" is not an OSS region such as cn-hangzhou", region);
      return NULL;
    }
    t->region = g_strdup(r);
  } else {
    t->region = oss_endpoint_region(t->host);
  }
  t->sign = t->region != NULL ? OSS_SIGN_V4 : OSS_SIGN_V1;
  return g_steal_pointer(&t);
}

GUri *oss_target_uri(const OssTarget *t, const char *key, const char *encoded_query)
{
  g_autofree char *enc_key = oss_uri_encode(key ? key : "", TRUE);
  g_autofree char *host = NULL;
  g_autofree char *path = NULL;

  if (t->addressing == OSS_ADDRESSING_PATH_STYLE) {
    host = g_strdup(t->host);
    path = g_strconcat("/", t->bucket, "/", enc_key, NULL);
  } else {
    host = g_strconcat(t->bucket, ".", t->host, NULL);
    path = g_strconcat("/", enc_key, NULL);
  }
  /* Built, not parsed: parsing would collapse "." and ".." segments of the key, and the
   * signature covers the path as given. */
  return g_uri_build(G_URI_FLAGS_ENCODED, t->scheme, NULL, host, t->port, path,
                     encoded_query && *encoded_query ? encoded_query : NULL, NULL);
}

char *oss_target_location(const OssTarget *t, const char *key)
{
  g_autoptr(GUri) uri = oss_target_uri(t, key, NULL);
  return g_uri_to_string(uri);
}

char *oss_target_describe(const OssTarget *t)
{
  if (t->port > 0)
    return g_strdup_printf("bucket \"%s\" at %s:%d", t->bucket, t->host, t->port);
  return g_strdup_printf("bucket \"%s\" at %s", t->bucket, t->host);
}
