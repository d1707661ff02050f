/* upload-azure — the target and blob URLs. See target.h. */
#include "target.h"

#include <string.h>

#include "errors.h"
#include "sharedkey.h"

#define MAX_BLOB_NAME 1024 /* characters, the service's limit */

void az_target_free(AzTarget *t)
{
  if (t == NULL)
    return;
  g_free(t->account);
  if (t->key)
    g_bytes_unref(t->key);
  g_free(t->container);
  g_free(t->origin);
  g_free(t->base_path);
  g_free(t);
}

static const char *get_string(const GstStructure *st, const char *field)
{
  const char *s = gst_structure_has_field_typed(st, field, G_TYPE_STRING)
                      ? gst_structure_get_string(st, field)
                      : NULL;
  return s != NULL && *s != '\0' ? s : NULL;
}

static char *strip_slashes(const char *s)
{
  const char *b = s;
  const char *e = s + strlen(s);
  while (*b == '/')
    b++;
  while (e > b && e[-1] == '/')
    e--;
  return g_strndup(b, (gsize)(e - b));
}

/* Splits the endpoint into origin and path. */
static gboolean parse_endpoint(AzTarget *t, const char *endpoint, GError **error)
{
  g_autofree char *with_scheme = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) err = NULL;
  const char *scheme, *path;
  gsize plen;
  gint port;

  with_scheme =
      strstr(endpoint, "://") ? g_strdup(endpoint) : g_strconcat("https://", endpoint, NULL);
  uri = g_uri_parse(with_scheme, G_URI_FLAGS_ENCODED, &err);
  if (uri == NULL) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG, "endpoint '%s' is not a URL: %s", endpoint,
                err->message);
    return FALSE;
  }
  scheme = g_uri_get_scheme(uri);
  if (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG,
                "endpoint '%s' must be an http:// or https:// URL", endpoint);
    return FALSE;
  }
  if (g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0') {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG, "endpoint '%s' has no host", endpoint);
    return FALSE;
  }
  if (g_uri_get_query(uri) != NULL || g_uri_get_fragment(uri) != NULL ||
      g_uri_get_userinfo(uri) != NULL) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG,
                "endpoint '%s' must be a plain service URL (no user, query or fragment; SAS "
                "tokens are not supported, use account_key)",
                endpoint);
    return FALSE;
  }
  port = g_uri_get_port(uri);
  if ((port == 443 && g_ascii_strcasecmp(scheme, "https") == 0) ||
      (port == 80 && g_ascii_strcasecmp(scheme, "http") == 0))
    port = -1; /* the location reads as people write it */
  t->origin =
      g_uri_join(G_URI_FLAGS_ENCODED, scheme, NULL, g_uri_get_host(uri), port, "", NULL, NULL);
  path = g_uri_get_path(uri);
  plen = strlen(path);
  while (plen > 0 && path[plen - 1] == '/')
    plen--;
  t->base_path = g_strndup(path, plen);
  return TRUE;
}

AzTarget *az_target_from_structure(const GstStructure *st, GError **error)
{
  if (g_strcmp0(gst_structure_get_name(st), "azure") != 0) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG, "the target is '%s', not 'azure'",
                gst_structure_get_name(st));
    return NULL;
  }
  g_autoptr(AzTarget) t = NULL;
  gint64 mib = 0;

  t = az_target_new(get_string(st, "account_name"), get_string(st, "account_key"),
                    get_string(st, "container_name"), get_string(st, "endpoint"), error);
  if (t == NULL)
    return NULL;
  if (gst_structure_get_int64(st, "max_put_blob_mib", &mib)) {
    if (mib < 1 || mib > AZ_MAX_PUT_BLOB_LIMIT_MIB) {
      g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG,
                  "azure: max_put_blob_mib is %" G_GINT64_FORMAT ", not 1 to %d", mib,
                  AZ_MAX_PUT_BLOB_LIMIT_MIB);
      return NULL;
    }
    t->max_put_blob = (guint64)mib * 1024 * 1024;
  }
  return g_steal_pointer(&t);
}

