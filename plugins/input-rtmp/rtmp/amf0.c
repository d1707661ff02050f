/* rtmp/amf0.c - AMF0 decoder and encoder; see amf0.h for the contract. */
#include "rtmp/amf0.h"

#include <math.h>
#include <string.h>

#include "rtmp/cursor.h"

static RtmpAmfValue *value_new(RtmpAmfType type)
{
  RtmpAmfValue *v = g_new0(RtmpAmfValue, 1);
  v->type = type;
  return v;
}

static void property_free(gpointer data)
{
  RtmpAmfProperty *p = data;
  g_free(p->key);
  rtmp_amf_value_free(p->value);
  g_free(p);
}

static void value_free_cb(gpointer data)
{
  rtmp_amf_value_free(data);
}

RtmpAmfValue *rtmp_amf_value_new_number(gdouble number)
{
  RtmpAmfValue *v = value_new(RTMP_AMF_NUMBER);
  v->number = number;
  return v;
}

RtmpAmfValue *rtmp_amf_value_new_boolean(gboolean boolean)
{
  RtmpAmfValue *v = value_new(RTMP_AMF_BOOLEAN);
  v->boolean = boolean ? TRUE : FALSE;
  return v;
}

RtmpAmfValue *rtmp_amf_value_new_string_len(const gchar *data, gsize len)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  RtmpAmfValue *v = value_new(RTMP_AMF_STRING);
  v->string.data = g_malloc(len + 1);
  if (len > 0)
    memcpy(v->string.data, data, len);
  v->string.data[len] = '\0';
  v->string.len = len;
  return v;
}

RtmpAmfValue *rtmp_amf_value_new_string(const gchar *str)
{
  g_return_val_if_fail(str != NULL, NULL);
  return rtmp_amf_value_new_string_len(str, strlen(str));
}

RtmpAmfValue *rtmp_amf_value_new_null(void)
{
  return value_new(RTMP_AMF_NULL);
}

RtmpAmfValue *rtmp_amf_value_new_undefined(void)
{
  return value_new(RTMP_AMF_UNDEFINED);
}

RtmpAmfValue *rtmp_amf_value_new_object(void)
{
  RtmpAmfValue *v = value_new(RTMP_AMF_OBJECT);
  v->props = g_ptr_array_new_with_free_func(property_free);
  return v;
}

RtmpAmfValue *rtmp_amf_value_new_ecma_array(void)
{
  RtmpAmfValue *v = value_new(RTMP_AMF_ECMA_ARRAY);
  v->props = g_ptr_array_new_with_free_func(property_free);
  return v;
}

RtmpAmfValue *rtmp_amf_value_new_strict_array(void)
{
  RtmpAmfValue *v = value_new(RTMP_AMF_STRICT_ARRAY);
  v->items = g_ptr_array_new_with_free_func(value_free_cb);
  return v;
}

RtmpAmfValue *rtmp_amf_value_new_date(gdouble ms, gint16 tz)
{
  RtmpAmfValue *v = value_new(RTMP_AMF_DATE);
  v->date.ms = ms;
  v->date.tz = tz;
  return v;
}

void rtmp_amf_value_free(RtmpAmfValue *value)
{
  if (value == NULL)
    return;
  switch (value->type) {
  case RTMP_AMF_STRING:
    g_free(value->string.data);
    break;
  case RTMP_AMF_OBJECT:
  case RTMP_AMF_ECMA_ARRAY:
    g_ptr_array_unref(value->props);
    break;
  case RTMP_AMF_STRICT_ARRAY:
    g_ptr_array_unref(value->items);
    break;
  default:
    break;
  }
  g_free(value);
}

static void append_property(RtmpAmfValue *object, const gchar *key, gsize key_len,
                            RtmpAmfValue *value)
{
  RtmpAmfProperty *p = g_new0(RtmpAmfProperty, 1);
  p->key = g_malloc(key_len + 1);
  if (key_len > 0)
    memcpy(p->key, key, key_len);
  p->key[key_len] = '\0';
  p->key_len = key_len;
  p->value = value;
  g_ptr_array_add(object->props, p);
}

void rtmp_amf_object_append(RtmpAmfValue *object, const gchar *key, RtmpAmfValue *value)
{
  g_return_if_fail(object != NULL && key != NULL && value != NULL);
  g_return_if_fail(object->type == RTMP_AMF_OBJECT || object->type == RTMP_AMF_ECMA_ARRAY);
  append_property(object, key, strlen(key), value);
}

