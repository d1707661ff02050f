/* rtmp/chunk.c - chunk stream reader and writer; see chunk.h for the contract. */
#include "rtmp/chunk.h"

#include <string.h>

#include "rtmp/cursor.h"

/* Initial allocation for a message buffer; it grows with the bytes that actually arrive so that a
 * declared length costs nothing until the peer pays for it in bytes. */
#define INITIAL_MESSAGE_ALLOC 4096u

/* Per chunk stream id: the header fields later chunks inherit, and the message being assembled. */
typedef struct {
  guint32 csid;
  guint32 timestamp; /* absolute timestamp of the last message started here */
  guint32 delta;     /* delta a type 3 header starting a message adds */
  gboolean extended; /* the last type 0/1/2 header used the extended timestamp field */
  guint32 length;
  guint8 type_id;
  guint32 stream_id;
  GByteArray *partial; /* payload so far; NULL between messages */
} ChunkStream;

typedef enum {
  PHASE_BASIC_FIRST, /* waiting for the first basic header byte */
  PHASE_BASIC_REST,  /* 2- or 3-byte basic header */
  PHASE_MESSAGE,     /* message header (11/7/3/0 bytes) */
  PHASE_EXTENDED,    /* extended timestamp */
  PHASE_PAYLOAD,
} Phase;

/* Largest header: 3 basic + 11 message + 4 extended timestamp. */
#define MAX_HEADER_LEN 18

struct _RtmpChunkReader {
  RtmpChunkLimits limits;
  guint32 chunk_size;
  guint64 bytes_received;
  gsize buffered;
  gboolean failed;

  Phase phase;
  guint8 header[MAX_HEADER_LEN];
  gsize header_len;  /* bytes collected */
  gsize header_need; /* bytes the current phase needs collected in total */
  guint fmt;
  guint32 csid;
  gsize basic_len;

  ChunkStream *current; /* stream whose payload is being read in PHASE_PAYLOAD */
  gsize chunk_left;     /* payload bytes left in the current chunk */

  GPtrArray *streams; /* ChunkStream*, at most limits.max_chunk_streams */
};

static const gsize message_header_len[4] = {11, 7, 3, 0};

void rtmp_message_free(RtmpMessage *message)
{
  if (message == NULL)
    return;
  g_bytes_unref(message->payload);
  g_free(message);
}

void rtmp_chunk_limits_init_default(RtmpChunkLimits *limits)
{
  g_return_if_fail(limits != NULL);
  limits->max_chunk_size = RTMP_MAX_CHUNK_SIZE;
  limits->max_message_size = 16u * 1024u * 1024u;
  limits->max_chunk_streams = 64;
  limits->max_buffered = 32u * 1024u * 1024u;
}

static void chunk_stream_free(gpointer data)
{
  ChunkStream *s = data;
  if (s->partial != NULL)
    g_byte_array_unref(s->partial);
  g_free(s);
}

RtmpChunkReader *rtmp_chunk_reader_new(const RtmpChunkLimits *limits)
{
  RtmpChunkReader *r = g_new0(RtmpChunkReader, 1);
  if (limits != NULL)
    r->limits = *limits;
  else
    rtmp_chunk_limits_init_default(&r->limits);
  if (r->limits.max_chunk_size == 0 || r->limits.max_chunk_size > RTMP_MAX_CHUNK_SIZE)
    r->limits.max_chunk_size = RTMP_MAX_CHUNK_SIZE;
  r->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
  r->phase = PHASE_BASIC_FIRST;
  r->header_need = 1;
  r->streams = g_ptr_array_new_with_free_func(chunk_stream_free);
  return r;
}

void rtmp_chunk_reader_free(RtmpChunkReader *reader)
{
  if (reader == NULL)
    return;
  g_ptr_array_unref(reader->streams);
  g_free(reader);
}

guint32 rtmp_chunk_reader_get_chunk_size(const RtmpChunkReader *reader)
{
  g_return_val_if_fail(reader != NULL, 0);
  return reader->chunk_size;
}

guint64 rtmp_chunk_reader_get_bytes_received(const RtmpChunkReader *reader)
{
  g_return_val_if_fail(reader != NULL, 0);
  return reader->bytes_received;
}

gsize rtmp_chunk_reader_get_buffered(const RtmpChunkReader *reader)
{
  g_return_val_if_fail(reader != NULL, 0);
  return reader->buffered;
}

static ChunkStream *find_stream(RtmpChunkReader *r, guint32 csid)
{
  for (guint i = 0; i < r->streams->len; i++) {
    ChunkStream *s = g_ptr_array_index(r->streams, i);
    if (s->csid == csid)
      return s;
  }
  return NULL;
}

