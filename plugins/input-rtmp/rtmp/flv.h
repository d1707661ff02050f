/*
 * rtmp/flv.h - write the FLV container framing around RTMP media and data messages.
 *
 * An RTMP audio, video or data message payload is exactly an FLV tag body, so turning a publish
 * into an FLV byte stream (what GStreamer's flvdemux reads) only needs the 13-byte file prologue
 * once and an 11-byte tag header plus a 4-byte back pointer around each payload.
 *
 * Ownership: output is appended to a caller-owned GByteArray; payloads are (transfer none).
 * Thread-safety: pure functions, callable from any thread on distinct arrays.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTMP_FLV_HEADER_SIZE     13 /* 9-byte header + PreviousTagSize0 */
#define RTMP_FLV_TAG_HEADER_SIZE 11

typedef enum {
  RTMP_FLV_TAG_AUDIO = 8,
  RTMP_FLV_TAG_VIDEO = 9,
  RTMP_FLV_TAG_SCRIPT = 18,
} RtmpFlvTagType;

/* Appends "FLV", version 1, the audio/video presence flags, the header size (9) and the zero
 * PreviousTagSize0 that precedes the first tag: 13 bytes in all. */
void rtmp_flv_write_header(GByteArray *out, gboolean has_audio, gboolean has_video);

/* Appends one tag: type, 24-bit data size, the timestamp's low 24 bits then its high 8 bits,
 * stream id 0, the payload and the 32-bit PreviousTagSize (11 + len). Returns FALSE, leaving out
 * unchanged, when len does not fit the 24-bit size field. */
gboolean rtmp_flv_write_tag(GByteArray *out, guint8 type, guint32 timestamp_ms,
                            const guint8 *payload, gsize len);

G_END_DECLS
