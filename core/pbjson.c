/* Protobuf JSON reading and writing over the generated descriptor table. See pbjson.h. */
#include "pbjson.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

GQuark sl_pbjson_error_quark(void)
{
  return g_quark_from_static_string("sl-pbjson-error-quark");
}

/* ---- lookups ---------------------------------------------------------------------------- */

static int cmp_message_name(const void *key, const void *elem)
{
  return strcmp(key, (*(const SlPbMessage *const *)elem)->full_name);
}

static int cmp_enum_name(const void *key, const void *elem)
{
  return strcmp(key, (*(const SlPbEnum *const *)elem)->full_name);
}

const SlPbMessage *sl_pbjson_find_message(const char *full_name)
{
  const SlPbMessage *const *hit;
  if (full_name == NULL)
    return NULL;
  hit = bsearch(full_name, sl_pb_messages, sl_pb_n_messages, sizeof(sl_pb_messages[0]),
                cmp_message_name);
  return hit != NULL ? *hit : NULL;
}

const SlPbEnum *sl_pbjson_find_enum(const char *full_name)
{
  const SlPbEnum *const *hit;
  if (full_name == NULL)
    return NULL;
  hit = bsearch(full_name, sl_pb_enums, sl_pb_n_enums, sizeof(sl_pb_enums[0]), cmp_enum_name);
  return hit != NULL ? *hit : NULL;
}

const SlPbField *sl_pbjson_find_field(const SlPbMessage *type, const char *name)
{
  for (guint i = 0; i < type->n_fields; i++) {
    if (strcmp(type->fields[i].name, name) == 0 || strcmp(type->fields[i].json_name, name) == 0)
      return &type->fields[i];
  }
  return NULL;
}

const char *sl_pbjson_enum_name(const SlPbEnum *type, gint64 number)
{
  for (guint i = 0; i < type->n_values; i++) {
    if (type->values[i].number == number)
      return type->values[i].name;
  }
  return NULL;
}

gboolean sl_pbjson_enum_value(const SlPbEnum *type, const char *name, gint64 *out_number)
{
  for (guint i = 0; i < type->n_values; i++) {
    if (strcmp(type->values[i].name, name) == 0) {
      *out_number = type->values[i].number;
      return TRUE;
    }
  }
  return FALSE;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
  SlPbjsonFlags flags;
  GString *path; /* "video.options.layers[1]", for error messages */
  guint depth;
  gboolean from_text; /* number nodes came from JSON text, where none is infinite or NaN */
} ReadCtx;

