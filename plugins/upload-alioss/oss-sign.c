/* upload-alioss — OSS v1 and v4 request signing. See oss-sign.h. */
#include "oss-sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

/* Query parameters OSS includes in a v1 CanonicalizedResource; every other parameter is left
 * out of the signature. The list is OSS's documented sub-resources and overrides. */
static const char *const v1_subresources[] = {
    "acl",
    "append",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "img",
    "inventory",
    "inventoryId",
    "lifecycle",
    "live",
    "location",
    "logging",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "qosInfo",
    "referer",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-process",
    "x-oss-traffic-limit",
};

static gboolean is_v1_subresource(const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS(v1_subresources); i++)
    if (strcmp(name, v1_subresources[i]) == 0)
      return TRUE;
  return FALSE;
}

char *oss_uri_encode(const char *s, gboolean keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";
  GString *out = g_string_sized_new(s ? strlen(s) * 3 / 2 + 1 : 1);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
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

char *oss_format_date_v1(GDateTime *t)
{
  /* Not g_date_time_format("%a, %d %b ..."): %a and %b follow the locale. */
  static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  g_autoptr(GDateTime) u = g_date_time_to_utc(t);
  return g_strdup_printf("%s, %02d %s %04d %02d:%02d:%02d GMT",
                         days[g_date_time_get_day_of_week(u) - 1], g_date_time_get_day_of_month(u),
                         months[g_date_time_get_month(u) - 1], g_date_time_get_year(u),
                         g_date_time_get_hour(u), g_date_time_get_minute(u),
                         g_date_time_get_second(u));
}

char *oss_format_date_v4(GDateTime *t)
{
  g_autoptr(GDateTime) u = g_date_time_to_utc(t);
  return g_strdup_printf("%04d%02d%02dT%02d%02d%02dZ", g_date_time_get_year(u),
                         g_date_time_get_month(u), g_date_time_get_day_of_month(u),
                         g_date_time_get_hour(u), g_date_time_get_minute(u),
                         g_date_time_get_second(u));
}

/* ---- helpers ----------------------------------------------------------------------------- */

/* The value of header `name` (case-insensitive), or NULL; the last one wins. */
static const char *header_value(const OssSignInput *in, const char *name)
{
  const char *v = NULL;
  for (guint i = 0; i < in->n_headers; i++)
    if (g_ascii_strcasecmp(in->headers[i].name, name) == 0)
      v = in->headers[i].value;
  return v;
}

typedef struct {
  char *name;  /* lower-case (headers) or encoded (v4 query) */
  char *value; /* trimmed (headers) or encoded (v4 query); may be NULL for a query */
} Entry;

static void entry_clear(gpointer p)
{
  Entry *e = p;
  g_free(e->name);
  g_free(e->value);
}

static gint entry_cmp(gconstpointer a, gconstpointer b)
{
  return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

/* The headers signing covers: for v1 the x-oss-* ones, for v4 also content-type and
 * content-md5. Lower-case names, trimmed values, one per name (the last), sorted. */
static GArray *canonical_headers(const OssSignInput *in, gboolean v4)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(Entry));
  g_array_set_clear_func(out, entry_clear);
  for (guint i = 0; i < in->n_headers; i++) {
    g_autofree char *name = g_ascii_strdown(in->headers[i].name, -1);
    Entry e;
    if (!g_str_has_prefix(name, "x-oss-") &&
        !(v4 && (strcmp(name, "content-type") == 0 || strcmp(name, "content-md5") == 0)))
      continue;
    for (guint j = 0; j < out->len; j++)
      if (strcmp(g_array_index(out, Entry, j).name, name) == 0) {
        g_array_remove_index(out, j);
        break;
      }
    e.name = g_steal_pointer(&name);
    e.value = g_strstrip(g_strdup(in->headers[i].value ? in->headers[i].value : ""));
    g_array_append_val(out, e);
  }
  g_array_sort(out, entry_cmp);
  return out;
}

static void hmac(const EVP_MD *md, const void *key, gsize key_len, const char *data,
                 unsigned char *out, unsigned int *out_len)
{
  HMAC(md, key, (int)key_len, (const unsigned char *)data, strlen(data), out, out_len);
}