static gboolean fail(RtmpChunkReader *r, GError **error, RtmpError code, const char *format, ...)
    G_GNUC_PRINTF(4, 5);

static gboolean fail(RtmpChunkReader *r, GError **error, RtmpError code, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree gchar *message = g_strdup_vprintf(format, args);
  va_end(args);
  r->failed = TRUE;
  g_set_error(error, RTMP_ERROR, code, "chunk stream: %s (at byte %" G_GUINT64_FORMAT ")", message,
              r->bytes_received);
  return FALSE;
}

/* A new chunk stream id starts from zeroed header state. Type 1/2/3 chunks on an id never seen
 * with a type 0 are technically invalid, but librtmp can emit a type 1 header first when its
 * first media packet has a non-zero timestamp, so we accept them rather than drop the client. */
static ChunkStream *get_stream(RtmpChunkReader *r, guint32 csid, GError **error)
{
  ChunkStream *s = find_stream(r, csid);
  if (s != NULL)
    return s;
  if (r->streams->len >= r->limits.max_chunk_streams) {
    fail(r, error, RTMP_ERROR_LIMIT, "more than %u chunk streams in use",
         r->limits.max_chunk_streams);
    return NULL;
  }
  s = g_new0(ChunkStream, 1);
  s->csid = csid;
  g_ptr_array_add(r->streams, s);
  return s;
}

static guint32 read_u24(const guint8 *p)
{
  return ((guint32)p[0] << 16) | ((guint32)p[1] << 8) | p[2];
}

