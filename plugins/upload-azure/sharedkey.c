/* upload-azure — SharedKey signing. See sharedkey.h for the scheme and why it is written here. */
#include "sharedkey.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <string.h>

#include "errors.h"

/* The standard headers, in the order the string to sign lists them. Date is handled apart. */
static const char *const standard_headers[] = {
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
};

typedef struct {
  guchar *data;
  gsize len;
} KeyMem;

static void key_mem_free(gpointer p)
{
  KeyMem *k = p;
  OPENSSL_cleanse(k->data, k->len);
  g_free(k->data);
  g_free(k);
}

GBytes *az_sharedkey_decode_key(const char *key_base64, GError **error)
{
  gsize n, pad = 0, len = 0;
  KeyMem *mem;

  if (key_base64 == NULL || *key_base64 == '\0') {
    g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG, "account_key is empty");
    return NULL;
  }
  /* g_base64_decode() skips what it does not understand; a key pasted with a stray character
   * would then sign with the wrong bytes and fail later as an opaque 403. Check it here. */
  n = strlen(key_base64);
  for (gsize i = 0; i < n; i++) {
    char c = key_base64[i];
    if (c == '=' && i >= n - 2) {
      pad++;
      continue;
    }
    if (pad > 0 || !(g_ascii_isalnum(c) || c == '+' || c == '/')) {
      g_set_error(error, AZ_ERROR, AZ_ERROR_CONFIG,
                  "account_key is not base64 (unexpected character at offset %" G_GSIZE_FORMAT
                  "); it is the storage account's access key as the portal shows it",
                  i);
      return NULL;
    }
  }
  if (n % 4 != 0) {
    g_set_error(
        error, AZ_ERROR, AZ_ERROR_CONFIG,
        "account_key is not base64 (its length, %" G_GSIZE_FORMAT ", is not a multiple of 4)", n);
    return NULL;
  }
  mem = g_new0(KeyMem, 1);
  mem->data = g_base64_decode(key_base64, &len);
  mem->len = len;
  return g_bytes_new_with_free_func(mem->data, mem->len, key_mem_free, mem);
}

/* A header value as the canonical form wants it: trimmed, and each line break with the whitespace
 * that follows it (a folded header) unfolded into one space. */