void rtmp_amf_array_append(RtmpAmfValue *array, RtmpAmfValue *value)
{
  g_return_if_fail(array != NULL && value != NULL);
  g_return_if_fail(array->type == RTMP_AMF_STRICT_ARRAY);
  g_ptr_array_add(array->items, value);
}

RtmpAmfValue *rtmp_amf_value_copy(const RtmpAmfValue *value)
{
  g_return_val_if_fail(value != NULL, NULL);
  RtmpAmfValue *copy = NULL;
  switch (value->type) {
  case RTMP_AMF_NUMBER:
    return rtmp_amf_value_new_number(value->number);
  case RTMP_AMF_BOOLEAN:
    return rtmp_amf_value_new_boolean(value->boolean);
  case RTMP_AMF_STRING:
    return rtmp_amf_value_new_string_len(value->string.data, value->string.len);
  case RTMP_AMF_NULL:
    return rtmp_amf_value_new_null();
  case RTMP_AMF_UNDEFINED:
    return rtmp_amf_value_new_undefined();
  case RTMP_AMF_DATE:
    return rtmp_amf_value_new_date(value->date.ms, value->date.tz);
  case RTMP_AMF_OBJECT:
  case RTMP_AMF_ECMA_ARRAY:
    copy = value->type == RTMP_AMF_OBJECT ? rtmp_amf_value_new_object()
                                          : rtmp_amf_value_new_ecma_array();
    for (guint i = 0; i < value->props->len; i++) {
      const RtmpAmfProperty *p = g_ptr_array_index(value->props, i);
      append_property(copy, p->key, p->key_len, rtmp_amf_value_copy(p->value));
    }
    return copy;
  case RTMP_AMF_STRICT_ARRAY:
    copy = rtmp_amf_value_new_strict_array();
    for (guint i = 0; i < value->items->len; i++)
      g_ptr_array_add(copy->items, rtmp_amf_value_copy(g_ptr_array_index(value->items, i)));
    return copy;
  }
  g_return_val_if_reached(NULL);
}

static gboolean numbers_equal(gdouble a, gdouble b)
{
  return a == b || (isnan(a) && isnan(b));
}

gboolean rtmp_amf_value_equal(const RtmpAmfValue *a, const RtmpAmfValue *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  if (a->type != b->type)
    return FALSE;
  switch (a->type) {
  case RTMP_AMF_NUMBER:
    return numbers_equal(a->number, b->number);
  case RTMP_AMF_BOOLEAN:
    return a->boolean == b->boolean;
  case RTMP_AMF_STRING:
    return a->string.len == b->string.len &&
           memcmp(a->string.data, b->string.data, a->string.len) == 0;
  case RTMP_AMF_NULL:
  case RTMP_AMF_UNDEFINED:
    return TRUE;
  case RTMP_AMF_DATE:
    return numbers_equal(a->date.ms, b->date.ms) && a->date.tz == b->date.tz;
  case RTMP_AMF_OBJECT:
  case RTMP_AMF_ECMA_ARRAY:
    if (a->props->len != b->props->len)
      return FALSE;
    for (guint i = 0; i < a->props->len; i++) {
      const RtmpAmfProperty *pa = g_ptr_array_index(a->props, i);
      const RtmpAmfProperty *pb = g_ptr_array_index(b->props, i);
      if (pa->key_len != pb->key_len || memcmp(pa->key, pb->key, pa->key_len) != 0 ||
          !rtmp_amf_value_equal(pa->value, pb->value))
        return FALSE;
    }
    return TRUE;
  case RTMP_AMF_STRICT_ARRAY:
    if (a->items->len != b->items->len)
      return FALSE;
    for (guint i = 0; i < a->items->len; i++)
      if (!rtmp_amf_value_equal(g_ptr_array_index(a->items, i), g_ptr_array_index(b->items, i)))
        return FALSE;
    return TRUE;
  }
  return FALSE;
}

const RtmpAmfValue *rtmp_amf_object_get(const RtmpAmfValue *object, const gchar *key)
{
  g_return_val_if_fail(key != NULL, NULL);
  if (object == NULL || (object->type != RTMP_AMF_OBJECT && object->type != RTMP_AMF_ECMA_ARRAY))
    return NULL;
  gsize key_len = strlen(key);
  for (guint i = 0; i < object->props->len; i++) {
    const RtmpAmfProperty *p = g_ptr_array_index(object->props, i);
    if (p->key_len == key_len && memcmp(p->key, key, key_len) == 0)
      return p->value;
  }
  return NULL;
}