static void fail(ReadCtx *c, GError **error, SlPbjsonError code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

void sl_pbjson_error_at(GError **error, SlPbjsonError code, const GString *path, const char *fmt,
                        va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  if (path != NULL && path->len > 0)
    g_set_error(error, SL_PBJSON_ERROR, code, "%s: %s", path->str, msg);
  else
    g_set_error_literal(error, SL_PBJSON_ERROR, code, msg);
}

static void fail(ReadCtx *c, GError **error, SlPbjsonError code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  sl_pbjson_error_at(error, code, c->path, fmt, ap);
  va_end(ap);
}

static const char *node_kind(JsonNode *node)
{
  switch (JSON_NODE_TYPE(node)) {
  case JSON_NODE_OBJECT:
    return "an object";
  case JSON_NODE_ARRAY:
    return "an array";
  case JSON_NODE_NULL:
    return "null";
  case JSON_NODE_VALUE:
    break;
  }
  switch (json_node_get_value_type(node)) {
  case G_TYPE_STRING:
    return "a string";
  case G_TYPE_BOOLEAN:
    return "a boolean";
  default:
    return "a number";
  }
}

static gboolean is_number_node(JsonNode *node)
{
  GType t;
  if (JSON_NODE_TYPE(node) != JSON_NODE_VALUE)
    return FALSE;
  t = json_node_get_value_type(node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

static gboolean is_string_node(JsonNode *node)
{
  return JSON_NODE_TYPE(node) == JSON_NODE_VALUE && json_node_get_value_type(node) == G_TYPE_STRING;
}

/* JSON's number grammar, which protobuf JSON also requires inside quoted numbers: no '+', no
 * leading zeros, no hex, no "inf". Sets *integral when there is no fraction or exponent. */
static gboolean json_number_syntax(const char *s, gboolean *integral)
{
  const char *p = s;
  *integral = TRUE;
  if (*p == '-')
    p++;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (g_ascii_isdigit(*p))
      p++;
  else
    return FALSE;
  if (*p == '.') {
    *integral = FALSE;
    p++;
    if (!g_ascii_isdigit(*p))
      return FALSE;
    while (g_ascii_isdigit(*p))
      p++;
  }
  if (*p == 'e' || *p == 'E') {
    *integral = FALSE;
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!g_ascii_isdigit(*p))
      return FALSE;
    while (g_ascii_isdigit(*p))
      p++;
  }
  return *p == '\0';
}

static gboolean scalar_is_unsigned(SlPbScalar s)
{
  return s == SL_PB_UINT32 || s == SL_PB_FIXED32 || s == SL_PB_UINT64 || s == SL_PB_FIXED64;
}

static gboolean scalar_is_64bit(SlPbScalar s)
{
  return s == SL_PB_INT64 || s == SL_PB_UINT64 || s == SL_PB_FIXED64 || s == SL_PB_SFIXED64 ||
         s == SL_PB_SINT64;
}

static void int_range(SlPbScalar s, gint64 *lo, gint64 *hi)
{
  switch (s) {
  case SL_PB_INT32:
  case SL_PB_SINT32:
  case SL_PB_SFIXED32:
    *lo = G_MININT32;
    *hi = G_MAXINT32;
    break;
  case SL_PB_UINT32:
  case SL_PB_FIXED32:
    *lo = 0;
    *hi = G_MAXUINT32;
    break;
  case SL_PB_UINT64:
  case SL_PB_FIXED64:
    /* The normalised form holds integers as gint64; no LiveKit field needs more. */
    *lo = 0;
    *hi = G_MAXINT64;
    break;
  default:
    *lo = G_MININT64;
    *hi = G_MAXINT64;
    break;
  }
}

/* A double that names an integer exactly, within [lo, hi]. */
static gboolean double_to_int(double d, gint64 lo, gint64 hi, gint64 *out)
{
  /* 2^63 as a double. -2^63 itself is a gint64, but an integer literal longer than 64 bits (read
   * as a double, see json_text_checked) may have rounded to it, so it is refused here; written
   * as an integer it arrives as an integer node and is taken. */
  const double limit = 9223372036854775808.0;
  if (!isfinite(d) || d != floor(d) || d >= limit || d <= -limit)
    return FALSE;
  if ((gint64)d < lo || (gint64)d > hi)
    return FALSE;
  *out = (gint64)d;
  return TRUE;
}

static gboolean read_integer(ReadCtx *c, SlPbScalar s, JsonNode *node, gint64 *out, GError **error)
{
  gint64 lo, hi;
  int_range(s, &lo, &hi);
  if (is_number_node(node)) {
    if (json_node_get_value_type(node) == G_TYPE_INT64) {
      gint64 v = json_node_get_int(node);
      if (v >= lo && v <= hi) {
        *out = v;
        return TRUE;
      }
    } else if (double_to_int(json_node_get_double(node), lo, hi, out)) {
      return TRUE;
    }
    fail(c, error, SL_PBJSON_ERROR_INVALID, "number out of range or not an integer");
    return FALSE;
  }
  if (is_string_node(node)) {
    const char *str = json_node_get_string(node);
    gboolean integral;
    if (!json_number_syntax(str, &integral)) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "\"%s\" is not a number",
           strlen(str) > 40 ? "…" : str);
      return FALSE;
    }
    if (integral) {
      if (str[0] == '-') {
        gint64 v;
        if (!scalar_is_unsigned(s) && g_ascii_string_to_signed(str, 10, lo, hi, &v, NULL)) {
          *out = v;
          return TRUE;
        }
      } else {
        guint64 v;
        if (g_ascii_string_to_unsigned(str, 10, 0, (guint64)hi, &v, NULL)) {
          *out = (gint64)v;
          return TRUE;
        }
      }
    } else {
      /* "1e3" and "5.0" name integers too; beyond 2^53 a double no longer does so exactly. */
      double d = g_ascii_strtod(str, NULL);
      if (fabs(d) <= 9007199254740992.0 && double_to_int(d, lo, hi, out))
        return TRUE;
    }
    fail(c, error, SL_PBJSON_ERROR_INVALID, "number out of range or not an integer");
    return FALSE;
  }
  fail(c, error, SL_PBJSON_ERROR_INVALID, "expected an integer, got %s", node_kind(node));
  return FALSE;
}

static gboolean read_float(ReadCtx *c, SlPbScalar s, JsonNode *node, double *out, GError **error)
{
  double d;
  if (is_number_node(node)) {
    d = json_node_get_value_type(node) == G_TYPE_INT64 ? (double)json_node_get_int(node)
                                                       : json_node_get_double(node);
  } else if (is_string_node(node)) {
    const char *str = json_node_get_string(node);
    gboolean integral;
    if (strcmp(str, "NaN") == 0)
      d = NAN;
    else if (strcmp(str, "Infinity") == 0)
      d = INFINITY;
    else if (strcmp(str, "-Infinity") == 0)
      d = -INFINITY;
    else if (json_number_syntax(str, &integral))
      d = g_ascii_strtod(str, NULL);
    else {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "\"%s\" is not a number",
           strlen(str) > 40 ? "…" : str);
      return FALSE;
    }
  } else {
    fail(c, error, SL_PBJSON_ERROR_INVALID, "expected a number, got %s", node_kind(node));
    return FALSE;
  }
  /* In JSON text a literal too large for a double overflows to infinity; only the names above
   * may mean it there. (A handler's own double may hold anything.) */
  if (c->from_text && is_number_node(node) && !isfinite(d)) {
    fail(c, error, SL_PBJSON_ERROR_INVALID, "number out of range");
    return FALSE;
  }
  if (s == SL_PB_FLOAT && isfinite(d)) {
    if (fabs(d) > FLT_MAX) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "number out of range for a float");
      return FALSE;
    }
    d = (float)d;
  }
  *out = d;
  return TRUE;
}

