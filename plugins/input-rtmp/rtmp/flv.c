/* rtmp/flv.c - FLV header and tag framing; see flv.h. */
#include "rtmp/flv.h"

#include "rtmp/cursor.h"

#define FLV_FLAG_AUDIO    0x04
#define FLV_FLAG_VIDEO    0x01
#define FLV_MAX_DATA_SIZE 0xFFFFFFu

void rtmp_flv_write_header(GByteArray *out, gboolean has_audio, gboolean has_video)
{
  g_return_if_fail(out != NULL);
  static const guint8 signature[4] = {'F', 'L', 'V', 1};
  g_byte_array_append(out, signature, sizeof signature);
  rtmp_put_u8(out, (guint8)((has_audio ? FLV_FLAG_AUDIO : 0) | (has_video ? FLV_FLAG_VIDEO : 0)));
  rtmp_put_u32(out, 9);
  rtmp_put_u32(out, 0);
}

gboolean rtmp_flv_write_tag(GByteArray *out, guint8 type, guint32 timestamp_ms,
                            const guint8 *payload, gsize len)
{
  g_return_val_if_fail(out != NULL, FALSE);
  g_return_val_if_fail(payload != NULL || len == 0, FALSE);
  if (len > FLV_MAX_DATA_SIZE)
    return FALSE;
  rtmp_put_u8(out, type);
  rtmp_put_u24(out, (guint32)len);
  rtmp_put_u24(out, timestamp_ms & 0xFFFFFFu);
  rtmp_put_u8(out, (guint8)(timestamp_ms >> 24));
  rtmp_put_u24(out, 0);
  if (len > 0)
    g_byte_array_append(out, payload, (guint)len);
  rtmp_put_u32(out, (guint32)(RTMP_FLV_TAG_HEADER_SIZE + len));
  return TRUE;
}
