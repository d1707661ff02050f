/* Protobuf wire format to and from pbjson's normalised form. See pbbin.h. */
#include "pbbin.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
  WT_VARINT = 0,
  WT_I64 = 1,
  WT_LEN = 2,
  WT_SGROUP = 3,
  WT_EGROUP = 4,
  WT_I32 = 5,
};

#define MAX_FIELD_NUMBER 536870911 /* 2^29 - 1 */

/* What one value is: a field's values, a map's keys or a map's values. */
typedef struct {
  guint8 kind;   /* SlPbKind */
  guint8 scalar; /* SlPbScalar when kind is SL_PB_KIND_SCALAR */
  const SlPbMessage *message;
} ValueType;

static ValueType value_type(const SlPbField *f)
{
  return (ValueType){f->kind, f->scalar, f->message};
}

static ValueType key_type(const SlPbField *f)
{
  return (ValueType){SL_PB_KIND_SCALAR, f->map_key, NULL};
}

static guint wire_type(ValueType vt)
{
  if (vt.kind == SL_PB_KIND_MESSAGE)
    return WT_LEN;
  if (vt.kind == SL_PB_KIND_ENUM)
    return WT_VARINT;
  switch ((SlPbScalar)vt.scalar) {
  case SL_PB_DOUBLE:
  case SL_PB_FIXED64:
  case SL_PB_SFIXED64:
    return WT_I64;
  case SL_PB_FLOAT:
  case SL_PB_FIXED32:
  case SL_PB_SFIXED32:
    return WT_I32;
  case SL_PB_STRING:
  case SL_PB_BYTES:
    return WT_LEN;
  default:
    return WT_VARINT;
  }
}

/* Plain scalars of these types have no presence in proto3; their defaults are left out. */
static gboolean has_presence(const SlPbField *f)
{
  return f->kind == SL_PB_KIND_MESSAGE || f->oneof >= 0 || (f->flags & SL_PB_OPTIONAL) != 0;
}

static gboolean is_default(ValueType vt, JsonNode *node)
{
  if (vt.kind == SL_PB_KIND_MESSAGE)
    return FALSE;
  if (vt.kind == SL_PB_KIND_ENUM)
    return json_node_get_int(node) == 0;
  switch ((SlPbScalar)vt.scalar) {
  case SL_PB_STRING:
  case SL_PB_BYTES:
    return json_node_get_string(node)[0] == '\0';
  case SL_PB_BOOL:
    return !json_node_get_boolean(node);
  case SL_PB_DOUBLE:
  case SL_PB_FLOAT:
    return json_node_get_double(node) == 0;
  default:
    return json_node_get_int(node) == 0;
  }
}

/* ---- decoding --------------------------------------------------------------------------- */

typedef struct {
  const guint8 *p;
  const guint8 *end;
} Reader;

typedef struct {
  GString *path; /* "video.layers[1]", for error messages */
  guint depth;
} DecodeCtx;

static void fail(DecodeCtx *c, GError **error, SlPbjsonError code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void fail(DecodeCtx *c, GError **error, SlPbjsonError code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  sl_pbjson_error_at(error, code, c->path, fmt, ap);
  va_end(ap);
}

static gboolean read_varint(DecodeCtx *c, Reader *r, guint64 *out, GError **error)
{
  guint64 v = 0;
  for (guint i = 0; i < 10; i++) {
    guint8 b;
    if (r->p >= r->end) {
      fail(c, error, SL_PBJSON_ERROR_MALFORMED, "truncated varint");
      return FALSE;
    }
    b = *r->p++;
    /* The tenth byte holds only bit 63; anything more does not fit 64 bits. */
    if (i == 9 && b > 1)
      break;
    v |= (guint64)(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = v;
      return TRUE;
    }
  }
  fail(c, error, SL_PBJSON_ERROR_MALFORMED, "varint longer than 64 bits");
  return FALSE;
}

static gboolean read_fixed(DecodeCtx *c, Reader *r, guint size, guint64 *out, GError **error)
{
  guint64 v = 0;
  if ((gsize)(r->end - r->p) < size) {
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "truncated %u-byte value", size);
    return FALSE;
  }
  for (guint i = 0; i < size; i++)
    v |= (guint64)r->p[i] << (8 * i);
  r->p += size;
  *out = v;
  return TRUE;
}