static int b64_digit(char ch)
{
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+' || ch == '-')
    return 62;
  if (ch == '/' || ch == '_')
    return 63;
  return -1;
}

/* Standard or URL-safe base64, padded or not (protobuf JSON takes either) → the raw bytes. */
static GBytes *decode_any_base64(const char *s)
{
  gsize len = strlen(s);
  g_autoptr(GByteArray) out = g_byte_array_new();
  guint32 acc = 0;
  int bits = 0;
  while (len > 0 && s[len - 1] == '=')
    len--;
  if (strlen(s) - len > 2 || (strlen(s) != len && strlen(s) % 4 != 0) || len % 4 == 1)
    return NULL;
  for (gsize i = 0; i < len; i++) {
    int d = b64_digit(s[i]);
    if (d < 0)
      return NULL;
    acc = (acc << 6) | (guint32)d;
    bits += 6;
    if (bits >= 8) {
      guint8 byte = (guint8)(acc >> (bits - 8));
      bits -= 8;
      g_byte_array_append(out, &byte, 1);
    }
  }
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static JsonObject *read_message(ReadCtx *c, const SlPbMessage *type, JsonObject *in,
                                GError **error);

/* One value of `f` (an element, for repeated fields and maps); NULL with `error` set. */
static JsonNode *read_value(ReadCtx *c, const SlPbField *f, JsonNode *node, GError **error)
{
  JsonNode *out = NULL;

  if (f->kind == SL_PB_KIND_MESSAGE) {
    JsonObject *obj;
    if (JSON_NODE_TYPE(node) != JSON_NODE_OBJECT) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected an object (%s), got %s",
           f->message->full_name, node_kind(node));
      return NULL;
    }
    obj = read_message(c, f->message, json_node_get_object(node), error);
    if (obj == NULL)
      return NULL;
    out = json_node_init_object(json_node_alloc(), obj);
    json_object_unref(obj);
    return out;
  }

  if (f->kind == SL_PB_KIND_ENUM) {
    gint64 number;
    if (is_string_node(node)) {
      const char *name = json_node_get_string(node);
      if (!sl_pbjson_enum_value(f->enum_type, name, &number)) {
        fail(c, error, SL_PBJSON_ERROR_INVALID, "\"%s\" is not a value of %s",
             strlen(name) > 64 ? "…" : name, f->enum_type->full_name);
        return NULL;
      }
    } else if (is_number_node(node)) {
      /* Enums are open in proto3: any int32 is kept, named or not. */
      gboolean ok =
          json_node_get_value_type(node) == G_TYPE_INT64
              ? (number = json_node_get_int(node), number >= G_MININT32 && number <= G_MAXINT32)
              : double_to_int(json_node_get_double(node), G_MININT32, G_MAXINT32, &number);
      if (!ok) {
        fail(c, error, SL_PBJSON_ERROR_INVALID, "enum number out of range");
        return NULL;
      }
    } else {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected a %s name or number, got %s",
           f->enum_type->full_name, node_kind(node));
      return NULL;
    }
    out = json_node_alloc();
    json_node_init_int(out, number);
    return out;
  }

  switch ((SlPbScalar)f->scalar) {
  case SL_PB_STRING:
    if (!is_string_node(node)) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected a string, got %s", node_kind(node));
      return NULL;
    }
    if (!g_utf8_validate(json_node_get_string(node), -1, NULL)) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "string is not valid UTF-8");
      return NULL;
    }
    return json_node_init_string(json_node_alloc(), json_node_get_string(node));
  case SL_PB_BOOL:
    if (JSON_NODE_TYPE(node) != JSON_NODE_VALUE ||
        json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected true or false, got %s", node_kind(node));
      return NULL;
    }
    return json_node_init_boolean(json_node_alloc(), json_node_get_boolean(node));
  case SL_PB_BYTES: {
    g_autoptr(GBytes) raw = NULL;
    g_autofree char *canonical = NULL;
    gsize n;
    if (!is_string_node(node)) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected a base64 string, got %s", node_kind(node));
      return NULL;
    }
    raw = decode_any_base64(json_node_get_string(node));
    if (raw == NULL) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "not base64");
      return NULL;
    }
    canonical = g_base64_encode(g_bytes_get_data(raw, &n), g_bytes_get_size(raw));
    return json_node_init_string(json_node_alloc(), canonical);
  }
  case SL_PB_DOUBLE:
  case SL_PB_FLOAT: {
    double d;
    if (!read_float(c, f->scalar, node, &d, error))
      return NULL;
    return json_node_init_double(json_node_alloc(), d);
  }
  default: {
    gint64 v;
    if (!read_integer(c, f->scalar, node, &v, error))
      return NULL;
    return json_node_init_int(json_node_alloc(), v);
  }
  }
}

