/* upload-s3 — AWS Signature Version 4 for S3 and STS. See sigv4.h for the rules and why it is
 * here. */
#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static gboolean is_unreserved(guchar c)
{
  return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *s3_uri_encode(const char *s, gboolean keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";
  GString *out = g_string_sized_new(strlen(s) + 16);
  for (const guchar *p = (const guchar *)s; *p; p++) {
    if (is_unreserved(*p) || (keep_slash && *p == '/')) {
      g_string_append_c(out, (char)*p);
    } else {
      g_string_append_c(out, '%');
      g_string_append_c(out, hex[*p >> 4]);
      g_string_append_c(out, hex[*p & 15]);
    }
  }
  return g_string_free(out, FALSE);
}

static char *hex_encode(const guchar *bytes, gsize len)
{
  static const char hex[] = "0123456789abcdef";
  char *out = g_malloc(len * 2 + 1);
  for (gsize i = 0; i < len; i++) {
    out[2 * i] = hex[bytes[i] >> 4];
    out[2 * i + 1] = hex[bytes[i] & 15];
  }
  out[len * 2] = '\0';
  return out;
}

char *s3_sha256_hex(const void *data, gsize len)
{
  guchar md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  /* EVP_Digest cannot fail for SHA-256 short of memory exhaustion, which aborts elsewhere. */
  EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
  return hex_encode(md, mdlen);
}

static void hmac_sha256(const void *key, gsize keylen, const char *data, guchar out[32])
{
  unsigned int outlen = 32;
  HMAC(EVP_sha256(), key, (int)keylen, (const guchar *)data, strlen(data), out, &outlen);
}

char *s3_sigv4_amz_date(gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(unix_seconds);
  return dt ? g_date_time_format(dt, "%Y%m%dT%H%M%SZ") : g_strdup("19700101T000000Z");
}

typedef struct {
  char *name;
  char *value;
} Pair;

static void pair_clear(gpointer p)
{
  Pair *pair = p;
  g_free(pair->name);
  g_free(pair->value);
}

static int pair_cmp(gconstpointer a, gconstpointer b)
{
  const Pair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c != 0 ? c : strcmp(x->value, y->value);
}

char *s3_sigv4_canonical_query(const char *const *pairs)
{
  g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(Pair));
  GString *out = g_string_new(NULL);
  g_array_set_clear_func(list, pair_clear);
  for (guint i = 0; pairs != NULL && pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
    Pair p = {s3_uri_encode(pairs[i], FALSE), s3_uri_encode(pairs[i + 1], FALSE)};
    g_array_append_val(list, p);
  }
  g_array_sort(list, pair_cmp);
  for (guint i = 0; i < list->len; i++) {
    const Pair *p = &g_array_index(list, Pair, i);
    g_string_append_printf(out, "%s%s=%s", i ? "&" : "", p->name, p->value);
  }
  return g_string_free(out, FALSE);
}

/* Trims and collapses runs of spaces and tabs into one space. */
static char *canonical_value(const char *v)
{
  GString *out = g_string_new(NULL);
  gboolean space = FALSE;
  while (*v == ' ' || *v == '\t')
    v++;
  for (; *v; v++) {
    if (*v == ' ' || *v == '\t') {
      space = TRUE;
      continue;
    }
    if (space)
      g_string_append_c(out, ' ');
    space = FALSE;
    g_string_append_c(out, *v);
  }
  return g_string_free(out, FALSE);
}

static int name_cmp(gconstpointer a, gconstpointer b)
{
  return strcmp(((const Pair *)a)->name, ((const Pair *)b)->name);
}

char *s3_sigv4_canonical_request(const char *method, const char *path, const char *canonical_query,
                                 const char *const *headers, const char *payload_hash,
                                 char **signed_headers)
{
  g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(Pair));
  GString *out = g_string_new(NULL);
  GString *names = g_string_new(NULL);
  g_array_set_clear_func(list, pair_clear);

  for (guint i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2) {
    Pair p = {g_ascii_strdown(headers[i], -1), canonical_value(headers[i + 1])};
    g_array_append_val(list, p);
  }
  /* A stable sort by name keeps repeated headers in the order given, as they were sent. */
  g_array_sort(list, name_cmp);

  g_string_append_printf(out, "%s\n%s\n%s\n", method, (path && *path) ? path : "/",
                         canonical_query ? canonical_query : "");
  for (guint i = 0; i < list->len; i++) {
    const Pair *p = &g_array_index(list, Pair, i);
    if (i > 0 && strcmp(p->name, g_array_index(list, Pair, i - 1).name) == 0) {
      g_string_truncate(out, out->len - 1); /* the previous '\n' */
      g_string_append_printf(out, ",%s\n", p->value);
      continue;
    }
    g_string_append_printf(out, "%s:%s\n", p->name, p->value);
    g_string_append_printf(names, "%s%s", names->len ? ";" : "", p->name);
  }
  g_string_append_printf(out, "\n%s\n%s", names->str, payload_hash);
  if (signed_headers != NULL)
    *signed_headers = g_string_free(names, FALSE);
  else
    g_string_free(names, TRUE);
  return g_string_free(out, FALSE);
}

char *s3_sigv4_scope(const char *amz_date, const char *region, const char *service)
{
  return g_strdup_printf("%.8s/%s/%s/aws4_request", amz_date, region, service);
}

char *s3_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                              const char *canonical_request)
{
  g_autofree char *scope = s3_sigv4_scope(amz_date, region, service);
  g_autofree char *hash = s3_sha256_hex(canonical_request, strlen(canonical_request));
  return g_strdup_printf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
}

char *s3_sigv4_signature(const char *secret, const char *amz_date, const char *region,
                         const char *service, const char *string_to_sign)
{
  g_autofree char *k_secret = g_strconcat("AWS4", secret, NULL);
  char date[9];
  guchar k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
  char *hex;

  g_strlcpy(date, amz_date, sizeof date);
  hmac_sha256(k_secret, strlen(k_secret), date, k_date);
  hmac_sha256(k_date, 32, region, k_region);
  hmac_sha256(k_region, 32, service, k_service);
  hmac_sha256(k_service, 32, "aws4_request", k_signing);
  hmac_sha256(k_signing, 32, string_to_sign, sig);
  hex = hex_encode(sig, 32);
  /* The derived keys are as good as the secret for a day: do not leave them on the stack. */
  memset(k_secret, 0, strlen(k_secret));
  OPENSSL_cleanse(k_date, sizeof k_date);
  OPENSSL_cleanse(k_region, sizeof k_region);
  OPENSSL_cleanse(k_service, sizeof k_service);
  OPENSSL_cleanse(k_signing, sizeof k_signing);
  return hex;
}

char *s3_sigv4_authorization(const char *access_key, const char *secret, const char *region,
                             const char *service, const char *amz_date, const char *method,
                             const char *path, const char *canonical_query,
                             const char *const *headers, const char *payload_hash)
{
  g_autofree char *signed_headers = NULL;
  g_autofree char *creq = s3_sigv4_canonical_request(method, path, canonical_query, headers,
                                                     payload_hash, &signed_headers);
  g_autofree char *sts = s3_sigv4_string_to_sign(amz_date, region, service, creq);
  g_autofree char *sig = s3_sigv4_signature(secret, amz_date, region, service, sts);
  g_autofree char *scope = s3_sigv4_scope(amz_date, region, service);
  return g_strdup_printf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                         access_key, scope, signed_headers, sig);
}
