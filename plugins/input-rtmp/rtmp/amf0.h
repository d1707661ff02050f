/*
 * rtmp/amf0.h - AMF0 values: decoding into a tree, encoding from a tree or piece by piece.
 *
 * AMF0 is the serialisation RTMP uses for command messages (connect, publish, ...) and data
 * messages (@setDataFrame / onMetaData). The decoder turns untrusted bytes into an RtmpAmfValue
 * tree; every malformed or truncated input yields a GError in the RTMP_ERROR domain and never a
 * read outside the buffer. Nesting is limited to RTMP_AMF_MAX_DEPTH and one decode call builds
 * at most RTMP_AMF_MAX_VALUES values, so memory stays proportional to the input. References
 * (marker 0x07), movie clips, record sets, XML documents, typed objects and the AMF3 switch are
 * refused as unsupported: no RTMP publisher sends them in the commands this engine reads.
 *
 * A long string (marker 0x0C) decodes to RTMP_AMF_STRING; the encoder picks the short or long
 * form by length, so a round trip is byte exact for every string the decoder accepts.
 * Objects and ECMA arrays keep their properties in wire order (duplicates are kept too);
 * lookups return the first match.
 *
 * Ownership:
 *  - Constructors and decoders return (transfer full) values; free with rtmp_amf_value_free()
 *    or g_autoptr(RtmpAmfValue).
 *  - rtmp_amf_object_append() and rtmp_amf_array_append() take (transfer full) of the value.
 *  - Getters return (transfer none) pointers into the tree, valid while the tree lives.
 *  - Encoders append to a caller-owned GByteArray.
 *
 * Thread-safety: values are plain data with no internal locking; a tree may be read from several
 * threads at once but must be modified from one.
 */
#pragma once

#include <glib.h>

#include "rtmp/error.h"

G_BEGIN_DECLS

/* Maximum nesting of objects/arrays accepted by the decoder (a top-level scalar is depth 1). */
#define RTMP_AMF_MAX_DEPTH 32
/* Maximum number of values (scalars and containers) one decode call may build. */
#define RTMP_AMF_MAX_VALUES 65536

/* The wire markers of AMF0. */
typedef enum {
  RTMP_AMF0_MARKER_NUMBER = 0x00,
  RTMP_AMF0_MARKER_BOOLEAN = 0x01,
  RTMP_AMF0_MARKER_STRING = 0x02,
  RTMP_AMF0_MARKER_OBJECT = 0x03,
  RTMP_AMF0_MARKER_MOVIECLIP = 0x04,
  RTMP_AMF0_MARKER_NULL = 0x05,
  RTMP_AMF0_MARKER_UNDEFINED = 0x06,
  RTMP_AMF0_MARKER_REFERENCE = 0x07,
  RTMP_AMF0_MARKER_ECMA_ARRAY = 0x08,
  RTMP_AMF0_MARKER_OBJECT_END = 0x09,
  RTMP_AMF0_MARKER_STRICT_ARRAY = 0x0A,
  RTMP_AMF0_MARKER_DATE = 0x0B,
  RTMP_AMF0_MARKER_LONG_STRING = 0x0C,
} RtmpAmf0Marker;

/* The kinds of decoded value. */
typedef enum {
  RTMP_AMF_NUMBER,
  RTMP_AMF_BOOLEAN,
  RTMP_AMF_STRING, /* short and long strings alike */
  RTMP_AMF_OBJECT,
  RTMP_AMF_NULL,
  RTMP_AMF_UNDEFINED,
  RTMP_AMF_ECMA_ARRAY,
  RTMP_AMF_STRICT_ARRAY,
  RTMP_AMF_DATE,
} RtmpAmfType;

typedef struct _RtmpAmfValue RtmpAmfValue;

/* One key/value pair of an object or ECMA array. */
typedef struct {
  gchar *key; /* NUL-terminated copy; may contain NULs, key_len is authoritative */
  gsize key_len;
  RtmpAmfValue *value;
} RtmpAmfProperty;

struct _RtmpAmfValue {
  RtmpAmfType type;
  union {
    gdouble number;   /* RTMP_AMF_NUMBER */
    gboolean boolean; /* RTMP_AMF_BOOLEAN */
    struct {
      gchar *data; /* NUL-terminated copy; may contain NULs, len is authoritative */
      gsize len;
    } string;         /* RTMP_AMF_STRING */
    GPtrArray *props; /* RTMP_AMF_OBJECT, RTMP_AMF_ECMA_ARRAY: RtmpAmfProperty*, wire order */
    GPtrArray *items; /* RTMP_AMF_STRICT_ARRAY: RtmpAmfValue* */
    struct {
      gdouble ms; /* milliseconds since the Unix epoch, UTC */
      gint16 tz;  /* reserved by the format, should be 0 */
    } date;       /* RTMP_AMF_DATE */
  };
};