/* proto3 leaves a plain scalar at its default out of the struct, and so out of the JSON. */
static gboolean is_default_value(const SlPbField *f, JsonNode *node)
{
  if (f->kind == SL_PB_KIND_MESSAGE)
    return FALSE;
  if (f->kind == SL_PB_KIND_ENUM)
    return json_node_get_int(node) == 0;
  switch ((SlPbScalar)f->scalar) {
  case SL_PB_STRING:
  case SL_PB_BYTES:
    return json_node_get_string(node)[0] == '\0';
  case SL_PB_BOOL:
    return !json_node_get_boolean(node);
  case SL_PB_DOUBLE:
  case SL_PB_FLOAT:
    /* -0 counts as 0, as protobuf-es counts it (Go keeps it apart); JSON text cannot carry the
     * difference through json-glib anyway, which reads "-0" as the integer 0. */
    return json_node_get_double(node) == 0;
  default:
    return json_node_get_int(node) == 0;
  }
}

/* A map key in its JSON spelling, checked against the key type and written canonically. */
static char *read_map_key(ReadCtx *c, const SlPbField *f, const char *key, GError **error)
{
  if (f->map_key == SL_PB_STRING) {
    if (!g_utf8_validate(key, -1, NULL)) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "map key is not valid UTF-8");
      return NULL;
    }
    return g_strdup(key);
  }
  if (f->map_key == SL_PB_BOOL) {
    if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "map key must be true or false");
      return NULL;
    }
    return g_strdup(key);
  }
  {
    gint64 v;
    g_autoptr(JsonNode) tmp = json_node_init_string(json_node_alloc(), key);
    if (!read_integer(c, f->map_key, tmp, &v, error))
      return NULL;
    return g_strdup_printf("%" G_GINT64_FORMAT, v);
  }
}

static JsonNode *read_field(ReadCtx *c, const SlPbField *f, JsonNode *node, GError **error)
{
  if (f->flags & SL_PB_MAP) {
    g_autoptr(JsonObject) out = json_object_new();
    JsonObjectIter iter;
    const char *key;
    JsonNode *value;
    gsize mark = c->path->len;
    if (JSON_NODE_TYPE(node) != JSON_NODE_OBJECT) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected an object (map), got %s", node_kind(node));
      return NULL;
    }
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &key, &value)) {
      g_autofree char *canonical = NULL;
      JsonNode *v;
      g_string_append_printf(c->path, "[\"%s\"]", strlen(key) > 40 ? "…" : key);
      canonical = read_map_key(c, f, key, error);
      if (canonical == NULL)
        return NULL;
      if (json_object_has_member(out, canonical)) {
        fail(c, error, SL_PBJSON_ERROR_INVALID, "duplicate map key");
        return NULL;
      }
      if (JSON_NODE_TYPE(value) == JSON_NODE_NULL) {
        fail(c, error, SL_PBJSON_ERROR_INVALID, "null is not a map value");
        return NULL;
      }
      v = read_value(c, f, value, error);
      if (v == NULL)
        return NULL;
      json_object_set_member(out, canonical, v);
      g_string_truncate(c->path, mark);
    }
    return json_node_init_object(json_node_alloc(), out);
  }

  if (f->flags & SL_PB_REPEATED) {
    g_autoptr(JsonArray) out = json_array_new();
    JsonArray *in;
    gsize mark = c->path->len;
    if (JSON_NODE_TYPE(node) != JSON_NODE_ARRAY) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "expected an array, got %s", node_kind(node));
      return NULL;
    }
    in = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(in); i++) {
      JsonNode *elem = json_array_get_element(in, i);
      JsonNode *v;
      g_string_append_printf(c->path, "[%u]", i);
      if (JSON_NODE_TYPE(elem) == JSON_NODE_NULL) {
        fail(c, error, SL_PBJSON_ERROR_INVALID, "null is not a list element");
        return NULL;
      }
      v = read_value(c, f, elem, error);
      if (v == NULL)
        return NULL;
      json_array_add_element(out, v);
      g_string_truncate(c->path, mark);
    }
    return json_node_init_array(json_node_alloc(), out);
  }

  return read_value(c, f, node, error);
}

static JsonObject *read_message(ReadCtx *c, const SlPbMessage *type, JsonObject *in, GError **error)
{
  g_autoptr(JsonObject) out = json_object_new();
  g_autofree gboolean *given = g_new0(gboolean, type->n_fields + 1);
  g_autofree gint *oneof_by = g_new0(gint, type->n_oneofs + 1); /* 1 + field index */
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  gsize mark = c->path->len;

  if (++c->depth > SL_PBJSON_MAX_DEPTH) {
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "nested too deep");
    return NULL;
  }

  json_object_iter_init(&iter, in);
  while (json_object_iter_next(&iter, &key, &node)) {
    const SlPbField *f = sl_pbjson_find_field(type, key);
    JsonNode *value;
    guint idx;

    g_string_append_printf(c->path, "%s%s", mark > 0 ? "." : "",
                           f != NULL ? f->name : (strlen(key) > 64 ? "…" : key));
    if (f == NULL) {
      if (c->flags & SL_PBJSON_STRICT) {
        fail(c, error, SL_PBJSON_ERROR_UNKNOWN_FIELD, "unknown field in %s", type->full_name);
        return NULL;
      }
      g_string_truncate(c->path, mark);
      continue;
    }
    idx = (guint)(f - type->fields);
    if (given[idx]) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "field given twice (as %s and %s)", f->name,
           f->json_name);
      return NULL;
    }
    given[idx] = TRUE;
    /* null means "not set" for every field of these messages. */
    if (JSON_NODE_TYPE(node) == JSON_NODE_NULL) {
      g_string_truncate(c->path, mark);
      continue;
    }
    if (f->oneof >= 0) {
      gint prior = oneof_by[f->oneof];
      if (prior != 0) {
        fail(c, error, SL_PBJSON_ERROR_INVALID, "oneof %s is already set by %s",
             type->oneofs[f->oneof], type->fields[prior - 1].name);
        return NULL;
      }
      oneof_by[f->oneof] = (gint)idx + 1;
    }
    value = read_field(c, f, node, error);
    if (value == NULL)
      return NULL;
    if (f->flags & SL_PB_MAP ? json_object_get_size(json_node_get_object(value)) == 0
        : f->flags & SL_PB_REPEATED
            ? json_array_get_length(json_node_get_array(value)) == 0
            : (f->oneof < 0 && !(f->flags & SL_PB_OPTIONAL) && is_default_value(f, value)))
      json_node_unref(value);
    else
      json_object_set_member(out, f->name, value);
    g_string_truncate(c->path, mark);
  }
  c->depth--;
  return g_steal_pointer(&out);
}