/* A length prefix and the bytes it covers, as a reader of its own. */
static gboolean read_len(DecodeCtx *c, Reader *r, Reader *sub, GError **error)
{
  guint64 n;
  if (!read_varint(c, r, &n, error))
    return FALSE;
  if (n > (guint64)(r->end - r->p)) {
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "length %" G_GUINT64_FORMAT " past the end", n);
    return FALSE;
  }
  sub->p = r->p;
  sub->end = r->p + n;
  r->p += n;
  return TRUE;
}

static gboolean read_tag(DecodeCtx *c, Reader *r, guint32 *number, guint *wt, GError **error)
{
  guint64 v;
  if (!read_varint(c, r, &v, error))
    return FALSE;
  if ((v >> 3) == 0 || (v >> 3) > MAX_FIELD_NUMBER) {
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "invalid field number %" G_GUINT64_FORMAT, v >> 3);
    return FALSE;
  }
  *number = (guint32)(v >> 3);
  *wt = (guint)(v & 7);
  return TRUE;
}

static gboolean enter(DecodeCtx *c, GError **error)
{
  if (++c->depth > SL_PBJSON_MAX_DEPTH) {
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "nested too deep");
    return FALSE;
  }
  return TRUE;
}

/* Skips one value of a field the descriptor does not know. Groups (proto2) are walked to their
 * matching end, each counting as a level of nesting. */
static gboolean skip_value(DecodeCtx *c, Reader *r, guint32 number, guint wt, GError **error)
{
  guint64 v;
  Reader sub;
  switch (wt) {
  case WT_VARINT:
    return read_varint(c, r, &v, error);
  case WT_I64:
    return read_fixed(c, r, 8, &v, error);
  case WT_I32:
    return read_fixed(c, r, 4, &v, error);
  case WT_LEN:
    return read_len(c, r, &sub, error);
  case WT_SGROUP:
    if (!enter(c, error))
      return FALSE;
    for (;;) {
      guint32 n;
      guint w;
      if (r->p >= r->end) {
        fail(c, error, SL_PBJSON_ERROR_MALFORMED, "group %u has no end", number);
        return FALSE;
      }
      if (!read_tag(c, r, &n, &w, error))
        return FALSE;
      if (w == WT_EGROUP) {
        if (n != number) {
          fail(c, error, SL_PBJSON_ERROR_MALFORMED, "group %u ended as %u", number, n);
          return FALSE;
        }
        c->depth--;
        return TRUE;
      }
      if (!skip_value(c, r, n, w, error))
        return FALSE;
    }
  case WT_EGROUP:
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "end of group %u without a start", number);
    return FALSE;
  default:
    fail(c, error, SL_PBJSON_ERROR_MALFORMED, "invalid wire type %u", wt);
    return FALSE;
  }
}

static JsonNode *int_node(gint64 v)
{
  JsonNode *node = json_node_alloc();
  json_node_init_int(node, v);
  return node;
}

static JsonNode *uint64_node(DecodeCtx *c, guint64 v, GError **error)
{
  if (v > G_MAXINT64) {
    fail(c, error, SL_PBJSON_ERROR_INVALID, "uint64 value above %" G_GINT64_FORMAT, G_MAXINT64);
    return NULL;
  }
  return int_node((gint64)v);
}

/* One value of a varint or fixed-width type. */
static JsonNode *read_number(DecodeCtx *c, ValueType vt, Reader *r, GError **error)
{
  guint64 v;
  guint w = wire_type(vt);
  if (!(w == WT_VARINT ? read_varint(c, r, &v, error)
                       : read_fixed(c, r, w == WT_I64 ? 8 : 4, &v, error)))
    return NULL;
  if (vt.kind == SL_PB_KIND_ENUM)
    return int_node((gint32)(guint32)v);
  switch ((SlPbScalar)vt.scalar) {
  case SL_PB_DOUBLE: {
    double d;
    memcpy(&d, &v, sizeof d);
    return json_node_init_double(json_node_alloc(), d);
  }
  case SL_PB_FLOAT: {
    guint32 bits = (guint32)v;
    float f;
    memcpy(&f, &bits, sizeof f);
    return json_node_init_double(json_node_alloc(), f);
  }
  case SL_PB_BOOL:
    return json_node_init_boolean(json_node_alloc(), v != 0);
  case SL_PB_UINT64:
  case SL_PB_FIXED64:
    return uint64_node(c, v, error);
  case SL_PB_INT64:
  case SL_PB_SFIXED64:
    return int_node((gint64)v);
  case SL_PB_UINT32:
  case SL_PB_FIXED32:
    return int_node((guint32)v);
  case SL_PB_SINT32: {
    guint32 u = (guint32)v;
    return int_node((gint32)((u >> 1) ^ (0u - (u & 1))));
  }
  case SL_PB_SINT64:
    return int_node((gint64)((v >> 1) ^ (0u - (v & 1))));
  default: /* int32, sfixed32: an int32 is sign-extended to ten bytes on the wire */
    return int_node((gint32)(guint32)v);
  }
}