/* Constructors, all (transfer full). */
RtmpAmfValue *rtmp_amf_value_new_number(gdouble number);
RtmpAmfValue *rtmp_amf_value_new_boolean(gboolean boolean);
RtmpAmfValue *rtmp_amf_value_new_string(const gchar *str);
RtmpAmfValue *rtmp_amf_value_new_string_len(const gchar *data, gsize len);
RtmpAmfValue *rtmp_amf_value_new_null(void);
RtmpAmfValue *rtmp_amf_value_new_undefined(void);
RtmpAmfValue *rtmp_amf_value_new_object(void);
RtmpAmfValue *rtmp_amf_value_new_ecma_array(void);
RtmpAmfValue *rtmp_amf_value_new_strict_array(void);
RtmpAmfValue *rtmp_amf_value_new_date(gdouble ms, gint16 tz);

/* Deep copy, (transfer full). */
RtmpAmfValue *rtmp_amf_value_copy(const RtmpAmfValue *value);
void rtmp_amf_value_free(RtmpAmfValue *value);

/* Deep structural equality (numbers compare equal when both are NaN). */
gboolean rtmp_amf_value_equal(const RtmpAmfValue *a, const RtmpAmfValue *b);

/* Appends key/value to an object or ECMA array; takes (transfer full) of value. */
void rtmp_amf_object_append(RtmpAmfValue *object, const gchar *key, RtmpAmfValue *value);
/* Appends to a strict array; takes (transfer full) of value. */
void rtmp_amf_array_append(RtmpAmfValue *array, RtmpAmfValue *value);

/* First property named key of an object or ECMA array, (transfer none); NULL if absent or if
 * object is not an object/ECMA array. */
const RtmpAmfValue *rtmp_amf_object_get(const RtmpAmfValue *object, const gchar *key);
/* The property's string, (transfer none); NULL if absent or not a string. */
const gchar *rtmp_amf_object_get_string(const RtmpAmfValue *object, const gchar *key);
/* TRUE and *out set if the property exists and is a number. */
gboolean rtmp_amf_object_get_number(const RtmpAmfValue *object, const gchar *key, gdouble *out);
/* The value's string, (transfer none), or NULL if it is not a string. */
const gchar *rtmp_amf_value_get_string(const RtmpAmfValue *value);

/* Decodes one value from the start of data. On success *consumed (if not NULL) is set to the
 * number of bytes used; trailing bytes are left alone. Returns NULL with error set on failure. */
RtmpAmfValue *rtmp_amf_decode(const guint8 *data, gsize len, gsize *consumed, GError **error);

/* Decodes values back to back until data is exhausted (the shape of a command message).
 * Returns a (transfer full) GPtrArray of RtmpAmfValue* whose free function is set; an empty
 * input gives an empty array. NULL with error set if any value is malformed. */
GPtrArray *rtmp_amf_decode_all(const guint8 *data, gsize len, GError **error);

/* Appends the encoding of value to out. */
void rtmp_amf_encode(GByteArray *out, const RtmpAmfValue *value);

/* Piecewise encoders, for building command replies without a tree. An object is written as
 * rtmp_amf_write_object_start(), then rtmp_amf_write_key() + a value for each property, then
 * rtmp_amf_write_object_end(). */
void rtmp_amf_write_number(GByteArray *out, gdouble number);
void rtmp_amf_write_boolean(GByteArray *out, gboolean boolean);
void rtmp_amf_write_string(GByteArray *out, const gchar *str);
void rtmp_amf_write_string_len(GByteArray *out, const gchar *data, gsize len);
void rtmp_amf_write_null(GByteArray *out);
void rtmp_amf_write_undefined(GByteArray *out);
void rtmp_amf_write_object_start(GByteArray *out);
void rtmp_amf_write_ecma_array_start(GByteArray *out, guint32 count_hint);
void rtmp_amf_write_key(GByteArray *out, const gchar *key);
void rtmp_amf_write_object_end(GByteArray *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtmpAmfValue, rtmp_amf_value_free)

G_END_DECLS