static JsonObject *normalize(const SlPbMessage *type, JsonNode *input, SlPbjsonFlags flags,
                             gboolean from_text, GError **error)
{
  g_autoptr(GString) path = g_string_new(NULL);
  ReadCtx c = {flags, path, 0, from_text};
  if (input == NULL || JSON_NODE_TYPE(input) != JSON_NODE_OBJECT) {
    g_set_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED,
                "expected a JSON object (%s), got %s", type->full_name,
                input == NULL ? "nothing" : node_kind(input));
    return NULL;
  }
  return read_message(&c, type, json_node_get_object(input), error);
}

JsonObject *sl_pbjson_normalize(const SlPbMessage *type, JsonNode *input, SlPbjsonFlags flags,
                                GError **error)
{
  return normalize(type, input, flags, FALSE, error);
}

/* ---- strict JSON text ------------------------------------------------------------------ */

/* json-glib 1.6 reads more than JSON (comments, hex and leading-zero numbers, text after the
 * value), wraps integer literals beyond 64 bits around silently, cuts strings at \u0000, and
 * recurses once per nesting level. So the text is checked against RFC 8259 first, without
 * recursion, and json-glib only ever sees text it reads the way JSON means it: integer literals
 * too long for 64 bits get a ".0" so that json-glib reads them as the doubles they are (a double
 * field may hold 1e20 written out; an integer field then refuses it as out of range). */
typedef struct {
  const char *p;
  const char *end;
  const char *why;
  const char *start;
  GArray *long_ints; /* gsize offsets just past integer literals beyond 64 bits */
} Lexer;

static void skip_ws(Lexer *lx)
{
  while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
    lx->p++;
}