static char *hex(const unsigned char *bytes, gsize n)
{
  static const char digits[] = "0123456789abcdef";
  char *s = g_malloc(n * 2 + 1);
  for (gsize i = 0; i < n; i++) {
    s[i * 2] = digits[bytes[i] >> 4];
    s[i * 2 + 1] = digits[bytes[i] & 15];
  }
  s[n * 2] = '\0';
  return s;
}

/* ---- v1 ---------------------------------------------------------------------------------- */

char *oss_v1_canonical_resource(const OssSignInput *in)
{
  GString *r = g_string_new("/");
  g_autoptr(GArray) sub = g_array_new(FALSE, FALSE, sizeof(Entry));
  g_array_set_clear_func(sub, entry_clear);

  if (in->bucket != NULL && *in->bucket != '\0') {
    g_string_append(r, in->bucket);
    g_string_append_c(r, '/');
  }
  if (in->key != NULL)
    g_string_append(r, in->key); /* v1 signs the key raw, not percent-encoded */
  for (guint i = 0; i < in->n_query; i++) {
    Entry e;
    if (!is_v1_subresource(in->query[i].name))
      continue;
    e.name = g_strdup(in->query[i].name);
    e.value = g_strdup(in->query[i].value);
    g_array_append_val(sub, e);
  }
  g_array_sort(sub, entry_cmp);
  for (guint i = 0; i < sub->len; i++) {
    const Entry *e = &g_array_index(sub, Entry, i);
    g_string_append_c(r, i == 0 ? '?' : '&');
    g_string_append(r, e->name);
    if (e->value != NULL && *e->value != '\0') {
      g_string_append_c(r, '=');
      g_string_append(r, e->value);
    }
  }
  return g_string_free(r, FALSE);
}

char *oss_v1_string_to_sign(const OssSignInput *in)
{
  g_autoptr(GArray) hdrs = canonical_headers(in, FALSE);
  g_autofree char *resource = oss_v1_canonical_resource(in);
  const char *md5 = header_value(in, "Content-MD5");
  const char *type = header_value(in, "Content-Type");
  const char *date = header_value(in, "x-oss-date");
  GString *s = g_string_new(NULL);

  if (date == NULL)
    date = header_value(in, "Date");
  g_string_append_printf(s, "%s\n%s\n%s\n%s\n", in->method, md5 ? md5 : "", type ? type : "",
                         date ? date : "");
  for (guint i = 0; i < hdrs->len; i++) {
    const Entry *e = &g_array_index(hdrs, Entry, i);
    g_string_append_printf(s, "%s:%s\n", e->name, e->value);
  }
  g_string_append(s, resource);
  return g_string_free(s, FALSE);
}

char *oss_v1_signature(const char *secret, const char *string_to_sign)
{
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  hmac(EVP_sha1(), secret, strlen(secret), string_to_sign, mac, &n);
  return g_base64_encode(mac, n);
}

char *oss_v1_authorization(const char *access_key, const char *secret, const OssSignInput *in)
{
  g_autofree char *sts = oss_v1_string_to_sign(in);
  g_autofree char *sig = oss_v1_signature(secret, sts);
  return g_strdup_printf("OSS %s:%s", access_key, sig);
}

/* ---- v4 ---------------------------------------------------------------------------------- */