const gchar *rtmp_amf_value_get_string(const RtmpAmfValue *value)
{
  if (value == NULL || value->type != RTMP_AMF_STRING)
    return NULL;
  return value->string.data;
}

const gchar *rtmp_amf_object_get_string(const RtmpAmfValue *object, const gchar *key)
{
  return rtmp_amf_value_get_string(rtmp_amf_object_get(object, key));
}

gboolean rtmp_amf_object_get_number(const RtmpAmfValue *object, const gchar *key, gdouble *out)
{
  const RtmpAmfValue *v = rtmp_amf_object_get(object, key);
  if (v == NULL || v->type != RTMP_AMF_NUMBER)
    return FALSE;
  if (out != NULL)
    *out = v->number;
  return TRUE;
}

/* ---- Decoder ------------------------------------------------------------------------------ */

typedef struct {
  RtmpCursor cur;
  guint values; /* values built so far in this decode call */
} Decoder;

static gboolean truncated(Decoder *d, const char *what, GError **error)
{
  g_set_error(error, RTMP_ERROR, RTMP_ERROR_TRUNCATED,
              "AMF0: truncated %s at offset %" G_GSIZE_FORMAT, what, d->cur.pos);
  return FALSE;
}

/* Reads the length-prefixed UTF-8 payload shared by strings and property keys. The length field
 * is 16 bits for short strings and 32 bits for long strings; either way the bytes must already
 * be in the buffer, so a hostile length can never make us allocate more than we were given. */
static gboolean read_utf8(Decoder *d, gboolean long_form, const guint8 **data, gsize *len,
                          GError **error)
{
  if (long_form) {
    guint32 n;
    if (!rtmp_cursor_u32(&d->cur, &n))
      return truncated(d, "long string length", error);
    *len = n;
  } else {
    guint16 n;
    if (!rtmp_cursor_u16(&d->cur, &n))
      return truncated(d, "string length", error);
    *len = n;
  }
  if (!rtmp_cursor_bytes(&d->cur, *len, data))
    return truncated(d, "string", error);
  return TRUE;
}

static RtmpAmfValue *decode_value(Decoder *d, guint depth, GError **error);

/* Object and ECMA array bodies: key/value pairs until an empty key followed by the object-end
 * marker. An empty key followed by any other marker is a legal property named "". */
static gboolean decode_properties(Decoder *d, RtmpAmfValue *object, guint depth, GError **error)
{
  for (;;) {
    const guint8 *key;
    gsize key_len;
    if (!read_utf8(d, FALSE, &key, &key_len, error))
      return FALSE;
    if (key_len == 0) {
      guint8 marker;
      if (!rtmp_cursor_peek_u8(&d->cur, &marker))
        return truncated(d, "object", error);
      if (marker == RTMP_AMF0_MARKER_OBJECT_END) {
        rtmp_cursor_skip(&d->cur, 1);
        return TRUE;
      }
    }
    RtmpAmfValue *value = decode_value(d, depth + 1, error);
    if (value == NULL)
      return FALSE;
    append_property(object, (const gchar *)key, key_len, value);
  }
}