static int hex4(const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d = g_ascii_xdigit_value(p[i]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

static gboolean lex_string(Lexer *lx)
{
  lx->p++; /* the opening quote */
  while (lx->p < lx->end) {
    unsigned char ch = (unsigned char)*lx->p;
    if (ch == '"') {
      lx->p++;
      return TRUE;
    }
    if (ch < 0x20) {
      lx->why = "control character in a string";
      return FALSE;
    }
    if (ch != '\\') {
      lx->p++;
      continue;
    }
    if (lx->end - lx->p < 2) {
      break;
    }
    ch = (unsigned char)lx->p[1];
    if (strchr("\"\\/bfnrt", ch) != NULL && ch != '\0') {
      lx->p += 2;
      continue;
    }
    if (ch != 'u' || lx->end - lx->p < 6 || hex4(lx->p + 2) < 0) {
      lx->why = "bad escape in a string";
      return FALSE;
    }
    {
      int u = hex4(lx->p + 2);
      lx->p += 6;
      if (u == 0) {
        lx->why = "\\u0000 in a string";
        return FALSE;
      }
      if (u >= 0xDC00 && u <= 0xDFFF) {
        lx->why = "unpaired surrogate in a string";
        return FALSE;
      }
      if (u >= 0xD800 && u <= 0xDBFF) {
        int low =
            lx->end - lx->p >= 6 && lx->p[0] == '\\' && lx->p[1] == 'u' ? hex4(lx->p + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF) {
          lx->why = "unpaired surrogate in a string";
          return FALSE;
        }
        lx->p += 6;
      }
    }
  }
  lx->why = "unterminated string";
  return FALSE;
}

static gboolean lex_number(Lexer *lx)
{
  const char *start = lx->p;
  const char *digits;
  gboolean integral = TRUE;
  if (*lx->p == '-')
    lx->p++;
  digits = lx->p;
  if (lx->p < lx->end && *lx->p == '0') {
    lx->p++;
  } else if (lx->p < lx->end && *lx->p >= '1' && *lx->p <= '9') {
    while (lx->p < lx->end && g_ascii_isdigit(*lx->p))
      lx->p++;
  } else {
    lx->why = "bad number";
    return FALSE;
  }
  if (lx->p < lx->end && *lx->p == '.') {
    integral = FALSE;
    lx->p++;
    if (lx->p >= lx->end || !g_ascii_isdigit(*lx->p)) {
      lx->why = "bad number";
      return FALSE;
    }
    while (lx->p < lx->end && g_ascii_isdigit(*lx->p))
      lx->p++;
  }
  if (lx->p < lx->end && (*lx->p == 'e' || *lx->p == 'E')) {
    integral = FALSE;
    lx->p++;
    if (lx->p < lx->end && (*lx->p == '+' || *lx->p == '-'))
      lx->p++;
    if (lx->p >= lx->end || !g_ascii_isdigit(*lx->p)) {
      lx->why = "bad number";
      return FALSE;
    }
    while (lx->p < lx->end && g_ascii_isdigit(*lx->p))
      lx->p++;
  }
  if (integral) {
    /* json-glib would wrap these around; Go's protojson calls them out of range. */
    const char *limit = start[0] == '-' ? "9223372036854775808" : "9223372036854775807";
    gsize n = (gsize)(lx->p - digits);
    if (n > 19 || (n == 19 && memcmp(digits, limit, 19) > 0)) {
      gsize at = (gsize)(lx->p - lx->start);
      g_array_append_val(lx->long_ints, at);
    }
  }
  return TRUE;
}

static gboolean lex_literal(Lexer *lx, const char *word)
{
  gsize n = strlen(word);
  if ((gsize)(lx->end - lx->p) < n || memcmp(lx->p, word, n) != 0) {
    lx->why = "unexpected character";
    return FALSE;
  }
  lx->p += n;
  return TRUE;
}

static gboolean lex_key(Lexer *lx)
{
  skip_ws(lx);
  if (lx->p >= lx->end || *lx->p != '"') {
    lx->why = "expected a member name";
    return FALSE;
  }
  if (!lex_string(lx))
    return FALSE;
  skip_ws(lx);
  if (lx->p >= lx->end || *lx->p != ':') {
    lx->why = "expected ':'";
    return FALSE;
  }
  lx->p++;
  return TRUE;
}

/* Checks `data`; on success returns the text json-glib should read (transfer full). */
static char *json_text_checked(const char *data, gsize len, GError **error)
{
  g_autoptr(GArray) long_ints = g_array_new(FALSE, FALSE, sizeof(gsize));
  Lexer lx = {data, data + len, NULL, data, long_ints};
  char stack[SL_PBJSON_MAX_DEPTH];
  guint depth = 0;

  skip_ws(&lx);
  for (;;) {
    /* A value starts here. */
    if (lx.p >= lx.end) {
      lx.why = "unexpected end of text";
      goto bad;
    }
    switch (*lx.p) {
    case '{':
    case '[':
      if (depth == SL_PBJSON_MAX_DEPTH) {
        g_set_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED,
                    "JSON nested deeper than %d levels", SL_PBJSON_MAX_DEPTH);
        return NULL;
      }
      stack[depth++] = *lx.p++;
      skip_ws(&lx);
      if (lx.p < lx.end && *lx.p == (stack[depth - 1] == '{' ? '}' : ']')) {
        lx.p++;
        depth--;
        break;
      }
      if (stack[depth - 1] == '{' && !lex_key(&lx))
        goto bad;
      skip_ws(&lx);
      continue;
    case '"':
      if (!lex_string(&lx))
        goto bad;
      break;
    case 't':
      if (!lex_literal(&lx, "true"))
        goto bad;
      break;
    case 'f':
      if (!lex_literal(&lx, "false"))
        goto bad;
      break;
    case 'n':
      if (!lex_literal(&lx, "null"))
        goto bad;
      break;
    default:
      if (*lx.p != '-' && !g_ascii_isdigit(*lx.p)) {
        lx.why = "unexpected character";
        goto bad;
      }
      if (!lex_number(&lx))
        goto bad;
      break;
    }
    /* A value ended: close containers, or go on to the next element. */
    for (;;) {
      skip_ws(&lx);
      if (depth == 0) {
        if (lx.p != lx.end) {
          lx.why = "text after the JSON value";
          goto bad;
        }
        goto good;
      }
      if (lx.p < lx.end && *lx.p == (stack[depth - 1] == '{' ? '}' : ']')) {
        lx.p++;
        depth--;
        continue;
      }
      if (lx.p < lx.end && *lx.p == ',') {
        lx.p++;
        if (stack[depth - 1] == '{' && !lex_key(&lx))
          goto bad;
        skip_ws(&lx);
        break;
      }
      lx.why = lx.p < lx.end ? "expected ',' or a closing bracket" : "unexpected end of text";
      goto bad;
    }
  }
good : {
  GString *text = g_string_sized_new(len + 2 * long_ints->len + 1);
  gsize from = 0;
  for (guint i = 0; i < long_ints->len; i++) {
    gsize at = g_array_index(long_ints, gsize, i);
    g_string_append_len(text, data + from, (gssize)(at - from));
    g_string_append(text, ".0");
    from = at;
  }
  g_string_append_len(text, data + from, (gssize)(len - from));
  return g_string_free(text, FALSE);
}
bad:
  g_set_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED, "%s at byte %" G_GSIZE_FORMAT,
              lx.why, (gsize)(lx.p - data));
  return NULL;
}

