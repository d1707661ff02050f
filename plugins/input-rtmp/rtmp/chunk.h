/*
 * rtmp/chunk.h - RTMP chunk stream: a reader that reassembles messages and a writer that splits
 * them.
 *
 * The reader is fed arbitrary slices of the byte stream that follows the handshake (one byte at a
 * time works) and hands back complete messages with absolute timestamps: deltas from type 1/2/3
 * headers are accumulated per chunk stream, modulo 2^32 as the protocol wraps. It implements the
 * four header formats, 1/2/3-byte chunk stream ids, extended timestamps (a type 3 chunk repeats the
 * extended timestamp whenever the last type 0/1/2 header on its chunk stream had one, per the 2012
 * spec and what ffmpeg, librtmp and Flash send) and the rule that a type 3 header starting a new
 * message reuses the previous delta (for a type 3 after a type 0, the type 0's timestamp).
 *
 * Protocol control messages that change parsing are applied inside the reader before the next
 * byte is parsed: Set Chunk Size (1) and Abort (2). They are still returned to the caller, as are
 * all other messages (Acknowledgement 3, User Control 4, Window Ack Size 5, Set Peer Bandwidth 6,
 * media, commands). The reader counts every byte it consumes so that the caller can send
 * Acknowledgements when the peer's window is crossed.
 *
 * Memory is bounded by RtmpChunkLimits: chunk size, message size, number of chunk streams tracked
 * and total payload bytes held in incomplete messages. Buffers grow with bytes actually received,
 * not with declared lengths. Exceeding a cap is an RTMP_ERROR_LIMIT error; any error is final
 * (later feeds fail too) and the connection must be closed.
 *
 * The writer serialises one message as a type 0 chunk followed by type 3 continuations for a given
 * outgoing chunk size, with extended timestamps when the timestamp is >= 0xFFFFFF.
 *
 * Ownership: rtmp_chunk_reader_new() returns (transfer full), freed with rtmp_chunk_reader_free()
 * or g_autoptr. Messages handed out are (transfer full), freed with rtmp_message_free(). Input
 * buffers are borrowed (transfer none) for the duration of a call.
 * Thread-safety: none; a reader belongs to one connection and is driven by one thread at a time.
 */
#pragma once

#include <glib.h>

#include "rtmp/error.h"

G_BEGIN_DECLS

#define RTMP_DEFAULT_CHUNK_SIZE 128
/* The largest chunk size a peer may set: the spec allows up to 0x7FFFFFFF, we refuse more. */
#define RTMP_MAX_CHUNK_SIZE (16u * 1024u * 1024u)
/* The largest csid expressible: the 3-byte form carries 64 + 65535. */
#define RTMP_MAX_CHUNK_STREAM_ID 65599u
/* Timestamps at or above this value go into the extended timestamp field. */
#define RTMP_EXTENDED_TIMESTAMP 0xFFFFFFu
/* The message length field is 24 bits. */
#define RTMP_MAX_MESSAGE_LENGTH 0xFFFFFFu

/* Message type ids. */
typedef enum {
  RTMP_MSG_SET_CHUNK_SIZE = 1,
  RTMP_MSG_ABORT = 2,
  RTMP_MSG_ACKNOWLEDGEMENT = 3,
  RTMP_MSG_USER_CONTROL = 4,
  RTMP_MSG_WINDOW_ACK_SIZE = 5,
  RTMP_MSG_SET_PEER_BANDWIDTH = 6,
  RTMP_MSG_AUDIO = 8,
  RTMP_MSG_VIDEO = 9,
  RTMP_MSG_DATA_AMF3 = 15,
  RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
  RTMP_MSG_COMMAND_AMF3 = 17,
  RTMP_MSG_DATA_AMF0 = 18,
  RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
  RTMP_MSG_COMMAND_AMF0 = 20,
  RTMP_MSG_AGGREGATE = 22,
} RtmpMessageType;

/* User Control (type 4) event types. */
typedef enum {
  RTMP_USER_CONTROL_STREAM_BEGIN = 0,
  RTMP_USER_CONTROL_STREAM_EOF = 1,
  RTMP_USER_CONTROL_STREAM_DRY = 2,
  RTMP_USER_CONTROL_SET_BUFFER_LENGTH = 3,
  RTMP_USER_CONTROL_STREAM_IS_RECORDED = 4,
  RTMP_USER_CONTROL_PING_REQUEST = 6,
  RTMP_USER_CONTROL_PING_RESPONSE = 7,
} RtmpUserControlEvent;