static gboolean decode_into(DecodeCtx *c, const SlPbMessage *type, Reader *r, JsonObject *out,
                            GError **error);

/* One value of `vt`, its wire type already checked. A message is merged into `merge_into` when
 * that is given (a singular message field seen twice), and NULL is returned on success. */
static JsonNode *read_value(DecodeCtx *c, ValueType vt, Reader *r, JsonObject *merge_into,
                            gboolean *ok, GError **error)
{
  Reader sub;
  *ok = FALSE;
  if (wire_type(vt) != WT_LEN) {
    JsonNode *node = read_number(c, vt, r, error);
    *ok = node != NULL;
    return node;
  }
  if (!read_len(c, r, &sub, error))
    return NULL;
  if (vt.kind == SL_PB_KIND_MESSAGE) {
    g_autoptr(JsonObject) obj = merge_into != NULL ? NULL : json_object_new();
    if (!decode_into(c, vt.message, &sub, merge_into != NULL ? merge_into : obj, error))
      return NULL;
    *ok = TRUE;
    return obj != NULL ? json_node_init_object(json_node_alloc(), obj) : NULL;
  }
  if (vt.scalar == SL_PB_STRING) {
    g_autofree char *s = NULL;
    /* Also refuses NUL, which proto allows but a C string cannot carry. */
    if (!g_utf8_validate_len((const char *)sub.p, (gsize)(sub.end - sub.p), NULL)) {
      fail(c, error, SL_PBJSON_ERROR_INVALID, "string is not valid UTF-8");
      return NULL;
    }
    s = g_strndup((const char *)sub.p, (gsize)(sub.end - sub.p));
    *ok = TRUE;
    return json_node_init_string(json_node_alloc(), s);
  }
  {
    g_autofree char *b64 = g_base64_encode(sub.p, (gsize)(sub.end - sub.p));
    *ok = TRUE;
    return json_node_init_string(json_node_alloc(), b64);
  }
}

static JsonNode *default_node(ValueType vt)
{
  if (vt.kind == SL_PB_KIND_MESSAGE) {
    g_autoptr(JsonObject) obj = json_object_new();
    return json_node_init_object(json_node_alloc(), obj);
  }
  if (vt.kind == SL_PB_KIND_ENUM)
    return int_node(0);
  switch ((SlPbScalar)vt.scalar) {
  case SL_PB_STRING:
  case SL_PB_BYTES:
    return json_node_init_string(json_node_alloc(), "");
  case SL_PB_BOOL:
    return json_node_init_boolean(json_node_alloc(), FALSE);
  case SL_PB_DOUBLE:
  case SL_PB_FLOAT:
    return json_node_init_double(json_node_alloc(), 0);
  default:
    return int_node(0);
  }
}

/* A map key in pbjson's spelling: the string itself, "true"/"false", or the decimal number. */
static char *map_key_text(ValueType kt, JsonNode *key)
{
  if (kt.scalar == SL_PB_STRING)
    return g_strdup(key != NULL ? json_node_get_string(key) : "");
  if (kt.scalar == SL_PB_BOOL)
    return g_strdup(key != NULL && json_node_get_boolean(key) ? "true" : "false");
  return g_strdup_printf("%" G_GINT64_FORMAT, key != NULL ? json_node_get_int(key) : 0);
}