JsonObject *sl_pbjson_parse(const SlPbMessage *type, const char *data, gssize len,
                            SlPbjsonFlags flags, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  gsize n = data == NULL ? 0 : len < 0 ? strlen(data) : (gsize)len;

  if (n == 0) {
    g_set_error_literal(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED,
                        "expected a JSON object, got nothing");
    return NULL;
  }
  if (memchr(data, '\0', n) != NULL) {
    g_set_error_literal(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED, "NUL byte in JSON text");
    return NULL;
  }
  if (!g_utf8_validate(data, (gssize)n, NULL)) {
    g_set_error_literal(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED,
                        "JSON text is not valid UTF-8");
    return NULL;
  }
  text = json_text_checked(data, n, error);
  if (text == NULL)
    return NULL;
  parser = json_parser_new_immutable();
  if (!json_parser_load_from_data(parser, text, -1, &local)) {
    g_set_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED, "%s", local->message);
    return NULL;
  }
  return normalize(type, json_parser_get_root(parser), flags, TRUE, error);
}

/* ---- writing ---------------------------------------------------------------------------- */

static JsonNode *node_copy(JsonNode *n)
{
  JsonNode *c;
  switch (JSON_NODE_TYPE(n)) {
  case JSON_NODE_OBJECT:
    c = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(c, sl_json_object_copy(json_node_get_object(n)));
    return c;
  case JSON_NODE_ARRAY: {
    JsonArray *a = json_node_get_array(n);
    JsonArray *copy = json_array_sized_new(json_array_get_length(a));
    for (guint i = 0; i < json_array_get_length(a); i++)
      json_array_add_element(copy, node_copy(json_array_get_element(a, i)));
    c = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(c, copy);
    return c;
  }
  case JSON_NODE_VALUE: {
    GValue v = G_VALUE_INIT;
    c = json_node_new(JSON_NODE_VALUE);
    json_node_get_value(n, &v);
    json_node_set_value(c, &v);
    g_value_unset(&v);
    return c;
  }
  case JSON_NODE_NULL:
  default:
    return json_node_new(JSON_NODE_NULL);
  }
}

JsonObject *sl_json_object_copy(JsonObject *o)
{
  JsonObject *copy = json_object_new();
  JsonObjectIter it;
  const char *name;
  JsonNode *member;
  json_object_iter_init(&it, o);
  while (json_object_iter_next(&it, &name, &member))
    json_object_set_member(copy, name, node_copy(member));
  return copy;
}

void sl_json_append_string(GString *out, const char *s)
{
  g_string_append_c(out, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    switch (*p) {
    case '"':
      g_string_append(out, "\\\"");
      break;
    case '\\':
      g_string_append(out, "\\\\");
      break;
    case '\b':
      g_string_append(out, "\\b");
      break;
    case '\f':
      g_string_append(out, "\\f");
      break;
    case '\n':
      g_string_append(out, "\\n");
      break;
    case '\r':
      g_string_append(out, "\\r");
      break;
    case '\t':
      g_string_append(out, "\\t");
      break;
    default:
      if (*p < 0x20)
        g_string_append_printf(out, "\\u%04x", *p);
      else
        g_string_append_c(out, (char)*p);
    }
  }
  g_string_append_c(out, '"');
}

/* The shortest decimal that reads back as `d`, laid out as ECMAScript's Number#toString does
 * (and so JSON.stringify and Go's protojson): plain digits from 1e-6 up to 1e21, else
 * exponent form like 1e+21 or 1.5e-7. */