static RtmpAmfValue *decode_value(Decoder *d, guint depth, GError **error)
{
  gsize start = d->cur.pos;
  guint8 marker;

  if (depth > RTMP_AMF_MAX_DEPTH) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_LIMIT,
                "AMF0: nesting deeper than %d at offset %" G_GSIZE_FORMAT, RTMP_AMF_MAX_DEPTH,
                start);
    return NULL;
  }
  if (++d->values > RTMP_AMF_MAX_VALUES) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_LIMIT, "AMF0: more than %d values in one message",
                RTMP_AMF_MAX_VALUES);
    return NULL;
  }
  if (!rtmp_cursor_u8(&d->cur, &marker)) {
    truncated(d, "value marker", error);
    return NULL;
  }

  switch (marker) {
  case RTMP_AMF0_MARKER_NUMBER: {
    gdouble n;
    if (!rtmp_cursor_f64(&d->cur, &n)) {
      truncated(d, "number", error);
      return NULL;
    }
    return rtmp_amf_value_new_number(n);
  }
  case RTMP_AMF0_MARKER_BOOLEAN: {
    guint8 b;
    if (!rtmp_cursor_u8(&d->cur, &b)) {
      truncated(d, "boolean", error);
      return NULL;
    }
    return rtmp_amf_value_new_boolean(b != 0);
  }
  case RTMP_AMF0_MARKER_STRING:
  case RTMP_AMF0_MARKER_LONG_STRING: {
    const guint8 *data;
    gsize len;
    if (!read_utf8(d, marker == RTMP_AMF0_MARKER_LONG_STRING, &data, &len, error))
      return NULL;
    return rtmp_amf_value_new_string_len((const gchar *)data, len);
  }
  case RTMP_AMF0_MARKER_OBJECT:
  case RTMP_AMF0_MARKER_ECMA_ARRAY: {
    g_autoptr(RtmpAmfValue) object = NULL;
    if (marker == RTMP_AMF0_MARKER_ECMA_ARRAY) {
      /* The count is only a hint (encoders disagree on it); the end marker terminates. */
      guint32 count_hint;
      if (!rtmp_cursor_u32(&d->cur, &count_hint)) {
        truncated(d, "ECMA array count", error);
        return NULL;
      }
      object = rtmp_amf_value_new_ecma_array();
    } else {
      object = rtmp_amf_value_new_object();
    }
    if (!decode_properties(d, object, depth, error))
      return NULL;
    return g_steal_pointer(&object);
  }
  case RTMP_AMF0_MARKER_NULL:
    return rtmp_amf_value_new_null();
  case RTMP_AMF0_MARKER_UNDEFINED:
    return rtmp_amf_value_new_undefined();
  case RTMP_AMF0_MARKER_STRICT_ARRAY: {
    guint32 count;
    if (!rtmp_cursor_u32(&d->cur, &count)) {
      truncated(d, "strict array count", error);
      return NULL;
    }
    /* Every element takes at least one byte, so a count beyond the remaining input is a lie;
     * refusing it up front also keeps the array's allocation bounded by the input size. */
    if (count > rtmp_cursor_remaining(&d->cur)) {
      g_set_error(error, RTMP_ERROR, RTMP_ERROR_TRUNCATED,
                  "AMF0: strict array of %u elements at offset %" G_GSIZE_FORMAT
                  " but only %" G_GSIZE_FORMAT " bytes left",
                  count, start, rtmp_cursor_remaining(&d->cur));
      return NULL;
    }
    g_autoptr(RtmpAmfValue) array = rtmp_amf_value_new_strict_array();
    for (guint32 i = 0; i < count; i++) {
      RtmpAmfValue *item = decode_value(d, depth + 1, error);
      if (item == NULL)
        return NULL;
      g_ptr_array_add(array->items, item);
    }
    return g_steal_pointer(&array);
  }
  case RTMP_AMF0_MARKER_DATE: {
    gdouble ms;
    guint16 tz;
    if (!rtmp_cursor_f64(&d->cur, &ms) || !rtmp_cursor_u16(&d->cur, &tz)) {
      truncated(d, "date", error);
      return NULL;
    }
    return rtmp_amf_value_new_date(ms, (gint16)tz);
  }
  case RTMP_AMF0_MARKER_OBJECT_END:
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_MALFORMED,
                "AMF0: object-end marker outside an object at offset %" G_GSIZE_FORMAT, start);
    return NULL;
  case RTMP_AMF0_MARKER_REFERENCE:
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_UNSUPPORTED,
                "AMF0: object references are not supported (offset %" G_GSIZE_FORMAT ")", start);
    return NULL;
  default:
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_UNSUPPORTED,
                "AMF0: unsupported marker 0x%02x at offset %" G_GSIZE_FORMAT, marker, start);
    return NULL;
  }
}

RtmpAmfValue *rtmp_amf_decode(const guint8 *data, gsize len, gsize *consumed, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  Decoder d = {0};
  rtmp_cursor_init(&d.cur, data, len);
  RtmpAmfValue *v = decode_value(&d, 1, error);
  if (v != NULL && consumed != NULL)
    *consumed = d.cur.pos;
  return v;
}

GPtrArray *rtmp_amf_decode_all(const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  Decoder d = {0};
  rtmp_cursor_init(&d.cur, data, len);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(value_free_cb);
  while (rtmp_cursor_remaining(&d.cur) > 0) {
    RtmpAmfValue *v = decode_value(&d, 1, error);
    if (v == NULL)
      return NULL;
    g_ptr_array_add(values, v);
  }
  return g_steal_pointer(&values);
}

/* ---- Encoder ------------------------------------------------------------------------------ */

void rtmp_amf_write_number(GByteArray *out, gdouble number)
{
  rtmp_put_u8(out, RTMP_AMF0_MARKER_NUMBER);
  rtmp_put_f64(out, number);
}