AzTarget *az_target_new(const char *account_name, const char *account_key,
                        const char *container_name, const char *endpoint, GError **error)
{
  g_autoptr(AzTarget) t = g_new0(AzTarget, 1);
  const char *account = account_name && *account_name ? account_name : NULL;
  const char *key = account_key && *account_key ? account_key : NULL;
  const char *container = container_name && *container_name ? container_name : NULL;

  if (endpoint != NULL && *endpoint == '\0')
    endpoint = NULL;
  if (account == NULL || key == NULL) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG, "azure: %s is not set",
                account == NULL ? "account_name" : "account_key");
    return NULL;
  }
  for (const char *p = account; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '-') {
      g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG,
                  "azure: account_name '%s' is not a storage account name (letters and digits)",
                  account);
      return NULL;
    }
  t->account = g_strdup(account);
  t->key = az_sharedkey_decode_key(key, error);
  if (t->key == NULL) {
    g_prefix_error(error, "azure: ");
    return NULL;
  }
  t->container = strip_slashes(container ? container : "");
  t->max_put_blob = (guint64)AZ_MAX_PUT_BLOB_DEFAULT_MIB * 1024 * 1024;
  if (endpoint != NULL) {
    t->custom = TRUE;
    if (!parse_endpoint(t, endpoint, error)) {
      g_prefix_error(error, "azure: ");
      return NULL;
    }
  } else {
    t->origin = g_strdup_printf("https://%s.blob.core.windows.net", account);
    t->base_path = g_strdup("");
  }
  return g_steal_pointer(&t);
}

char *az_percent_encode(const char *s, gboolean keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";
  GString *out = g_string_sized_new(strlen(s) * 3 / 2 + 1);
  for (const guchar *p = (const guchar *)s; *p; p++) {
    if (g_ascii_isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
        (keep_slash && *p == '/')) {
      g_string_append_c(out, (char)*p);
    } else {
      g_string_append_c(out, '%');
      g_string_append_c(out, hex[*p >> 4]);
      g_string_append_c(out, hex[*p & 15]);
    }
  }
  return g_string_free(out, FALSE);
}

static gboolean check_blob_name(const char *name, GError **error)
{
  g_auto(GStrv) segs = NULL;
  if (*name == '\0') {
    g_set_error(error, AZ_ERROR, AZ_ERROR_KEY, "the blob name is empty");
    return FALSE;
  }
  if (!g_utf8_validate(name, -1, NULL)) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_KEY, "the blob name is not valid UTF-8");
    return FALSE;
  }
  if (g_utf8_strlen(name, -1) > MAX_BLOB_NAME) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_KEY,
                "the blob name is longer than %d characters, the service's limit", MAX_BLOB_NAME);
    return FALSE;
  }
  segs = g_strsplit(name, "/", -1);
  for (guint i = 0; segs[i]; i++)
    if (*segs[i] == '\0' || strcmp(segs[i], ".") == 0 || strcmp(segs[i], "..") == 0) {
      g_set_error(error, AZ_ERROR, AZ_ERROR_KEY,
                  "the blob name '%s' has an empty, '.' or '..' path segment, which URLs "
                  "normalise away",
                  name);
      return FALSE;
    }
  return TRUE;
}

gboolean az_target_blob_path(const AzTarget *t, const char *key, char **path, GError **error)
{
  g_autofree char *name = strip_slashes(key ? key : "");
  g_autofree char *enc_name = NULL;

  if (!check_blob_name(name, error))
    return FALSE;
  if (*t->container == '\0' && strchr(name, '/') == NULL) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG,
                "azure: container_name is not set, and the blob name '%s' does not start with "
                "a container",
                name);
    return FALSE;
  }
  enc_name = az_percent_encode(name, TRUE);
  if (*t->container == '\0') {
    *path = g_strconcat(t->base_path, "/", enc_name, NULL);
  } else {
    g_autofree char *enc_container = az_percent_encode(t->container, TRUE);
    *path = g_strconcat(t->base_path, "/", enc_container, "/", enc_name, NULL);
  }
  return TRUE;
}

char *az_target_url(const AzTarget *t, const char *path)
{
  return g_strconcat(t->origin, path, NULL);
}