static guint32 read_u32(const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

/* Applies a complete chunk header to its chunk stream: updates the inherited fields, accumulates
 * the timestamp and starts a new message unless this chunk continues one. */
static gboolean apply_header(RtmpChunkReader *r, GError **error)
{
  const guint8 *mh = r->header + r->basic_len;
  const guint8 *ext = mh + message_header_len[r->fmt];
  ChunkStream *s = get_stream(r, r->csid, error);
  if (s == NULL)
    return FALSE;

  if (r->fmt != 3 && s->partial != NULL)
    return fail(r, error, RTMP_ERROR_MALFORMED,
                "type %u header on chunk stream %u while a message is incomplete (%u of %u bytes)",
                r->fmt, r->csid, s->partial->len, s->length);

  if (r->fmt < 3) {
    guint32 field = read_u24(mh);
    guint32 value = field == RTMP_EXTENDED_TIMESTAMP ? read_u32(ext) : field;
    s->extended = field == RTMP_EXTENDED_TIMESTAMP;
    if (r->fmt == 0) {
      s->timestamp = value;
      s->delta = value; /* a type 3 after a type 0 repeats the type 0's timestamp as delta */
    } else {
      s->timestamp += value;
      s->delta = value;
    }
    if (r->fmt <= 1) {
      s->length = read_u24(mh + 3);
      s->type_id = mh[6];
    }
    if (r->fmt == 0) {
      RtmpCursor c;
      rtmp_cursor_init(&c, mh + 7, 4);
      rtmp_cursor_u32le(&c, &s->stream_id);
    }
  } else if (s->partial == NULL) {
    /* A type 3 header starting a message: same length, type and stream, previous delta. Any
     * extended timestamp it carried repeats the inherited delta and is ignored. */
    s->timestamp += s->delta;
  }

  if (s->partial == NULL) {
    if (s->length > r->limits.max_message_size)
      return fail(r, error, RTMP_ERROR_LIMIT, "message of %u bytes on chunk stream %u exceeds %u",
                  s->length, s->csid, r->limits.max_message_size);
    s->partial = g_byte_array_sized_new(MIN(s->length, INITIAL_MESSAGE_ALLOC));
  }

  r->current = s;
  r->chunk_left = MIN((gsize)r->chunk_size, (gsize)(s->length - s->partial->len));
  r->phase = PHASE_PAYLOAD;
  return TRUE;
}

/* Advances through the header phases as far as the collected bytes allow. Returns FALSE on
 * error; when the header is complete the phase becomes PHASE_PAYLOAD. */
static gboolean header_progress(RtmpChunkReader *r, GError **error)
{
  for (;;) {
    if (r->header_len < r->header_need)
      return TRUE;
    switch (r->phase) {
    case PHASE_BASIC_FIRST: {
      guint low = r->header[0] & 0x3F;
      r->fmt = r->header[0] >> 6;
      r->basic_len = low == 0 ? 2 : low == 1 ? 3 : 1;
      r->phase = PHASE_BASIC_REST;
      r->header_need = r->basic_len;
      break;
    }
    case PHASE_BASIC_REST: {
      guint low = r->header[0] & 0x3F;
      if (low == 0)
        r->csid = 64 + r->header[1];
      else if (low == 1)
        r->csid = 64 + r->header[1] + ((guint32)r->header[2] << 8);
      else
        r->csid = low;
      r->phase = PHASE_MESSAGE;
      r->header_need = r->basic_len + message_header_len[r->fmt];
      break;
    }
    case PHASE_MESSAGE: {
      gboolean extended;
      if (r->fmt < 3) {
        extended = read_u24(r->header + r->basic_len) == RTMP_EXTENDED_TIMESTAMP;
      } else {
        ChunkStream *s = find_stream(r, r->csid);
        extended = s != NULL && s->extended;
      }
      r->phase = PHASE_EXTENDED;
      r->header_need += extended ? 4 : 0;
      break;
    }
    case PHASE_EXTENDED:
      return apply_header(r, error);
    case PHASE_PAYLOAD:
      return TRUE;
    }
  }
}

static void reset_header(RtmpChunkReader *r)
{
  r->phase = PHASE_BASIC_FIRST;
  r->header_len = 0;
  r->header_need = 1;
  r->current = NULL;
  r->chunk_left = 0;
}

/* Protocol control messages that change how the following bytes parse take effect here, before
 * the caller sees the message and before the next chunk header is read. */
static gboolean apply_control(RtmpChunkReader *r, const RtmpMessage *m, GError **error)
{
  if (m->type_id != RTMP_MSG_SET_CHUNK_SIZE && m->type_id != RTMP_MSG_ABORT)
    return TRUE;
  gsize len;
  const guint8 *p = g_bytes_get_data(m->payload, &len);
  RtmpCursor c;
  guint32 value;
  rtmp_cursor_init(&c, p, len);
  if (!rtmp_cursor_u32(&c, &value))
    return fail(r, error, RTMP_ERROR_MALFORMED, "%s message of %" G_GSIZE_FORMAT " bytes",
                m->type_id == RTMP_MSG_SET_CHUNK_SIZE ? "Set Chunk Size" : "Abort", len);

  if (m->type_id == RTMP_MSG_SET_CHUNK_SIZE) {
    if (value == 0 || value > 0x7FFFFFFFu)
      return fail(r, error, RTMP_ERROR_MALFORMED, "invalid chunk size %u", value);
    if (value > r->limits.max_chunk_size)
      return fail(r, error, RTMP_ERROR_LIMIT, "chunk size %u exceeds %u", value,
                  r->limits.max_chunk_size);
    r->chunk_size = value;
  } else {
    ChunkStream *s = find_stream(r, value);
    if (s != NULL && s->partial != NULL) {
      r->buffered -= s->partial->len;
      g_clear_pointer(&s->partial, g_byte_array_unref);
    }
  }
  return TRUE;
}

static RtmpMessage *finish_message(RtmpChunkReader *r, ChunkStream *s)
{
  RtmpMessage *m = g_new0(RtmpMessage, 1);
  m->type_id = s->type_id;
  m->stream_id = s->stream_id;
  m->chunk_stream_id = s->csid;
  m->timestamp = s->timestamp;
  r->buffered -= s->partial->len;
  m->payload = g_byte_array_free_to_bytes(g_steal_pointer(&s->partial));
  return m;
}

RtmpChunkStatus rtmp_chunk_reader_feed(RtmpChunkReader *reader, const guint8 *data, gsize len,
                                       gsize *consumed, RtmpMessage **message, GError **error)
{
  g_return_val_if_fail(reader != NULL && consumed != NULL && message != NULL, RTMP_CHUNK_ERROR);
  g_return_val_if_fail(data != NULL || len == 0, RTMP_CHUNK_ERROR);
  RtmpChunkReader *r = reader;
  gsize pos = 0;
  RtmpChunkStatus status = RTMP_CHUNK_NEED_MORE;

  *consumed = 0;
  *message = NULL;
  if (r->failed) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_PROTOCOL, "chunk stream: fed after an error");
    return RTMP_CHUNK_ERROR;
  }

  while (status == RTMP_CHUNK_NEED_MORE) {
    if (r->phase != PHASE_PAYLOAD) {
      if (pos == len && r->header_len < r->header_need)
        break;
      gsize take = MIN(len - pos, r->header_need - r->header_len);
      memcpy(r->header + r->header_len, data + pos, take);
      r->header_len += take;
      pos += take;
      r->bytes_received += take;
      if (!header_progress(r, error)) {
        status = RTMP_CHUNK_ERROR;
        break;
      }
      if (r->phase != PHASE_PAYLOAD)
        continue;
    }

    ChunkStream *s = r->current;
    gsize take = MIN(len - pos, r->chunk_left);
    if (take > 0) {
      if (take > r->limits.max_buffered - r->buffered) {
        fail(r, error, RTMP_ERROR_LIMIT,
             "more than %" G_GSIZE_FORMAT " bytes of incomplete messages", r->limits.max_buffered);
        status = RTMP_CHUNK_ERROR;
        break;
      }
      g_byte_array_append(s->partial, data + pos, (guint)take);
      r->buffered += take;
      r->chunk_left -= take;
      pos += take;
      r->bytes_received += take;
    }

    if (s->partial->len == s->length) {
      g_autoptr(RtmpMessage) m = finish_message(r, s);
      reset_header(r);
      if (!apply_control(r, m, error)) {
        status = RTMP_CHUNK_ERROR;
        break;
      }
      *message = g_steal_pointer(&m);
      status = RTMP_CHUNK_MESSAGE;
    } else if (r->chunk_left == 0) {
      reset_header(r);
    } else {
      break; /* input exhausted inside the chunk */
    }
  }

  *consumed = pos;
  return status;
}