/* One map entry: a message of key (1) and value (2), either possibly missing. */
static gboolean decode_map_entry(DecodeCtx *c, const SlPbField *f, Reader *r, JsonObject *out,
                                 GError **error)
{
  ValueType kt = key_type(f);
  ValueType vt = value_type(f);
  g_autoptr(JsonNode) key = NULL;
  g_autoptr(JsonNode) value = NULL;
  g_autofree char *text = NULL;
  JsonObject *map;
  Reader sub;

  if (!read_len(c, r, &sub, error) || !enter(c, error))
    return FALSE;
  while (sub.p < sub.end) {
    guint32 number;
    guint wt;
    gboolean ok;
    JsonNode *node;
    if (!read_tag(c, &sub, &number, &wt, error))
      return FALSE;
    if (number == 1 && wt == wire_type(kt)) {
      node = read_value(c, kt, &sub, NULL, &ok, error);
      if (!ok)
        return FALSE;
      g_clear_pointer(&key, json_node_unref);
      key = node;
    } else if (number == 2 && wt == wire_type(vt)) {
      JsonObject *merge =
          vt.kind == SL_PB_KIND_MESSAGE && value != NULL ? json_node_get_object(value) : NULL;
      node = read_value(c, vt, &sub, merge, &ok, error);
      if (!ok)
        return FALSE;
      if (node != NULL) {
        g_clear_pointer(&value, json_node_unref);
        value = node;
      }
    } else if (!skip_value(c, &sub, number, wt, error)) {
      return FALSE;
    }
  }
  c->depth--;
  text = map_key_text(kt, key);
  if (!json_object_has_member(out, f->name)) {
    g_autoptr(JsonObject) fresh = json_object_new();
    json_object_set_object_member(out, f->name, g_steal_pointer(&fresh));
  }
  map = json_object_get_object_member(out, f->name);
  json_object_set_member(map, text, value != NULL ? g_steal_pointer(&value) : default_node(vt));
  return TRUE;
}

static void append_element(JsonObject *out, const SlPbField *f, JsonNode *node)
{
  if (!json_object_has_member(out, f->name))
    json_object_set_array_member(out, f->name, json_array_new());
  json_array_add_element(json_object_get_array_member(out, f->name), node);
}

/* Setting a oneof member unsets the others, so the last one on the wire wins. */
static void clear_oneof(const SlPbMessage *type, const SlPbField *f, JsonObject *out)
{
  if (f->oneof < 0)
    return;
  for (guint i = 0; i < type->n_fields; i++) {
    const SlPbField *g = &type->fields[i];
    if (g != f && g->oneof == f->oneof && json_object_has_member(out, g->name))
      json_object_remove_member(out, g->name);
  }
}

static gboolean decode_field(DecodeCtx *c, const SlPbMessage *type, const SlPbField *f, guint wt,
                             Reader *r, JsonObject *out, GError **error)
{
  ValueType vt = value_type(f);
  JsonObject *merge = NULL;
  JsonNode *node;
  gboolean ok;

  if (f->flags & SL_PB_MAP)
    return decode_map_entry(c, f, r, out, error);

  if (f->flags & SL_PB_REPEATED) {
    if (wt == WT_LEN && wire_type(vt) != WT_LEN) {
      /* Packed: the elements back to back in one length-delimited run. */
      Reader sub;
      if (!read_len(c, r, &sub, error))
        return FALSE;
      while (sub.p < sub.end) {
        node = read_number(c, vt, &sub, error);
        if (node == NULL)
          return FALSE;
        append_element(out, f, node);
      }
      return TRUE;
    }
    node = read_value(c, vt, r, NULL, &ok, error);
    if (!ok)
      return FALSE;
    append_element(out, f, node);
    return TRUE;
  }

  clear_oneof(type, f, out);
  if (f->kind == SL_PB_KIND_MESSAGE && json_object_has_member(out, f->name))
    merge = json_object_get_object_member(out, f->name);
  node = read_value(c, vt, r, merge, &ok, error);
  if (!ok)
    return FALSE;
  if (node == NULL)
    return TRUE; /* merged */
  if (!has_presence(f) && is_default(vt, node)) {
    json_node_unref(node);
    if (json_object_has_member(out, f->name))
      json_object_remove_member(out, f->name);
  } else {
    json_object_set_member(out, f->name, node);
  }
  return TRUE;
}

static const SlPbField *field_by_number(const SlPbMessage *type, guint32 number)
{
  for (guint i = 0; i < type->n_fields; i++)
    if (type->fields[i].number == number)
      return &type->fields[i];
  return NULL;
}

/* A field is read when its wire type is the one its type uses, or a packed run of numbers. */
static gboolean wire_type_fits(const SlPbField *f, guint wt)
{
  guint want = f->flags & SL_PB_MAP ? WT_LEN : wire_type(value_type(f));
  return wt == want || ((f->flags & SL_PB_REPEATED) && !(f->flags & SL_PB_MAP) && wt == WT_LEN);
}