static char *canonical_value(const char *value)
{
  GString *out = g_string_new(NULL);
  const char *p = value;
  while (*p == ' ' || *p == '\t')
    p++;
  while (*p) {
    if (*p == '\r' || *p == '\n') {
      while (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t')
        p++;
      g_string_append_c(out, ' ');
      continue;
    }
    g_string_append_c(out, *p++);
  }
  while (out->len > 0 && (out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\t'))
    g_string_truncate(out, out->len - 1);
  return g_string_free(out, FALSE);
}

typedef struct {
  char *name;
  char *value;
} Pair;

static void pair_clear(gpointer p)
{
  Pair *x = p;
  g_free(x->name);
  g_free(x->value);
}

/* Byte order, which is what "lexicographically" means for the ASCII names involved. */
static gint pair_cmp(gconstpointer a, gconstpointer b)
{
  const Pair *x = a, *y = b;
  gint c = strcmp(x->name, y->name);
  return c != 0 ? c : strcmp(x->value, y->value);
}

static void append_canonical_headers(GString *s, const AzRequest *req)
{
  g_autoptr(GArray) xms = g_array_new(FALSE, TRUE, sizeof(Pair));
  g_array_set_clear_func(xms, pair_clear);
  for (guint i = 0; i < req->headers->len; i++) {
    const AzHeader *h = &g_array_index(req->headers, AzHeader, i);
    if (g_ascii_strncasecmp(h->name, "x-ms-", 5) == 0) {
      Pair p = {g_ascii_strdown(h->name, -1), canonical_value(h->value)};
      g_array_append_val(xms, p);
    }
  }
  g_array_sort(xms, pair_cmp);
  for (guint i = 0; i < xms->len; i++) {
    const Pair *p = &g_array_index(xms, Pair, i);
    g_string_append_printf(s, "%s:%s\n", p->name, p->value);
  }
}

/* Percent-decodes without treating '+' as a space. Invalid escapes stay as they are. */
static char *decode_component(const char *s, gsize len)
{
  GString *out = g_string_sized_new(len);
  for (gsize i = 0; i < len; i++) {
    if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) && g_ascii_isxdigit(s[i + 2])) {
      g_string_append_c(
          out, (char)(g_ascii_xdigit_value(s[i + 1]) * 16 + g_ascii_xdigit_value(s[i + 2])));
      i += 2;
    } else {
      g_string_append_c(out, s[i]);
    }
  }
  return g_string_free(out, FALSE);
}

static void append_canonical_resource(GString *s, const AzRequest *req, const char *account)
{
  g_autoptr(GArray) params = g_array_new(FALSE, TRUE, sizeof(Pair));
  g_array_set_clear_func(params, pair_clear);

  g_string_append_c(s, '/');
  g_string_append(s, account);
  g_string_append(s, req->path);

  if (req->query != NULL && *req->query != '\0') {
    g_auto(GStrv) parts = g_strsplit(req->query, "&", -1);
    for (guint i = 0; parts[i]; i++) {
      const char *eq = strchr(parts[i], '=');
      gsize nlen = eq ? (gsize)(eq - parts[i]) : strlen(parts[i]);
      g_autofree char *name = decode_component(parts[i], nlen);
      Pair p;
      if (*parts[i] == '\0')
        continue;
      p.name = g_ascii_strdown(name, -1);
      p.value = eq ? decode_component(eq + 1, strlen(eq + 1)) : g_strdup("");
      g_array_append_val(params, p);
    }
  }
  /* Sorted by name, then value: a parameter given twice becomes one line with its values in
   * order, comma-joined. */
  g_array_sort(params, pair_cmp);
  for (guint i = 0; i < params->len; i++) {
    const Pair *p = &g_array_index(params, Pair, i);
    if (i > 0 && strcmp(p->name, g_array_index(params, Pair, i - 1).name) == 0) {
      g_string_append_c(s, ',');
    } else {
      g_string_append_printf(s, "\n%s:", p->name);
    }
    g_string_append(s, p->value);
  }
}

char *az_sharedkey_string_to_sign(const AzRequest *req, const char *account)
{
  GString *s = g_string_new(req->method);
  gboolean has_xms_date = az_request_get_header(req, "x-ms-date") != NULL;
  g_string_append_c(s, '\n');
  for (guint i = 0; i < G_N_ELEMENTS(standard_headers); i++) {
    const char *name = standard_headers[i];
    const char *v = az_request_get_header(req, name);
    if (v != NULL && strcmp(name, "Content-Length") == 0 && strcmp(v, "0") == 0)
      v = NULL; /* "empty if 0" since version 2015-02-21 */
    if (v != NULL && strcmp(name, "Date") == 0 && has_xms_date)
      v = NULL;
    if (v != NULL) {
      g_autofree char *cv = canonical_value(v);
      g_string_append(s, cv);
    }
    g_string_append_c(s, '\n');
  }
  append_canonical_headers(s, req);
  append_canonical_resource(s, req, account);
  return g_string_free(s, FALSE);
}

char *az_sharedkey_signature(GBytes *key, const char *string_to_sign)
{
  guchar mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  gsize key_len;
  const guchar *key_data = g_bytes_get_data(key, &key_len);
  if (HMAC(EVP_sha256(), key_data, (int)key_len, (const guchar *)string_to_sign,
           strlen(string_to_sign), mac, &mac_len) == NULL)
    g_error("HMAC-SHA256 failed"); /* only on allocation failure inside OpenSSL */
  return g_base64_encode(mac, mac_len);
}

void az_sharedkey_authorize(AzRequest *req, const char *account, GBytes *key, GDateTime *now)
{
  g_autofree char *date = az_http_date(now);
  g_autofree char *sts = NULL;
  g_autofree char *sig = NULL;
  g_autofree char *auth = NULL;
  az_request_set_header(req, "x-ms-date", date);
  az_request_remove_header(req, "Authorization");
  sts = az_sharedkey_string_to_sign(req, account);
  sig = az_sharedkey_signature(key, sts);
  auth = g_strdup_printf("SharedKey %s:%s", account, sig);
  az_request_set_header(req, "Authorization", auth);
}