gboolean rtmp_chunk_reader_feed_all(RtmpChunkReader *reader, const guint8 *data, gsize len,
                                    GPtrArray *messages, GError **error)
{
  g_return_val_if_fail(messages != NULL, FALSE);
  gsize pos = 0;
  for (;;) {
    gsize used = 0;
    RtmpMessage *m = NULL;
    RtmpChunkStatus status =
        rtmp_chunk_reader_feed(reader, data + pos, len - pos, &used, &m, error);
    pos += used;
    if (status == RTMP_CHUNK_ERROR)
      return FALSE;
    if (status == RTMP_CHUNK_NEED_MORE)
      return TRUE;
    g_ptr_array_add(messages, m);
  }
}

static void put_basic_header(GByteArray *out, guint fmt, guint32 csid)
{
  if (csid < 64) {
    rtmp_put_u8(out, (guint8)((fmt << 6) | csid));
  } else if (csid < 64 + 256) {
    rtmp_put_u8(out, (guint8)(fmt << 6));
    rtmp_put_u8(out, (guint8)(csid - 64));
  } else {
    guint32 v = csid - 64;
    rtmp_put_u8(out, (guint8)((fmt << 6) | 1));
    rtmp_put_u8(out, (guint8)(v & 0xFF));
    rtmp_put_u8(out, (guint8)(v >> 8));
  }
}

gboolean rtmp_chunk_write(GByteArray *out, guint32 chunk_size, guint32 csid, guint8 type_id,
                          guint32 stream_id, guint32 timestamp, const guint8 *payload, gsize len,
                          GError **error)
{
  g_return_val_if_fail(out != NULL, FALSE);
  g_return_val_if_fail(payload != NULL || len == 0, FALSE);
  if (csid < 2 || csid > RTMP_MAX_CHUNK_STREAM_ID) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_MALFORMED, "chunk writer: invalid chunk stream id %u",
                csid);
    return FALSE;
  }
  if (chunk_size == 0 || chunk_size > RTMP_MAX_CHUNK_SIZE) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_MALFORMED, "chunk writer: invalid chunk size %u",
                chunk_size);
    return FALSE;
  }
  if (len > RTMP_MAX_MESSAGE_LENGTH) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_LIMIT,
                "chunk writer: message of %" G_GSIZE_FORMAT " bytes exceeds the 24-bit length",
                len);
    return FALSE;
  }

  gboolean extended = timestamp >= RTMP_EXTENDED_TIMESTAMP;
  put_basic_header(out, 0, csid);
  rtmp_put_u24(out, extended ? RTMP_EXTENDED_TIMESTAMP : timestamp);
  rtmp_put_u24(out, (guint32)len);
  rtmp_put_u8(out, type_id);
  rtmp_put_u32le(out, stream_id);
  if (extended)
    rtmp_put_u32(out, timestamp);

  gsize pos = 0;
  for (;;) {
    gsize n = MIN(len - pos, (gsize)chunk_size);
    if (n > 0)
      g_byte_array_append(out, payload + pos, (guint)n);
    pos += n;
    if (pos >= len)
      break;
    put_basic_header(out, 3, csid);
    if (extended)
      rtmp_put_u32(out, timestamp);
  }
  return TRUE;
}
