/* HS256 JWTs as LiveKit issues them. See jwt.h. */
#include "jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

GQuark sl_jwt_error_quark(void)
{
  return g_quark_from_static_string("sl-jwt-error-quark");
}

/* Claims are small objects; deeper nesting than this is an attack on json-glib's recursion. */
#define MAX_CLAIMS_DEPTH 32

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *sl_jwt_base64url_encode(const void *data, gsize len)
{
  const guint8 *in = data;
  GString *out = g_string_sized_new(len * 4 / 3 + 4);
  gsize i = 0;
  for (; i + 3 <= len; i += 3) {
    guint32 v = (guint32)in[i] << 16 | (guint32)in[i + 1] << 8 | in[i + 2];
    g_string_append_c(out, b64url_alphabet[(v >> 18) & 63]);
    g_string_append_c(out, b64url_alphabet[(v >> 12) & 63]);
    g_string_append_c(out, b64url_alphabet[(v >> 6) & 63]);
    g_string_append_c(out, b64url_alphabet[v & 63]);
  }
  if (len - i == 1) {
    guint32 v = (guint32)in[i] << 16;
    g_string_append_c(out, b64url_alphabet[(v >> 18) & 63]);
    g_string_append_c(out, b64url_alphabet[(v >> 12) & 63]);
  } else if (len - i == 2) {
    guint32 v = (guint32)in[i] << 16 | (guint32)in[i + 1] << 8;
    g_string_append_c(out, b64url_alphabet[(v >> 18) & 63]);
    g_string_append_c(out, b64url_alphabet[(v >> 12) & 63]);
    g_string_append_c(out, b64url_alphabet[(v >> 6) & 63]);
  }
  return g_string_free(out, FALSE);
}

static int b64url_value(char ch)
{
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '-')
    return 62;
  if (ch == '_')
    return 63;
  return -1;
}