static gboolean decode_into(DecodeCtx *c, const SlPbMessage *type, Reader *r, JsonObject *out,
                            GError **error)
{
  if (!enter(c, error))
    return FALSE;
  while (r->p < r->end) {
    guint32 number;
    guint wt;
    const SlPbField *f;
    gsize mark = c->path->len;
    if (!read_tag(c, r, &number, &wt, error))
      return FALSE;
    f = field_by_number(type, number);
    /* Unknown fields, and known ones with a wire type their type never uses, are skipped as
     * protobuf's own parsers skip them. */
    if (f == NULL || !wire_type_fits(f, wt)) {
      if (!skip_value(c, r, number, wt, error))
        return FALSE;
      continue;
    }
    g_string_append_printf(c->path, "%s%s", mark > 0 ? "." : "", f->name);
    if (!decode_field(c, type, f, wt, r, out, error))
      return FALSE;
    g_string_truncate(c->path, mark);
  }
  c->depth--;
  return TRUE;
}

JsonObject *sl_pbbin_decode(const SlPbMessage *type, const guint8 *data, gsize len, GError **error)
{
  g_autoptr(GString) path = g_string_new(NULL);
  g_autoptr(JsonObject) out = json_object_new();
  DecodeCtx c = {path, 0};
  Reader r = {data, data + len};

  g_return_val_if_fail(type != NULL, NULL);
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  if (data == NULL)
    r.p = r.end = (const guint8 *)"";
  if (!decode_into(&c, type, &r, out, error))
    return NULL;
  return g_steal_pointer(&out);
}

/* ---- encoding --------------------------------------------------------------------------- */

static void put_varint(GByteArray *out, guint64 v)
{
  guint8 buf[10];
  guint n = 0;
  while (v >= 0x80) {
    buf[n++] = (guint8)(v | 0x80);
    v >>= 7;
  }
  buf[n++] = (guint8)v;
  g_byte_array_append(out, buf, n);
}

static void put_fixed(GByteArray *out, guint64 v, guint size)
{
  guint8 buf[8];
  for (guint i = 0; i < size; i++)
    buf[i] = (guint8)(v >> (8 * i));
  g_byte_array_append(out, buf, size);
}

static void put_tag(GByteArray *out, guint32 number, guint wt)
{
  put_varint(out, ((guint64)number << 3) | wt);
}

static void put_bytes(GByteArray *out, const guint8 *data, gsize len)
{
  put_varint(out, len);
  g_byte_array_append(out, data, (guint)len);
}

/* A varint or fixed-width value, from the gint64 (or double, or boolean) pbjson keeps. */
static void put_number(GByteArray *out, ValueType vt, JsonNode *node)
{
  gint64 v;
  if (vt.kind == SL_PB_KIND_ENUM) {
    put_varint(out, (guint64)json_node_get_int(node));
    return;
  }
  switch ((SlPbScalar)vt.scalar) {
  case SL_PB_DOUBLE: {
    double d = json_node_get_double(node);
    guint64 bits;
    memcpy(&bits, &d, sizeof bits);
    put_fixed(out, bits, 8);
    return;
  }
  case SL_PB_FLOAT: {
    float f = (float)json_node_get_double(node);
    guint32 bits;
    memcpy(&bits, &f, sizeof bits);
    put_fixed(out, bits, 4);
    return;
  }
  case SL_PB_BOOL:
    put_varint(out, json_node_get_boolean(node) ? 1 : 0);
    return;
  default:
    break;
  }
  v = json_node_get_int(node);
  switch ((SlPbScalar)vt.scalar) {
  case SL_PB_SINT32: {
    guint32 u = (guint32)(gint32)v;
    put_varint(out, (u << 1) ^ ((gint32)v < 0 ? 0xffffffffu : 0));
    return;
  }
  case SL_PB_SINT64:
    put_varint(out, ((guint64)v << 1) ^ (v < 0 ? G_MAXUINT64 : 0));
    return;
  case SL_PB_FIXED32:
  case SL_PB_SFIXED32:
    put_fixed(out, (guint32)v, 4);
    return;
  case SL_PB_FIXED64:
  case SL_PB_SFIXED64:
    put_fixed(out, (guint64)v, 8);
    return;
  default: /* int32 (sign-extended, as protobuf writes negatives), int64, uint32, uint64 */
    put_varint(out, (guint64)v);
    return;
  }
}

static void encode_message(const SlPbMessage *type, JsonObject *obj, GByteArray *out);