void rtmp_amf_write_boolean(GByteArray *out, gboolean boolean)
{
  rtmp_put_u8(out, RTMP_AMF0_MARKER_BOOLEAN);
  rtmp_put_u8(out, boolean ? 1 : 0);
}

void rtmp_amf_write_string_len(GByteArray *out, const gchar *data, gsize len)
{
  g_return_if_fail(data != NULL || len == 0);
  g_return_if_fail(len <= G_MAXUINT32);
  if (len <= G_MAXUINT16) {
    rtmp_put_u8(out, RTMP_AMF0_MARKER_STRING);
    rtmp_put_u16(out, (guint16)len);
  } else {
    rtmp_put_u8(out, RTMP_AMF0_MARKER_LONG_STRING);
    rtmp_put_u32(out, (guint32)len);
  }
  if (len > 0)
    g_byte_array_append(out, (const guint8 *)data, (guint)len);
}

void rtmp_amf_write_string(GByteArray *out, const gchar *str)
{
  g_return_if_fail(str != NULL);
  rtmp_amf_write_string_len(out, str, strlen(str));
}

void rtmp_amf_write_null(GByteArray *out)
{
  rtmp_put_u8(out, RTMP_AMF0_MARKER_NULL);
}

void rtmp_amf_write_undefined(GByteArray *out)
{
  rtmp_put_u8(out, RTMP_AMF0_MARKER_UNDEFINED);
}

void rtmp_amf_write_object_start(GByteArray *out)
{
  rtmp_put_u8(out, RTMP_AMF0_MARKER_OBJECT);
}

void rtmp_amf_write_ecma_array_start(GByteArray *out, guint32 count_hint)
{
  rtmp_put_u8(out, RTMP_AMF0_MARKER_ECMA_ARRAY);
  rtmp_put_u32(out, count_hint);
}

static void write_key_len(GByteArray *out, const gchar *key, gsize len)
{
  /* Keys only have the 16-bit length form; a longer key cannot be represented at all. */
  g_return_if_fail(len <= G_MAXUINT16);
  rtmp_put_u16(out, (guint16)len);
  if (len > 0)
    g_byte_array_append(out, (const guint8 *)key, (guint)len);
}

void rtmp_amf_write_key(GByteArray *out, const gchar *key)
{
  g_return_if_fail(key != NULL);
  write_key_len(out, key, strlen(key));
}

void rtmp_amf_write_object_end(GByteArray *out)
{
  static const guint8 end[3] = {0x00, 0x00, RTMP_AMF0_MARKER_OBJECT_END};
  g_byte_array_append(out, end, sizeof end);
}

void rtmp_amf_encode(GByteArray *out, const RtmpAmfValue *value)
{
  g_return_if_fail(out != NULL && value != NULL);
  switch (value->type) {
  case RTMP_AMF_NUMBER:
    rtmp_amf_write_number(out, value->number);
    break;
  case RTMP_AMF_BOOLEAN:
    rtmp_amf_write_boolean(out, value->boolean);
    break;
  case RTMP_AMF_STRING:
    rtmp_amf_write_string_len(out, value->string.data, value->string.len);
    break;
  case RTMP_AMF_NULL:
    rtmp_amf_write_null(out);
    break;
  case RTMP_AMF_UNDEFINED:
    rtmp_amf_write_undefined(out);
    break;
  case RTMP_AMF_DATE:
    rtmp_put_u8(out, RTMP_AMF0_MARKER_DATE);
    rtmp_put_f64(out, value->date.ms);
    rtmp_put_u16(out, (guint16)value->date.tz);
    break;
  case RTMP_AMF_OBJECT:
  case RTMP_AMF_ECMA_ARRAY:
    if (value->type == RTMP_AMF_OBJECT)
      rtmp_amf_write_object_start(out);
    else
      rtmp_amf_write_ecma_array_start(out, value->props->len);
    for (guint i = 0; i < value->props->len; i++) {
      const RtmpAmfProperty *p = g_ptr_array_index(value->props, i);
      write_key_len(out, p->key, p->key_len);
      rtmp_amf_encode(out, p->value);
    }
    rtmp_amf_write_object_end(out);
    break;
  case RTMP_AMF_STRICT_ARRAY:
    rtmp_put_u8(out, RTMP_AMF0_MARKER_STRICT_ARRAY);
    rtmp_put_u32(out, value->items->len);
    for (guint i = 0; i < value->items->len; i++)
      rtmp_amf_encode(out, g_ptr_array_index(value->items, i));
    break;
  }
}