GBytes *sl_jwt_base64url_decode(const char *text, gsize len)
{
  g_autoptr(GByteArray) out = NULL;
  guint32 acc = 0;
  int bits = 0;
  if (len % 4 == 1)
    return NULL;
  out = g_byte_array_sized_new(len * 3 / 4 + 1);
  for (gsize i = 0; i < len; i++) {
    int v = b64url_value(text[i]);
    if (v < 0)
      return NULL;
    acc = (acc << 6) | (guint32)v;
    bits += 6;
    if (bits >= 8) {
      guint8 byte = (guint8)(acc >> (bits - 8));
      bits -= 8;
      g_byte_array_append(out, &byte, 1);
    }
  }
  /* Leftover bits must be zero: otherwise several texts decode alike and a signature could be
   * re-spelled without changing what it verifies as. */
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return NULL;
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static gboolean nesting_within(const char *data, gsize len, guint max)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    if (in_string) {
      if (data[i] == '\\')
        i++;
      else if (data[i] == '"')
        in_string = FALSE;
    } else if (data[i] == '"') {
      in_string = TRUE;
    } else if (data[i] == '{' || data[i] == '[') {
      if (++depth > max)
        return FALSE;
    } else if ((data[i] == '}' || data[i] == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

/* Decodes one base64url JWT segment holding a JSON object. */
static JsonObject *decode_json_segment(const char *seg, gsize len)
{
  g_autoptr(GBytes) raw = sl_jwt_base64url_decode(seg, len);
  g_autoptr(JsonParser) parser = NULL;
  const char *data;
  gsize n;
  JsonNode *root;
  if (raw == NULL)
    return NULL;
  data = g_bytes_get_data(raw, &n);
  if (n == 0 || memchr(data, '\0', n) != NULL || !g_utf8_validate(data, (gssize)n, NULL) ||
      !nesting_within(data, n, MAX_CLAIMS_DEPTH))
    return NULL;
  parser = json_parser_new_immutable();
  if (!json_parser_load_from_data(parser, data, (gssize)n, NULL))
    return NULL;
  root = json_parser_get_root(parser);
  if (root == NULL || JSON_NODE_TYPE(root) != JSON_NODE_OBJECT)
    return NULL;
  return json_object_ref(json_node_get_object(root));
}

static gboolean hmac_sha256(const char *secret, const char *data, gsize len, guint8 out[32])
{
  unsigned int out_len = 0;
  gsize key_len = strlen(secret);
  if (key_len > G_MAXINT)
    return FALSE;
  if (HMAC(EVP_sha256(), secret, (int)key_len, (const unsigned char *)data, len, out, &out_len) ==
      NULL)
    return FALSE;
  return out_len == 32;
}

/* A NumericDate claim (RFC 7519 §2): integer or fractional seconds. */
static gboolean numeric_claim(JsonObject *claims, const char *name, gboolean *present, gint64 *out)
{
  JsonNode *node = json_object_get_member(claims, name);
  GType t;
  *present = node != NULL && JSON_NODE_TYPE(node) != JSON_NODE_NULL;
  if (!*present)
    return TRUE;
  if (JSON_NODE_TYPE(node) != JSON_NODE_VALUE)
    return FALSE;
  t = json_node_get_value_type(node);
  if (t == G_TYPE_INT64) {
    *out = json_node_get_int(node);
    return TRUE;
  }
  if (t == G_TYPE_DOUBLE) {
    double d = json_node_get_double(node);
    if (!(d > -1e15 && d < 1e15)) /* also false for NaN */
      return FALSE;
    *out = (gint64)d;
    return TRUE;
  }
  return FALSE;
}

static gboolean fail(GError **error, const char *msg)
{
  g_set_error_literal(error, SL_JWT_ERROR, SL_JWT_ERROR_UNAUTHENTICATED, msg);
  return FALSE;
}

gboolean sl_jwt_verify(const char *token, SlJwtKeyLookup lookup, gpointer user_data, gint64 now_s,
                       JsonObject **out_claims, GError **error)
{
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(GBytes) sig = NULL;
  const char *dot1, *dot2, *alg, *iss, *secret;
  gsize len;
  guint8 expected[32];
  gboolean present;
  gint64 exp = 0, nbf = 0;

  if (out_claims != NULL)
    *out_claims = NULL;
  if (token == NULL || token[0] == '\0')
    return fail(error, "missing token");
  len = strnlen(token, SL_JWT_MAX_TOKEN_LEN + 1);
  if (len > SL_JWT_MAX_TOKEN_LEN)
    return fail(error, "token too long");
  dot1 = memchr(token, '.', len);
  dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (gsize)(dot1 + 1 - token)) : NULL;
  if (dot2 == NULL || memchr(dot2 + 1, '.', len - (gsize)(dot2 + 1 - token)) != NULL)
    return fail(error, "token is not a JWS compact serialization");

  header = decode_json_segment(token, (gsize)(dot1 - token));
  if (header == NULL)
    return fail(error, "token header is not base64url JSON");
  /* Only HS256: the algorithm is ours to choose, never the token's. */
  alg = json_object_get_string_member_with_default(header, "alg", NULL);
  if (alg == NULL || strcmp(alg, "HS256") != 0)
    return fail(error, "token algorithm must be HS256");
  if (json_object_has_member(header, "crit"))
    return fail(error, "token has critical header parameters");

  claims = decode_json_segment(dot1 + 1, (gsize)(dot2 - dot1 - 1));
  if (claims == NULL)
    return fail(error, "token claims are not base64url JSON");
  {
    JsonNode *n = json_object_get_member(claims, "iss");
    iss = n != NULL && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
              ? json_node_get_string(n)
              : NULL;
  }
  if (iss == NULL || iss[0] == '\0')
    return fail(error, "token has no issuer (API key)");
  secret = lookup != NULL ? lookup(iss, user_data) : NULL;
  if (secret == NULL)
    return fail(error, "unknown API key");

  sig = sl_jwt_base64url_decode(dot2 + 1, len - (gsize)(dot2 + 1 - token));
  if (sig == NULL || g_bytes_get_size(sig) != sizeof expected)
    return fail(error, "invalid token signature");
  if (!hmac_sha256(secret, token, (gsize)(dot2 - token), expected))
    return fail(error, "could not compute the token signature");
  if (CRYPTO_memcmp(expected, g_bytes_get_data(sig, NULL), sizeof expected) != 0)
    return fail(error, "invalid token signature");

  if (!numeric_claim(claims, "exp", &present, &exp))
    return fail(error, "token exp is not a number");
  if (!present)
    return fail(error, "token has no expiry");
  if (now_s - SL_JWT_LEEWAY_S > exp)
    return fail(error, "token expired");
  if (!numeric_claim(claims, "nbf", &present, &nbf))
    return fail(error, "token nbf is not a number");
  if (present && now_s + SL_JWT_LEEWAY_S < nbf)
    return fail(error, "token not valid yet");

  if (out_claims != NULL)
    *out_claims = g_steal_pointer(&claims);
  return TRUE;
}

char *sl_jwt_sign(JsonObject *claims, const char *api_key, const char *secret, GError **error)
{
  static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  g_autoptr(JsonObject) payload = json_object_new();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *payload_json = NULL;
  g_autofree char *h = NULL;
  g_autofree char *p = NULL;
  g_autofree char *signing_input = NULL;
  g_autofree char *s = NULL;
  guint8 mac[32];

  if (api_key == NULL || api_key[0] == '\0' || secret == NULL || secret[0] == '\0') {
    g_set_error_literal(error, SL_JWT_ERROR, SL_JWT_ERROR_INVALID,
                        "signing needs an API key and a secret");
    return NULL;
  }
  if (claims != NULL) {
    JsonObjectIter iter;
    const char *name;
    JsonNode *value;
    json_object_iter_init(&iter, claims);
    while (json_object_iter_next(&iter, &name, &value)) {
      if (strcmp(name, "iss") != 0)
        json_object_set_member(payload, name, json_node_copy(value));
    }
  }
  json_object_set_string_member(payload, "iss", api_key);
  if (!json_object_has_member(payload, "exp")) {
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    if (!json_object_has_member(payload, "nbf"))
      json_object_set_int_member(payload, "nbf", now);
    json_object_set_int_member(payload, "exp", now + SL_JWT_DEFAULT_TTL_S);
  }
  root = json_node_init_object(json_node_alloc(), payload);
  payload_json = json_to_string(root, FALSE);

  h = sl_jwt_base64url_encode(header_json, strlen(header_json));
  p = sl_jwt_base64url_encode(payload_json, strlen(payload_json));
  signing_input = g_strconcat(h, ".", p, NULL);
  if (!hmac_sha256(secret, signing_input, strlen(signing_input), mac)) {
    g_set_error_literal(error, SL_JWT_ERROR, SL_JWT_ERROR_INVALID,
                        "could not compute the token signature");
    return NULL;
  }
  s = sl_jwt_base64url_encode(mac, sizeof mac);
  return g_strconcat(signing_input, ".", s, NULL);
}

char *sl_jwt_sha256_b64(const void *data, gsize len)
{
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1)
    return NULL;
  return g_base64_encode(md, md_len);
}

gboolean sl_jwt_has_video_grant(JsonObject *claims, const char *grant)
{
  JsonNode *video, *node;
  if (claims == NULL || grant == NULL)
    return FALSE;
  video = json_object_get_member(claims, "video");
  if (video == NULL || JSON_NODE_TYPE(video) != JSON_NODE_OBJECT)
    return FALSE;
  node = json_object_get_member(json_node_get_object(video), grant);
  return node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
         json_node_get_value_type(node) == G_TYPE_BOOLEAN && json_node_get_boolean(node);
}

gboolean sl_jwt_require_video_grant(JsonObject *claims, const char *grant, GError **error)
{
  if (sl_jwt_has_video_grant(claims, grant))
    return TRUE;
  g_set_error(error, SL_JWT_ERROR, SL_JWT_ERROR_PERMISSION_DENIED,
              "permission denied: the token lacks the %s grant", grant);
  return FALSE;
}