static void write_double(GString *out, double d, gboolean single)
{
  char buf[40];
  char digits[24];
  int nd = 0, exp10 = 0, prec;
  const char *e;

  if (isnan(d)) {
    g_string_append(out, "\"NaN\"");
    return;
  }
  if (isinf(d)) {
    g_string_append(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  if (d == 0) {
    g_string_append_c(out, '0'); /* -0 too, as JSON.stringify writes it */
    return;
  }
  for (prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (single ? (float)g_ascii_strtod(buf, NULL) == (float)d : g_ascii_strtod(buf, NULL) == d)
      break;
  }
  /* buf is "[-]D.DDDDe[+-]XX": collect the digits and the exponent. */
  for (const char *p = buf; *p != '\0' && *p != 'e'; p++) {
    if (g_ascii_isdigit(*p))
      digits[nd++] = *p;
  }
  while (nd > 1 && digits[nd - 1] == '0')
    nd--;
  digits[nd] = '\0';
  e = strchr(buf, 'e');
  exp10 = atoi(e + 1);
  if (d < 0)
    g_string_append_c(out, '-');
  if (exp10 >= 21 || exp10 < -6) {
    g_string_append_c(out, digits[0]);
    if (nd > 1) {
      g_string_append_c(out, '.');
      g_string_append(out, digits + 1);
    }
    g_string_append_printf(out, "e%c%d", exp10 < 0 ? '-' : '+', ABS(exp10));
  } else if (exp10 < 0) {
    g_string_append(out, "0.");
    for (int i = -1; i > exp10; i--)
      g_string_append_c(out, '0');
    g_string_append(out, digits);
  } else {
    for (int i = 0; i <= exp10 || i < nd; i++) {
      if (i == exp10 + 1)
        g_string_append_c(out, '.');
      g_string_append_c(out, i < nd ? digits[i] : '0');
    }
  }
}

static void write_message(GString *out, const SlPbMessage *type, JsonObject *obj,
                          SlPbjsonFlags flags);

static void write_value(GString *out, const SlPbField *f, JsonNode *node, SlPbjsonFlags flags)
{
  if (f->kind == SL_PB_KIND_MESSAGE) {
    write_message(out, f->message, json_node_get_object(node), flags);
    return;
  }
  if (f->kind == SL_PB_KIND_ENUM) {
    const char *name = sl_pbjson_enum_name(f->enum_type, json_node_get_int(node));
    if (name != NULL)
      sl_json_append_string(out, name);
    else
      g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
    return;
  }
  switch ((SlPbScalar)f->scalar) {
  case SL_PB_STRING:
  case SL_PB_BYTES:
    sl_json_append_string(out, json_node_get_string(node));
    break;
  case SL_PB_BOOL:
    g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    break;
  case SL_PB_DOUBLE:
  case SL_PB_FLOAT:
    write_double(out, json_node_get_double(node), f->scalar == SL_PB_FLOAT);
    break;
  default:
    /* 64-bit integers are strings in protobuf JSON: JavaScript numbers cannot hold them. */
    if (scalar_is_64bit(f->scalar))
      g_string_append_printf(out, "\"%" G_GINT64_FORMAT "\"", json_node_get_int(node));
    else
      g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
    break;
  }
}

static void write_default(GString *out, const SlPbField *f)
{
  if (f->flags & SL_PB_MAP) {
    g_string_append(out, "{}");
  } else if (f->flags & SL_PB_REPEATED) {
    g_string_append(out, "[]");
  } else if (f->kind == SL_PB_KIND_MESSAGE) {
    g_string_append(out, "null");
  } else if (f->kind == SL_PB_KIND_ENUM) {
    const char *name = sl_pbjson_enum_name(f->enum_type, 0);
    if (name != NULL)
      sl_json_append_string(out, name);
    else
      g_string_append_c(out, '0');
  } else if (f->scalar == SL_PB_STRING || f->scalar == SL_PB_BYTES) {
    g_string_append(out, "\"\"");
  } else if (f->scalar == SL_PB_BOOL) {
    g_string_append(out, "false");
  } else if (scalar_is_64bit(f->scalar)) {
    g_string_append(out, "\"0\"");
  } else {
    g_string_append_c(out, '0');
  }
}

static void write_message(GString *out, const SlPbMessage *type, JsonObject *obj,
                          SlPbjsonFlags flags)
{
  gboolean first = TRUE;
  g_string_append_c(out, '{');
  for (guint i = 0; i < type->n_fields; i++) {
    const SlPbField *f = &type->fields[i];
    JsonNode *node = json_object_get_member(obj, f->name);
    if (node == NULL &&
        (!(flags & SL_PBJSON_EMIT_DEFAULTS) || f->oneof >= 0 || (f->flags & SL_PB_OPTIONAL)))
      continue;
    if (!first)
      g_string_append_c(out, ',');
    first = FALSE;
    sl_json_append_string(out, flags & SL_PBJSON_PROTO_NAMES ? f->name : f->json_name);
    g_string_append_c(out, ':');
    if (node == NULL) {
      write_default(out, f);
    } else if (f->flags & SL_PB_MAP) {
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;
      gboolean first_entry = TRUE;
      g_string_append_c(out, '{');
      json_object_iter_init(&iter, json_node_get_object(node));
      while (json_object_iter_next(&iter, &key, &value)) {
        if (!first_entry)
          g_string_append_c(out, ',');
        first_entry = FALSE;
        sl_json_append_string(out, key);
        g_string_append_c(out, ':');
        write_value(out, f, value, flags);
      }
      g_string_append_c(out, '}');
    } else if (f->flags & SL_PB_REPEATED) {
      JsonArray *arr = json_node_get_array(node);
      g_string_append_c(out, '[');
      for (guint j = 0; j < json_array_get_length(arr); j++) {
        if (j > 0)
          g_string_append_c(out, ',');
        write_value(out, f, json_array_get_element(arr, j), flags);
      }
      g_string_append_c(out, ']');
    } else {
      write_value(out, f, node, flags);
    }
  }
  g_string_append_c(out, '}');
}

char *sl_pbjson_to_string(const SlPbMessage *type, JsonObject *value, SlPbjsonFlags flags,
                          GError **error)
{
  g_autoptr(JsonNode) wrapped = NULL;
  g_autoptr(JsonObject) canonical = NULL;
  GString *out;

  /* Reading the value again puts it in normalised form, whatever form the caller built it in,
   * and refuses what the schema does not allow; the writer can then trust every node's type. */
  wrapped = json_node_init_object(json_node_alloc(), value);
  canonical = sl_pbjson_normalize(type, wrapped, SL_PBJSON_STRICT, error);
  if (canonical == NULL)
    return NULL;
  out = g_string_sized_new(256);
  write_message(out, type, canonical, flags);
  return g_string_free(out, FALSE);
}
