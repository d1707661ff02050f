/* upload-s3 — the destination of one upload. See s3-target.h. */
#include "s3-target.h"

#include "s3-error.h"
#include "sigv4.h"

#include <string.h>

static char *get_string(const GstStructure *st, const char *field)
{
  const char *s = gst_structure_has_field_typed(st, field, G_TYPE_STRING)
                      ? gst_structure_get_string(st, field)
                      : NULL;
  return (s != NULL && *s != '\0') ? g_strdup(s) : NULL;
}

/* A bucket name that can be the first label of a host name. Dots are fine over plain HTTP; over
 * HTTPS they break the *.s3.amazonaws.com certificate match. */
static gboolean bucket_is_dns_label(const char *bucket, gboolean https)
{
  gsize len = strlen(bucket);
  if (len < 3 || len > 63 || !g_ascii_isalnum(bucket[0]) || !g_ascii_isalnum(bucket[len - 1]))
    return FALSE;
  for (const char *p = bucket; *p; p++) {
    if (*p == '.' && (https || p[1] == '.'))
      return FALSE;
    if (!(g_ascii_islower(*p) || g_ascii_isdigit(*p) || *p == '-' || *p == '.'))
      return FALSE;
  }
  return TRUE;
}

static gboolean is_token_char(char c)
{
  return g_ascii_isalnum(c) || (c != '\0' && strchr("!#$%&'*+.^_`|~-", c) != NULL);
}

static gboolean header_value_ok(const char *v)
{
  for (const guchar *p = (const guchar *)v; *p; p++)
    if (*p < 0x20 && *p != '\t')
      return FALSE;
  return TRUE;
}

/* The Host header for `host` (IPv6 in brackets) and `port` unless it is the scheme's default. */
static char *host_header_for(const char *scheme, const char *host, int port)
{
  gboolean bracket = strchr(host, ':') != NULL;
  int default_port = strcmp(scheme, "https") == 0 ? 443 : 80;
  if (port > 0 && port != default_port)
    return g_strdup_printf(bracket ? "[%s]:%d" : "%s:%d", host, port);
  return g_strdup_printf(bracket ? "[%s]" : "%s", host);
}

static void update_host(S3Target *t)
{
  g_free(t->host);
  g_free(t->host_header);
  t->host = t->path_style ? g_strdup(t->endpoint_host)
                          : g_strdup_printf("%s.%s", t->bucket, t->endpoint_host);
  t->host_header = host_header_for(t->scheme, t->host, t->port);
}

/* Where AssumeRole goes: the custom endpoint itself (never with the bucket in the host name),
 * else STS's regional endpoint. */
static void set_sts_endpoint(S3Target *t)
{
  if (t->custom_endpoint) {
    t->sts_scheme = g_strdup(t->scheme);
    t->sts_host = g_strdup(t->endpoint_host);
    t->sts_port = t->port;
    t->sts_path = g_strconcat(t->endpoint_path, "/", NULL);
  } else {
    t->sts_scheme = g_strdup("https");
    t->sts_host = g_strdup_printf("sts.%s.amazonaws.com", t->region);
    t->sts_port = -1;
    t->sts_path = g_strdup("/");
  }
  t->sts_host_header = host_header_for(t->sts_scheme, t->sts_host, t->sts_port);
  t->sts_region = g_strdup(t->region);
  t->sts_url = g_strdup_printf("%s://%s%s", t->sts_scheme, t->sts_host_header, t->sts_path);
}

static gboolean parse_endpoint(S3Target *t, const char *endpoint, GError **error)
{
  g_autofree char *with_scheme =
      strstr(endpoint, "://") ? g_strdup(endpoint) : g_strconcat("https://", endpoint, NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(GUri) uri = g_uri_parse(with_scheme, G_URI_FLAGS_ENCODED_PATH, &err);
  const char *scheme, *host, *path;
  if (uri == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG, "s3 endpoint \"%s\" is not a URL: %s", endpoint,
                err->message);
    return FALSE;
  }
  scheme = g_uri_get_scheme(uri);
  host = g_uri_get_host(uri);
  if (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG,
                "s3 endpoint \"%s\": the scheme must be http or https", endpoint);
    return FALSE;
  }
  if (host == NULL || *host == '\0') {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG, "s3 endpoint \"%s\" has no host", endpoint);
    return FALSE;
  }
  t->scheme = g_ascii_strdown(scheme, -1);
  t->endpoint_host = g_ascii_strdown(host, -1);
  t->port = g_uri_get_port(uri);
  path = g_uri_get_path(uri);
  t->endpoint_path = g_strdup(path ? path : "");
  while (g_str_has_suffix(t->endpoint_path, "/"))
    t->endpoint_path[strlen(t->endpoint_path) - 1] = '\0';
  return TRUE;
}

