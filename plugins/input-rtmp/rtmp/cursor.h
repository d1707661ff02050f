/*
 * rtmp/cursor.h - a bounds-checked reader over a byte buffer, used by every parser in rtmp/.
 *
 * An RtmpCursor borrows (transfer none) a buffer that must outlive it; it never allocates and
 * never frees. Every read first checks that enough bytes remain and returns FALSE otherwise,
 * leaving the position unchanged, so a parser written on top of it cannot read past the end
 * no matter what the input says about its own lengths. All multi-byte integers are big-endian
 * except rtmp_cursor_u32le (the RTMP message stream id is the one little-endian field).
 *
 * Thread-safety: a cursor is a plain value; use it from one thread at a time.
 */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

typedef struct {
  const guint8 *data;
  gsize len;
  gsize pos;
} RtmpCursor;

static inline void rtmp_cursor_init(RtmpCursor *c, const guint8 *data, gsize len)
{
  c->data = data;
  c->len = len;
  c->pos = 0;
}

static inline gsize rtmp_cursor_remaining(const RtmpCursor *c)
{
  return c->len - c->pos;
}

static inline const guint8 *rtmp_cursor_current(const RtmpCursor *c)
{
  return c->data + c->pos;
}

static inline gboolean rtmp_cursor_skip(RtmpCursor *c, gsize n)
{
  if (rtmp_cursor_remaining(c) < n)
    return FALSE;
  c->pos += n;
  return TRUE;
}

/* Points *out at the next n bytes inside the borrowed buffer and advances past them. */
static inline gboolean rtmp_cursor_bytes(RtmpCursor *c, gsize n, const guint8 **out)
{
  if (rtmp_cursor_remaining(c) < n)
    return FALSE;
  *out = c->data + c->pos;
  c->pos += n;
  return TRUE;
}

static inline gboolean rtmp_cursor_peek_u8(const RtmpCursor *c, guint8 *out)
{
  if (rtmp_cursor_remaining(c) < 1)
    return FALSE;
  *out = c->data[c->pos];
  return TRUE;
}

static inline gboolean rtmp_cursor_u8(RtmpCursor *c, guint8 *out)
{
  if (!rtmp_cursor_peek_u8(c, out))
    return FALSE;
  c->pos++;
  return TRUE;
}

static inline gboolean rtmp_cursor_u16(RtmpCursor *c, guint16 *out)
{
  if (rtmp_cursor_remaining(c) < 2)
    return FALSE;
  const guint8 *p = c->data + c->pos;
  *out = (guint16)((p[0] << 8) | p[1]);
  c->pos += 2;
  return TRUE;
}

static inline gboolean rtmp_cursor_u24(RtmpCursor *c, guint32 *out)
{
  if (rtmp_cursor_remaining(c) < 3)
    return FALSE;
  const guint8 *p = c->data + c->pos;
  *out = ((guint32)p[0] << 16) | ((guint32)p[1] << 8) | p[2];
  c->pos += 3;
  return TRUE;
}

static inline gboolean rtmp_cursor_u32(RtmpCursor *c, guint32 *out)
{
  if (rtmp_cursor_remaining(c) < 4)
    return FALSE;
  const guint8 *p = c->data + c->pos;
  *out = ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
  c->pos += 4;
  return TRUE;
}

static inline gboolean rtmp_cursor_u32le(RtmpCursor *c, guint32 *out)
{
  if (rtmp_cursor_remaining(c) < 4)
    return FALSE;
  const guint8 *p = c->data + c->pos;
  *out = ((guint32)p[3] << 24) | ((guint32)p[2] << 16) | ((guint32)p[1] << 8) | p[0];
  c->pos += 4;
  return TRUE;
}

/* An IEEE-754 double in network byte order, as AMF0 numbers and dates carry it. */
static inline gboolean rtmp_cursor_f64(RtmpCursor *c, gdouble *out)
{
  if (rtmp_cursor_remaining(c) < 8)
    return FALSE;
  const guint8 *p = c->data + c->pos;
  guint64 bits = 0;
  for (int i = 0; i < 8; i++)
    bits = (bits << 8) | p[i];
  memcpy(out, &bits, sizeof *out);
  c->pos += 8;
  return TRUE;
}

/* Writers for the same encodings, appending to a GByteArray. */
static inline void rtmp_put_u8(GByteArray *out, guint8 v)
{
  g_byte_array_append(out, &v, 1);
}

static inline void rtmp_put_u16(GByteArray *out, guint16 v)
{
  guint8 b[2] = {(guint8)(v >> 8), (guint8)v};
  g_byte_array_append(out, b, sizeof b);
}

static inline void rtmp_put_u24(GByteArray *out, guint32 v)
{
  guint8 b[3] = {(guint8)(v >> 16), (guint8)(v >> 8), (guint8)v};
  g_byte_array_append(out, b, sizeof b);
}

static inline void rtmp_put_u32(GByteArray *out, guint32 v)
{
  guint8 b[4] = {(guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v};
  g_byte_array_append(out, b, sizeof b);
}

static inline void rtmp_put_u32le(GByteArray *out, guint32 v)
{
  guint8 b[4] = {(guint8)v, (guint8)(v >> 8), (guint8)(v >> 16), (guint8)(v >> 24)};
  g_byte_array_append(out, b, sizeof b);
}

static inline void rtmp_put_f64(GByteArray *out, gdouble v)
{
  guint64 bits;
  guint8 b[8];
  memcpy(&bits, &v, sizeof bits);
  for (int i = 7; i >= 0; i--) {
    b[i] = (guint8)bits;
    bits >>= 8;
  }
  g_byte_array_append(out, b, sizeof b);
}

G_END_DECLS
