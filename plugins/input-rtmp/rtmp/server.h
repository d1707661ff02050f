/*
 * rtmp/server.h - one RTMP publishing connection, server side, without any I/O.
 *
 * RtmpServerConn turns the bytes a publisher sends into callbacks and the bytes to send back.
 * The caller owns the socket: it passes whatever it read to rtmp_server_conn_feed(), then writes
 * out what rtmp_server_conn_take_output() returns. Nothing here blocks, reads a clock, touches a
 * socket or a main loop, so the whole protocol can be driven byte by byte from a test or fuzzer.
 *
 * What the engine does:
 *  - the handshake (plain and digest forms, see handshake.h);
 *  - connect: replies Window Ack Size 2500000, Set Peer Bandwidth 2500000 (dynamic), Set Chunk
 *    Size 4096 (our outgoing direction) and _result NetConnection.Connect.Success;
 *  - releaseStream (no reply), FCPublish (onFCPublish), createStream (_result with a stream id,
 *    1 for the first), publish (-> on_publish; the answer comes from the caller, maybe later,
 *    through rtmp_server_conn_accept_publish() or rtmp_server_conn_reject_publish());
 *  - FCUnpublish / closeStream / deleteStream while publishing (-> on_unpublish);
 *  - @setDataFrame / onMetaData data messages (-> on_metadata), audio and video (-> on_media),
 *    aggregate messages split into their audio/video/data sub-messages;
 *  - Acknowledgements each time the peer's window of received bytes is crossed (the window the
 *    client announces, at least 4096, else the one we announced), Ping Responses to Ping
 *    Requests;
 *  - commands arriving as AMF3 command messages (type 17) are read when they carry AMF0 values.
 * Unknown commands and data messages are logged through on_log and ignored. Protocol violations
 * (malformed chunks or commands, a command other than connect first, media before the publish
 * was accepted, caps exceeded) make feed() return FALSE: the connection must then be closed.
 *
 * Finishing: after a rejected publish (or a rejected connect) the engine is "finished"
 * (rtmp_server_conn_is_finished()); the caller writes out the remaining output (the onStatus the
 * client should see) and closes. Input fed to a finished connection is discarded. After the
 * client unpublishes, the engine is in RTMP_SERVER_STATE_UNPUBLISHED and not finished: encoders
 * send deleteStream after FCUnpublish and then close the socket themselves, and some (rtmp2sink)
 * report an error if the server closes first, so the caller waits for EOF, ideally with a short
 * timeout. Media arriving after the unpublish is dropped. If the socket closes while
 * rtmp_server_conn_is_publishing() is TRUE, the caller ends the session itself: on_unpublish
 * only reports an explicit unpublish by the client.
 *
 * Stream keys are secrets: nothing passed to on_log contains the publish name, tcUrl or app.
 *
 * Callbacks are invoked synchronously from inside rtmp_server_conn_feed() (and on_metadata /
 * on_media never from anywhere else). A callback may call rtmp_server_conn_accept_publish(),
 * rtmp_server_conn_reject_publish() and the getters, but must not call rtmp_server_conn_feed()
 * or free the connection. All pointer arguments of callbacks are (transfer none) and valid only
 * for the duration of the call.
 *
 * Ownership: rtmp_server_conn_new() returns (transfer full), freed with rtmp_server_conn_free()
 * or g_autoptr(RtmpServerConn). The callbacks table is copied; user_data is borrowed and must
 * outlive the connection. Getters return (transfer none) strings owned by the connection.
 * Thread-safety: none. One connection is used by one thread at a time (the caller serialises
 * feed, take_output, accept and reject, e.g. by using it only from its main loop).
 */
#pragma once

#include <glib.h>

#include "rtmp/amf0.h"
#include "rtmp/chunk.h"
#include "rtmp/error.h"
#include "rtmp/handshake.h"

G_BEGIN_DECLS

/* What we announce in the connect reply. */
#define RTMP_SERVER_WINDOW_ACK_SIZE 2500000u
#define RTMP_SERVER_PEER_BANDWIDTH  2500000u
#define RTMP_SERVER_CHUNK_SIZE      4096u

typedef struct _RtmpServerConn RtmpServerConn;

typedef enum {
  RTMP_MEDIA_AUDIO = 8,
  RTMP_MEDIA_VIDEO = 9,
} RtmpMediaType;

typedef enum {
  RTMP_SERVER_STATE_HANDSHAKE,       /* waiting for C0/C1/C2 */
  RTMP_SERVER_STATE_WAIT_CONNECT,    /* handshake done, waiting for the connect command */
  RTMP_SERVER_STATE_CONNECTED,       /* connect answered, waiting for publish */
  RTMP_SERVER_STATE_PUBLISH_PENDING, /* on_publish called, waiting for accept/reject */
  RTMP_SERVER_STATE_PUBLISHING,      /* publish accepted, media flows */
  RTMP_SERVER_STATE_UNPUBLISHED,     /* the client ended its publish; wait for it to close */
  RTMP_SERVER_STATE_FINISHED,        /* rejected: flush output and close */
  RTMP_SERVER_STATE_FAILED,          /* protocol error: close */
} RtmpServerState;