char *oss_v4_canonical_request(const OssSignInput *in)
{
  g_autoptr(GArray) hdrs = canonical_headers(in, TRUE);
  g_autoptr(GArray) query = g_array_new(FALSE, FALSE, sizeof(Entry));
  g_autofree char *path = NULL;
  g_autofree char *uri = NULL;
  const char *payload = header_value(in, "x-oss-content-sha256");
  GString *s = g_string_new(in->method);

  g_array_set_clear_func(query, entry_clear);
  /* The canonical URI names the bucket even when the request goes to bucket.endpoint. */
  path = g_strconcat("/", in->bucket && *in->bucket ? in->bucket : "",
                     in->bucket && *in->bucket ? "/" : "", in->key ? in->key : "", NULL);
  uri = oss_uri_encode(path, TRUE);
  g_string_append_c(s, '\n');
  g_string_append(s, uri);
  g_string_append_c(s, '\n');

  for (guint i = 0; i < in->n_query; i++) {
    Entry e = {oss_uri_encode(in->query[i].name, FALSE),
               in->query[i].value && *in->query[i].value ? oss_uri_encode(in->query[i].value, FALSE)
                                                         : NULL};
    g_array_append_val(query, e);
  }
  g_array_sort(query, entry_cmp);
  for (guint i = 0; i < query->len; i++) {
    const Entry *e = &g_array_index(query, Entry, i);
    if (i > 0)
      g_string_append_c(s, '&');
    g_string_append(s, e->name);
    if (e->value != NULL) {
      g_string_append_c(s, '=');
      g_string_append(s, e->value);
    }
  }
  g_string_append_c(s, '\n');

  for (guint i = 0; i < hdrs->len; i++) {
    const Entry *e = &g_array_index(hdrs, Entry, i);
    g_string_append_printf(s, "%s:%s\n", e->name, e->value);
  }
  g_string_append_c(s, '\n');
  g_string_append_c(s, '\n'); /* no additional headers */
  g_string_append(s, payload ? payload : "UNSIGNED-PAYLOAD");
  return g_string_free(s, FALSE);
}

char *oss_v4_string_to_sign(const char *region, const char *x_oss_date,
                            const char *canonical_request)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  g_autofree char *digest_hex = NULL;
  EVP_Digest(canonical_request, strlen(canonical_request), digest, &n, EVP_sha256(), NULL);
  digest_hex = hex(digest, n);
  return g_strdup_printf("OSS4-HMAC-SHA256\n%s\n%.8s/%s/oss/aliyun_v4_request\n%s", x_oss_date,
                         x_oss_date, region, digest_hex);
}

char *oss_v4_signature(const char *secret, const char *date8, const char *region,
                       const char *string_to_sign)
{
  g_autofree char *k0 = g_strconcat("aliyun_v4", secret, NULL);
  unsigned char k1[EVP_MAX_MD_SIZE], k2[EVP_MAX_MD_SIZE], k3[EVP_MAX_MD_SIZE], k4[EVP_MAX_MD_SIZE],
      sig[EVP_MAX_MD_SIZE];
  unsigned int n1 = 0, n2 = 0, n3 = 0, n4 = 0, ns = 0;
  char *out;

  hmac(EVP_sha256(), k0, strlen(k0), date8, k1, &n1);
  hmac(EVP_sha256(), k1, n1, region, k2, &n2);
  hmac(EVP_sha256(), k2, n2, "oss", k3, &n3);
  hmac(EVP_sha256(), k3, n3, "aliyun_v4_request", k4, &n4);
  hmac(EVP_sha256(), k4, n4, string_to_sign, sig, &ns);
  out = hex(sig, ns);
  /* The derived keys are as good as the secret for a day: do not leave them on the stack. */
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(k2, sizeof k2);
  OPENSSL_cleanse(k3, sizeof k3);
  OPENSSL_cleanse(k4, sizeof k4);
  OPENSSL_cleanse(k0, strlen(k0));
  return out;
}

char *oss_v4_authorization(const char *access_key, const char *secret, const char *region,
                           const OssSignInput *in)
{
  const char *date = header_value(in, "x-oss-date");
  g_autofree char *creq = NULL;
  g_autofree char *sts = NULL;
  g_autofree char *sig = NULL;
  g_autofree char *date8 = NULL;

  if (date == NULL || strlen(date) != 16 || date[8] != 'T')
    return NULL;
  date8 = g_strndup(date, 8);
  creq = oss_v4_canonical_request(in);
  sts = oss_v4_string_to_sign(region, date, creq);
  sig = oss_v4_signature(secret, date8, region, sts);
  return g_strdup_printf("OSS4-HMAC-SHA256 Credential=%s/%s/%s/oss/aliyun_v4_request,Signature=%s",
                         access_key, date8, region, sig);
}