/* Set Peer Bandwidth limit types. */
typedef enum {
  RTMP_PEER_BANDWIDTH_HARD = 0,
  RTMP_PEER_BANDWIDTH_SOFT = 1,
  RTMP_PEER_BANDWIDTH_DYNAMIC = 2,
} RtmpPeerBandwidthLimit;

/* One reassembled message. */
typedef struct {
  guint8 type_id;
  guint32 stream_id;       /* message stream id */
  guint32 chunk_stream_id; /* the chunk stream it arrived on */
  guint32 timestamp;       /* absolute, in milliseconds, wrapping at 2^32 */
  GBytes *payload;         /* never NULL; may be empty */
} RtmpMessage;

void rtmp_message_free(RtmpMessage *message);

typedef struct {
  guint32 max_chunk_size;   /* largest Set Chunk Size accepted (<= RTMP_MAX_CHUNK_SIZE) */
  guint32 max_message_size; /* largest declared message length accepted */
  guint max_chunk_streams;  /* distinct chunk stream ids tracked per connection */
  gsize max_buffered;       /* payload bytes held across all incomplete messages */
} RtmpChunkLimits;

/* The defaults: 16 MiB chunk size, 16 MiB messages, 64 chunk streams, 32 MiB buffered. */
void rtmp_chunk_limits_init_default(RtmpChunkLimits *limits);

typedef struct _RtmpChunkReader RtmpChunkReader;

/* limits may be NULL for the defaults; it is copied. */
RtmpChunkReader *rtmp_chunk_reader_new(const RtmpChunkLimits *limits);
void rtmp_chunk_reader_free(RtmpChunkReader *reader);

typedef enum {
  RTMP_CHUNK_NEED_MORE, /* all of the input was consumed without completing a message */
  RTMP_CHUNK_MESSAGE,   /* *message was set; *consumed may be less than len */
  RTMP_CHUNK_ERROR,     /* error was set; the stream cannot be resynchronised */
} RtmpChunkStatus;

/* Parses from data until one message completes or the input runs out. *consumed is set to the
 * number of bytes used in every case; on RTMP_CHUNK_MESSAGE the caller feeds the remainder
 * (data + *consumed) next. *message receives a (transfer full) message. */
RtmpChunkStatus rtmp_chunk_reader_feed(RtmpChunkReader *reader, const guint8 *data, gsize len,
                                       gsize *consumed, RtmpMessage **message, GError **error);

/* Convenience loop over rtmp_chunk_reader_feed(): appends every completed message to messages (a
 * GPtrArray the caller created, ideally with rtmp_message_free as free function). Returns FALSE
 * with error set on a protocol error; messages completed before it are still appended. */
gboolean rtmp_chunk_reader_feed_all(RtmpChunkReader *reader, const guint8 *data, gsize len,
                                    GPtrArray *messages, GError **error);

/* The chunk size currently applied to incoming chunks (128 until the peer sets it). */
guint32 rtmp_chunk_reader_get_chunk_size(const RtmpChunkReader *reader);
/* Bytes consumed since creation, for the Acknowledgement sequence number. */
guint64 rtmp_chunk_reader_get_bytes_received(const RtmpChunkReader *reader);
/* Payload bytes currently held in incomplete messages. */
gsize rtmp_chunk_reader_get_buffered(const RtmpChunkReader *reader);

/* Appends message to out as chunks of at most chunk_size payload bytes: a type 0 chunk, then type
 * 3 continuation chunks, each carrying the extended timestamp when timestamp >= 0xFFFFFF.
 * Returns FALSE with error set when csid is outside 2..65599, chunk_size is 0 or above
 * RTMP_MAX_CHUNK_SIZE, or len exceeds the 24-bit length field; out is then unchanged. */
gboolean rtmp_chunk_write(GByteArray *out, guint32 chunk_size, guint32 csid, guint8 type_id,
                          guint32 stream_id, guint32 timestamp, const guint8 *payload, gsize len,
                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtmpMessage, rtmp_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtmpChunkReader, rtmp_chunk_reader_free)

G_END_DECLS