/* A value without its tag: a number, or a length-delimited string, bytes or message. */
static void put_value(GByteArray *out, ValueType vt, JsonNode *node)
{
  if (vt.kind == SL_PB_KIND_MESSAGE) {
    g_autoptr(GByteArray) sub = g_byte_array_new();
    encode_message(vt.message, json_node_get_object(node), sub);
    put_bytes(out, sub->data, sub->len);
  } else if (vt.kind == SL_PB_KIND_SCALAR && vt.scalar == SL_PB_STRING) {
    const char *s = json_node_get_string(node);
    put_bytes(out, (const guint8 *)s, strlen(s));
  } else if (vt.kind == SL_PB_KIND_SCALAR && vt.scalar == SL_PB_BYTES) {
    gsize n = 0;
    g_autofree guint8 *raw = g_base64_decode(json_node_get_string(node), &n);
    put_bytes(out, raw, n);
  } else {
    put_number(out, vt, node);
  }
}

/* A map key from pbjson's spelling (already checked by the normaliser) back to a value. */
static JsonNode *map_key_node(ValueType kt, const char *key)
{
  if (kt.scalar == SL_PB_STRING)
    return json_node_init_string(json_node_alloc(), key);
  if (kt.scalar == SL_PB_BOOL)
    return json_node_init_boolean(json_node_alloc(), strcmp(key, "true") == 0);
  return int_node(g_ascii_strtoll(key, NULL, 10));
}

static void encode_field(const SlPbField *f, JsonNode *node, GByteArray *out)
{
  ValueType vt = value_type(f);

  if (f->flags & SL_PB_MAP) {
    JsonObject *map = json_node_get_object(node);
    GList *keys = json_object_get_members(map);
    for (GList *l = keys; l != NULL; l = l->next) {
      g_autoptr(GByteArray) entry = g_byte_array_new();
      g_autoptr(JsonNode) key = map_key_node(key_type(f), l->data);
      /* Entries carry key and value even at their defaults, as protobuf's encoders write them. */
      put_tag(entry, 1, wire_type(key_type(f)));
      put_value(entry, key_type(f), key);
      put_tag(entry, 2, wire_type(vt));
      put_value(entry, vt, json_object_get_member(map, l->data));
      put_tag(out, f->number, WT_LEN);
      put_bytes(out, entry->data, entry->len);
    }
    g_list_free(keys);
    return;
  }

  if (f->flags & SL_PB_REPEATED) {
    JsonArray *arr = json_node_get_array(node);
    guint n = json_array_get_length(arr);
    if (n == 0)
      return;
    if (wire_type(vt) != WT_LEN) {
      g_autoptr(GByteArray) packed = g_byte_array_new();
      for (guint i = 0; i < n; i++)
        put_number(packed, vt, json_array_get_element(arr, i));
      put_tag(out, f->number, WT_LEN);
      put_bytes(out, packed->data, packed->len);
      return;
    }
    for (guint i = 0; i < n; i++) {
      put_tag(out, f->number, WT_LEN);
      put_value(out, vt, json_array_get_element(arr, i));
    }
    return;
  }

  if (!has_presence(f) && is_default(vt, node))
    return;
  put_tag(out, f->number, wire_type(vt));
  put_value(out, vt, node);
}

static void encode_message(const SlPbMessage *type, JsonObject *obj, GByteArray *out)
{
  /* Field number order, whatever order the descriptor declares them in. */
  g_autofree const SlPbField **order = g_new(const SlPbField *, type->n_fields + 1);
  for (guint i = 0; i < type->n_fields; i++) {
    guint j = i;
    while (j > 0 && order[j - 1]->number > type->fields[i].number) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = &type->fields[i];
  }
  for (guint i = 0; i < type->n_fields; i++) {
    JsonNode *node = json_object_get_member(obj, order[i]->name);
    if (node != NULL && JSON_NODE_TYPE(node) != JSON_NODE_NULL)
      encode_field(order[i], node, out);
  }
}

GBytes *sl_pbbin_encode(const SlPbMessage *type, JsonObject *normalised, GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonObject) checked = NULL;
  g_autoptr(GByteArray) out = NULL;

  g_return_val_if_fail(type != NULL, NULL);
  g_return_val_if_fail(normalised != NULL, NULL);
  /* The normaliser checks every value against its field (and bounds the nesting), so the writer
   * below can take the node types for granted. */
  root = json_node_init_object(json_node_alloc(), normalised);
  checked = sl_pbjson_normalize(type, root, SL_PBJSON_STRICT, error);
  if (checked == NULL)
    return NULL;
  out = g_byte_array_new();
  encode_message(type, checked, out);
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}