static gboolean read_proxy(S3Target *t, const GstStructure *st, GError **error)
{
  /* gst_structure_get_type() rather than GST_TYPE_STRUCTURE: the macro reads a variable that only
   * gst_init() fills in, the function registers the type itself. */
  GType structure_type = gst_structure_get_type();
  GstStructure *proxy = NULL;
  if (!gst_structure_has_field_typed(st, "proxy_config", structure_type))
    return TRUE;
  gst_structure_get(st, "proxy_config", structure_type, &proxy, NULL);
  if (proxy == NULL)
    return TRUE;
  t->proxy_url = get_string(proxy, "url");
  t->proxy_username = get_string(proxy, "username");
  t->proxy_password = get_string(proxy, "password");
  gst_structure_free(proxy);
  if (t->proxy_url == NULL && t->proxy_username != NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG, "s3 proxy_config has a username but no url");
    return FALSE;
  }
  if (t->proxy_url != NULL && !strstr(t->proxy_url, "://")) {
    char *full = g_strconcat("http://", t->proxy_url, NULL);
    g_free(t->proxy_url);
    t->proxy_url = full;
  }
  return TRUE;
}

static gboolean read_metadata(S3Target *t, const GstStructure *st, GError **error)
{
  const GValue *v = gst_structure_get_value(st, "metadata");
  const char *const *pairs;
  if (v == NULL || !G_VALUE_HOLDS(v, G_TYPE_STRV))
    return TRUE;
  pairs = g_value_get_boxed(v);
  for (guint i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
    const char *name = pairs[i], *value = pairs[i + 1];
    gboolean ok = value != NULL && *name != '\0' && header_value_ok(value);
    for (const char *p = name; ok && *p; p++)
      ok = is_token_char(*p);
    if (!ok) {
      g_set_error(error, S3_ERROR, S3_ERROR_CONFIG,
                  "s3 metadata \"%s\": names must be header tokens and values one line", name);
      return FALSE;
    }
  }
  t->metadata = g_strdupv((char **)pairs);
  return TRUE;
}

S3Target *s3_target_new(const GstStructure *st, GError **error)
{
  g_autoptr(S3Target) t = g_new0(S3Target, 1);
  g_autofree char *endpoint = NULL;
  gint64 attempts = 0;
  double delay;
  gboolean force = FALSE;

  if (st == NULL || !gst_structure_has_name(st, "s3")) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG, "upload-s3 serves \"s3\" targets, not \"%s\"",
                st ? gst_structure_get_name(st) : "(none)");
    return NULL;
  }
  t->bucket = get_string(st, "bucket");
  if (t->bucket == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG, "s3 bucket is not set");
    return NULL;
  }
  t->access_key = get_string(st, "access_key");
  t->secret = get_string(st, "secret");
  t->session_token = get_string(st, "session_token");
  if (t->access_key == NULL && t->secret == NULL) {
    const char *id = g_getenv("AWS_ACCESS_KEY_ID"), *secret = g_getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = g_getenv("AWS_SESSION_TOKEN");
    if (id != NULL && *id && secret != NULL && *secret) {
      t->access_key = g_strdup(id);
      t->secret = g_strdup(secret);
      if (t->session_token == NULL && token != NULL && *token)
        t->session_token = g_strdup(token);
    }
  }
  t->assume_role_arn = get_string(st, "assume_role_arn");
  if (t->assume_role_arn != NULL)
    t->assume_role_external_id = get_string(st, "assume_role_external_id");
  if (t->access_key == NULL || t->secret == NULL) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG,
                "s3 credentials are missing: set access_key and secret (or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)%s",
                t->assume_role_arn ? "; with assume_role_arn they are the ones that assume it"
                                   : "");
    return NULL;
  }
  t->region = get_string(st, "region");
  if (t->region == NULL)
    t->region = g_strdup(S3_DEFAULT_REGION);

  endpoint = get_string(st, "endpoint");
  t->custom_endpoint = endpoint != NULL;
  if (endpoint != NULL) {
    if (!parse_endpoint(t, endpoint, error))
      return NULL;
  } else {
    t->scheme = g_strdup("https");
    t->endpoint_host = g_strdup_printf("s3.%s.amazonaws.com", t->region);
    t->port = -1;
    t->endpoint_path = g_strdup("");
  }
  /* Absent unless configured: path style by default for a custom endpoint, never for AWS. */
  if (gst_structure_get_boolean(st, "force_path_style", &force))
    t->path_style = force;
  else
    t->path_style = t->custom_endpoint;
  if (!bucket_is_dns_label(t->bucket, strcmp(t->scheme, "https") == 0))
    t->path_style = TRUE;
  update_host(t);
  set_sts_endpoint(t);

  if (!read_proxy(t, st, error) || !read_metadata(t, st, error))
    return NULL;
  t->tagging = get_string(st, "tagging");
  t->content_disposition = get_string(st, "content_disposition");
  if (t->content_disposition == NULL)
    t->content_disposition = g_strdup("inline"); /* what LiveKit's egress sends */
  if ((t->tagging && !header_value_ok(t->tagging)) || !header_value_ok(t->content_disposition)) {
    g_set_error(error, S3_ERROR, S3_ERROR_CONFIG,
                "s3 tagging and content_disposition must be one line each");
    return NULL;
  }

  /* LiveKit passes max_retries to the AWS SDK as its attempt count; 0 means its default. */
  if (gst_structure_get_int64(st, "max_retries", &attempts) && attempts > 0)
    t->max_attempts = (guint)MIN(attempts, 100);
  else
    t->max_attempts = S3_DEFAULT_MAX_ATTEMPTS;
  t->min_delay = gst_structure_get_double(st, "min_retry_delay", &delay) && delay > 0
                     ? delay
                     : S3_DEFAULT_MIN_DELAY;
  t->max_delay = gst_structure_get_double(st, "max_retry_delay", &delay) && delay > 0
                     ? delay
                     : S3_DEFAULT_MAX_DELAY;
  if (t->max_delay < t->min_delay)
    t->max_delay = t->min_delay;
  return g_steal_pointer(&t);
}