typedef struct {
  /* Mandatory. The client asked to publish. app is the connect command's app, publish_name the
   * name exactly as sent, stream_key the key derived by rtmp_stream_key_extract() (never NULL:
   * a publish without a key is rejected with NetStream.Publish.BadName before this is called).
   * Answer with rtmp_server_conn_accept_publish() or rtmp_server_conn_reject_publish(), from
   * inside the callback or later. */
  void (*on_publish)(RtmpServerConn *conn, const gchar *app, const gchar *publish_name,
                     const gchar *stream_key, gpointer user_data);
  /* Optional. The client ended its publish (FCUnpublish, closeStream or deleteStream) after
   * on_publish was called, accepted or still pending; called at most once. */
  void (*on_unpublish)(RtmpServerConn *conn, gpointer user_data);
  /* Optional. onMetaData while publishing. metadata is the decoded object or ECMA array;
   * script_body is the AMF0 encoding of the string "onMetaData" followed by that value, i.e. the
   * body of an FLV script tag (without the @setDataFrame wrapper). */
  void (*on_metadata)(RtmpServerConn *conn, const RtmpAmfValue *metadata, const guint8 *script_body,
                      gsize script_len, gpointer user_data);
  /* Optional. An audio or video message while publishing: payload is an FLV tag body, the
   * timestamp is absolute in milliseconds (32-bit, wrapping). */
  void (*on_media)(RtmpServerConn *conn, RtmpMediaType type, guint32 timestamp_ms,
                   const guint8 *payload, gsize len, gpointer user_data);
  /* Optional. Diagnostics; level is one of G_LOG_LEVEL_{WARNING,MESSAGE,INFO,DEBUG}. Messages
   * never contain stream keys. After 100 "ignored message" lines further ones are suppressed. */
  void (*on_log)(RtmpServerConn *conn, GLogLevelFlags level, const gchar *message,
                 gpointer user_data);
  /* Optional. Randomness for the handshake (NULL: OpenSSL RAND_bytes); gets user_data. */
  RtmpRandomFunc fill_random;
} RtmpServerCallbacks;

RtmpServerConn *rtmp_server_conn_new(const RtmpServerCallbacks *cb, gpointer user_data);
void rtmp_server_conn_free(RtmpServerConn *conn);

/* Processes len bytes read from the socket. Returns FALSE with error set on a protocol error;
 * the connection must then be closed (output produced before the error may still be sent). */
gboolean rtmp_server_conn_feed(RtmpServerConn *conn, const guint8 *data, gsize len, GError **error);

/* The bytes to send, (transfer full); NULL when there are none. Drain after every feed() and
 * after accept/reject. */
GBytes *rtmp_server_conn_take_output(RtmpServerConn *conn);
/* Moves the pending output to the end of dest instead. */
void rtmp_server_conn_append_output(RtmpServerConn *conn, GByteArray *dest);
/* Number of output bytes waiting. */
gsize rtmp_server_conn_get_output_size(const RtmpServerConn *conn);

/* Answers a pending publish: User Control StreamBegin + onStatus NetStream.Publish.Start; media
 * is accepted from then on. Returns FALSE (and does nothing) when no publish is pending, e.g.
 * because the client unpublished meanwhile. */
gboolean rtmp_server_conn_accept_publish(RtmpServerConn *conn);
/* Refuses a pending publish: onStatus with level "error", the given code (e.g.
 * "NetStream.Publish.BadName") and description; the connection is finished afterwards.
 * Returns FALSE (and does nothing) when no publish is pending. */
gboolean rtmp_server_conn_reject_publish(RtmpServerConn *conn, const gchar *code,
                                         const gchar *description);

RtmpServerState rtmp_server_conn_get_state(const RtmpServerConn *conn);
/* TRUE in RTMP_SERVER_STATE_FINISHED or RTMP_SERVER_STATE_FAILED. */
gboolean rtmp_server_conn_is_finished(const RtmpServerConn *conn);
/* TRUE between accept and the end of the publish. */
gboolean rtmp_server_conn_is_publishing(const RtmpServerConn *conn);

/* From the connect command; NULL before it. May contain the stream key: do not log. */
const gchar *rtmp_server_conn_get_app(const RtmpServerConn *conn);
const gchar *rtmp_server_conn_get_tc_url(const RtmpServerConn *conn);
/* The encoder's self-description, e.g. "FMLE/3.0 (compatible; FMSc/1.0)"; NULL if not sent. */
const gchar *rtmp_server_conn_get_flash_ver(const RtmpServerConn *conn);
/* From the publish command; NULL before it. Secrets: do not log. */
const gchar *rtmp_server_conn_get_publish_name(const RtmpServerConn *conn);
const gchar *rtmp_server_conn_get_stream_key(const RtmpServerConn *conn);
/* Chunk stream bytes received so far (after the handshake). */
guint64 rtmp_server_conn_get_bytes_received(const RtmpServerConn *conn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtmpServerConn, rtmp_server_conn_free)

G_END_DECLS