void s3_target_free(S3Target *t)
{
  if (t == NULL)
    return;
  g_free(t->access_key);
  if (t->secret != NULL)
    memset(t->secret, 0, strlen(t->secret));
  g_free(t->secret);
  g_free(t->session_token);
  g_free(t->region);
  g_free(t->bucket);
  g_free(t->scheme);
  g_free(t->endpoint_host);
  g_free(t->endpoint_path);
  g_free(t->host);
  g_free(t->host_header);
  g_free(t->proxy_url);
  g_free(t->proxy_username);
  g_free(t->proxy_password);
  g_strfreev(t->metadata);
  g_free(t->tagging);
  g_free(t->content_disposition);
  g_free(t->assume_role_arn);
  g_free(t->assume_role_external_id);
  g_free(t->sts_scheme);
  g_free(t->sts_host);
  g_free(t->sts_host_header);
  g_free(t->sts_path);
  g_free(t->sts_region);
  g_free(t->sts_url);
  g_free(t);
}

void s3_target_set_region(S3Target *t, const char *region)
{
  if (region == NULL || *region == '\0' || strcmp(region, t->region) == 0)
    return;
  g_free(t->region);
  t->region = g_strdup(region);
  if (!t->custom_endpoint) {
    g_free(t->endpoint_host);
    t->endpoint_host = g_strdup_printf("s3.%s.amazonaws.com", region);
    update_host(t);
  }
}

char *s3_target_object_path(const S3Target *t, const char *key)
{
  g_autofree char *k = s3_uri_encode(key, TRUE);
  if (t->path_style) {
    g_autofree char *b = s3_uri_encode(t->bucket, FALSE);
    return g_strdup_printf("%s/%s/%s", t->endpoint_path, b, k);
  }
  return g_strdup_printf("%s/%s", t->endpoint_path, k);
}

char *s3_target_object_url(const S3Target *t, const char *key)
{
  g_autofree char *path = s3_target_object_path(t, key);
  return g_strdup_printf("%s://%s%s", t->scheme, t->host_header, path);
}

char *s3_target_describe(const S3Target *t, const char *key)
{
  return g_strdup_printf("s3://%s/%s", t->bucket, key);
}

char **s3_target_object_headers(const S3Target *t)
{
  GPtrArray *h = g_ptr_array_new();
  g_ptr_array_add(h, g_strdup("Content-Disposition"));
  g_ptr_array_add(h, g_strdup(t->content_disposition));
  if (t->tagging != NULL) {
    g_ptr_array_add(h, g_strdup("x-amz-tagging"));
    g_ptr_array_add(h, g_strdup(t->tagging));
  }
  for (guint i = 0; t->metadata != NULL && t->metadata[i] != NULL; i += 2) {
    g_ptr_array_add(h, g_strconcat("x-amz-meta-", t->metadata[i], NULL));
    g_ptr_array_add(h, g_strdup(t->metadata[i + 1]));
  }
  g_ptr_array_add(h, NULL);
  return (char **)g_ptr_array_free(h, FALSE);
}
