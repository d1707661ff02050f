/* rtmp/server.c - RTMP server connection engine; see server.h for the contract. */
#include "rtmp/server.h"

#include <string.h>

#include "rtmp/cursor.h"
#include "rtmp/streamkey.h"

/* Chunk stream ids for what we send, as Flash Media Server and nginx-rtmp use them. */
#define CSID_CONTROL 2
#define CSID_COMMAND 3
#define CSID_STREAM  5

/* createStream may be called a few times by odd clients; more than this is abuse. */
#define MAX_STREAMS 16
/* Lines about ignored messages per connection before they are suppressed. */
#define MAX_IGNORED_LOGS 100
/* Smallest acknowledgement window we honour: a client asking for an Acknowledgement every few
 * bytes would otherwise make us send 16 bytes for each byte it sends. */
#define MIN_ACK_WINDOW 4096u

struct _RtmpServerConn {
  RtmpServerCallbacks cb;
  gpointer user_data;
  RtmpServerState state;
  gboolean in_feed;

  RtmpHandshake *handshake; /* NULL once done */
  RtmpChunkReader *reader;
  GByteArray *out;
  guint32 out_chunk_size;

  guint32 ack_window;   /* the peer wants an Acknowledgement every this many bytes */
  guint64 last_ack_at;  /* bytes received when we last acknowledged */
  guint next_stream_id; /* the id the next createStream returns */
  guint32 publish_stream_id;
  guint ignored_logs;

  gchar *app;
  gchar *tc_url;
  gchar *flash_ver;
  gchar *publish_name;
  gchar *stream_key;
};

static void conn_log(RtmpServerConn *conn, GLogLevelFlags level, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static void conn_log(RtmpServerConn *conn, GLogLevelFlags level, const char *format, ...)
{
  if (conn->cb.on_log == NULL)
    return;
  va_list args;
  va_start(args, format);
  g_autofree gchar *message = g_strdup_vprintf(format, args);
  va_end(args);
  conn->cb.on_log(conn, level, message, conn->user_data);
}

/* Ignored messages are the client's choice, so a hostile one could otherwise flood the log. */
static void log_ignored(RtmpServerConn *conn, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void log_ignored(RtmpServerConn *conn, const char *format, ...)
{
  if (conn->cb.on_log == NULL || conn->ignored_logs > MAX_IGNORED_LOGS)
    return;
  if (conn->ignored_logs++ == MAX_IGNORED_LOGS) {
    conn->cb.on_log(conn, G_LOG_LEVEL_DEBUG, "further ignored messages are not logged",
                    conn->user_data);
    return;
  }
  va_list args;
  va_start(args, format);
  g_autofree gchar *message = g_strdup_vprintf(format, args);
  va_end(args);
  conn->cb.on_log(conn, G_LOG_LEVEL_DEBUG, message, conn->user_data);
}

/* A printable, bounded rendering of a client-supplied name for log lines. */
static gchar *printable(const gchar *s, gsize len)
{
  gsize n = MIN(len, (gsize)48);
  GString *out = g_string_sized_new(n + 4);
  for (gsize i = 0; i < n; i++) {
    guchar c = (guchar)s[i];
    g_string_append_c(out, c >= 0x20 && c < 0x7F ? (gchar)c : '?');
  }
  if (n < len)
    g_string_append(out, "...");
  return g_string_free(out, FALSE);
}

RtmpServerConn *rtmp_server_conn_new(const RtmpServerCallbacks *cb, gpointer user_data)
{
  g_return_val_if_fail(cb != NULL && cb->on_publish != NULL, NULL);
  RtmpServerConn *conn = g_new0(RtmpServerConn, 1);
  conn->cb = *cb;
  conn->user_data = user_data;
  conn->state = RTMP_SERVER_STATE_HANDSHAKE;
  conn->handshake = rtmp_handshake_new(cb->fill_random, user_data);
  conn->reader = rtmp_chunk_reader_new(NULL);
  conn->out = g_byte_array_new();
  conn->out_chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
  conn->ack_window = RTMP_SERVER_WINDOW_ACK_SIZE;
  conn->next_stream_id = 1;
  return conn;
}

void rtmp_server_conn_free(RtmpServerConn *conn)
{
  if (conn == NULL)
    return;
  g_return_if_fail(!conn->in_feed);
  rtmp_handshake_free(conn->handshake);
  rtmp_chunk_reader_free(conn->reader);
  g_byte_array_unref(conn->out);
  g_free(conn->app);
  g_free(conn->tc_url);
  g_free(conn->flash_ver);
  g_free(conn->publish_name);
  g_free(conn->stream_key);
  g_free(conn);
}

/* ---- Output ------------------------------------------------------------------------------- */

static void send_message(RtmpServerConn *conn, guint32 csid, guint8 type, guint32 stream_id,
                         const guint8 *payload, gsize len)
{
  /* Our own messages are small and well-formed, so the writer cannot refuse them. */
  gboolean ok = rtmp_chunk_write(conn->out, conn->out_chunk_size, csid, type, stream_id, 0, payload,
                                 len, NULL);
  g_warn_if_fail(ok);
}

static void send_control_u32(RtmpServerConn *conn, guint8 type, guint32 value)
{
  guint8 b[4] = {(guint8)(value >> 24), (guint8)(value >> 16), (guint8)(value >> 8), (guint8)value};
  send_message(conn, CSID_CONTROL, type, 0, b, sizeof b);
}

static void send_user_control(RtmpServerConn *conn, guint16 event, guint32 value)
{
  guint8 b[6] = {(guint8)(event >> 8),  (guint8)event,        (guint8)(value >> 24),
                 (guint8)(value >> 16), (guint8)(value >> 8), (guint8)value};
  send_message(conn, CSID_CONTROL, RTMP_MSG_USER_CONTROL, 0, b, sizeof b);
}

static void send_command(RtmpServerConn *conn, guint32 csid, guint32 stream_id, GByteArray *body)
{
  send_message(conn, csid, RTMP_MSG_COMMAND_AMF0, stream_id, body->data, body->len);
}

static void write_status_object(GByteArray *b, const gchar *level, const gchar *code,
                                const gchar *description)
{
  rtmp_amf_write_object_start(b);
  rtmp_amf_write_key(b, "level");
  rtmp_amf_write_string(b, level);
  rtmp_amf_write_key(b, "code");
  rtmp_amf_write_string(b, code);
  rtmp_amf_write_key(b, "description");
  rtmp_amf_write_string(b, description);
}

/* onStatus(0, null, {level, code, description[, details]}) on the publishing stream. */
static void send_on_status(RtmpServerConn *conn, const gchar *level, const gchar *code,
                           const gchar *description, const gchar *details)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "onStatus");
  rtmp_amf_write_number(b, 0);
  rtmp_amf_write_null(b);
  write_status_object(b, level, code, description);
  if (details != NULL) {
    rtmp_amf_write_key(b, "details");
    rtmp_amf_write_string(b, details);
  }
  rtmp_amf_write_object_end(b);
  send_command(conn, CSID_STREAM, conn->publish_stream_id, b);
}

static void maybe_acknowledge(RtmpServerConn *conn)
{
  guint64 received = rtmp_chunk_reader_get_bytes_received(conn->reader);
  if (received - conn->last_ack_at < conn->ack_window)
    return;
  conn->last_ack_at = received;
  /* The sequence number is a 32-bit count that wraps. */
  send_control_u32(conn, RTMP_MSG_ACKNOWLEDGEMENT, (guint32)received);
}

GBytes *rtmp_server_conn_take_output(RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, NULL);
  if (conn->out->len == 0)
    return NULL;
  GBytes *bytes = g_byte_array_free_to_bytes(conn->out);
  conn->out = g_byte_array_new();
  return bytes;
}

void rtmp_server_conn_append_output(RtmpServerConn *conn, GByteArray *dest)
{
  g_return_if_fail(conn != NULL && dest != NULL);
  if (conn->out->len == 0)
    return;
  g_byte_array_append(dest, conn->out->data, conn->out->len);
  g_byte_array_set_size(conn->out, 0);
}

gsize rtmp_server_conn_get_output_size(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, 0);
  return conn->out->len;
}

/* ---- Commands ----------------------------------------------------------------------------- */

/* A string usable as a C string in callbacks: valid UTF-8, no embedded NUL. */
static gboolean clean_string(const RtmpAmfValue *v)
{
  return v != NULL && v->type == RTMP_AMF_STRING && strlen(v->string.data) == v->string.len &&
         g_utf8_validate(v->string.data, (gssize)v->string.len, NULL);
}

static gchar *dup_clean_property(const RtmpAmfValue *object, const gchar *key)
{
  const RtmpAmfValue *v = rtmp_amf_object_get(object, key);
  return clean_string(v) ? g_strdup(v->string.data) : NULL;
}

static gboolean protocol_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean protocol_error(GError **error, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree gchar *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error_literal(error, RTMP_ERROR, RTMP_ERROR_PROTOCOL, message);
  return FALSE;
}

static void reject_connect(RtmpServerConn *conn, gdouble txn, const gchar *description)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "_error");
  rtmp_amf_write_number(b, txn);
  rtmp_amf_write_null(b);
  write_status_object(b, "error", "NetConnection.Connect.Rejected", description);
  rtmp_amf_write_object_end(b);
  send_command(conn, CSID_COMMAND, 0, b);
  conn->state = RTMP_SERVER_STATE_FINISHED;
  conn_log(conn, G_LOG_LEVEL_MESSAGE, "connect rejected: %s", description);
}

/* The connect reply: announce our acknowledgement window and the bandwidth we allow, raise our
 * outgoing chunk size (which takes effect for the _result that follows), then succeed. */
static void handle_connect(RtmpServerConn *conn, gdouble txn, const RtmpAmfValue *cmd)
{
  if (cmd == NULL || (cmd->type != RTMP_AMF_OBJECT && cmd->type != RTMP_AMF_ECMA_ARRAY)) {
    reject_connect(conn, txn, "connect without a command object");
    return;
  }
  conn->app = dup_clean_property(cmd, "app");
  if (conn->app == NULL) {
    reject_connect(conn, txn, "connect without a valid app");
    return;
  }
  conn->tc_url = dup_clean_property(cmd, "tcUrl");
  conn->flash_ver = dup_clean_property(cmd, "flashVer");
  gdouble encoding = 0;
  rtmp_amf_object_get_number(cmd, "objectEncoding", &encoding);
  if (encoding != 0)
    conn_log(conn, G_LOG_LEVEL_DEBUG, "client asked for objectEncoding %g; answering with AMF0",
             encoding);

  send_control_u32(conn, RTMP_MSG_WINDOW_ACK_SIZE, RTMP_SERVER_WINDOW_ACK_SIZE);
  guint8 bw[5] = {(guint8)(RTMP_SERVER_PEER_BANDWIDTH >> 24),
                  (guint8)(RTMP_SERVER_PEER_BANDWIDTH >> 16),
                  (guint8)(RTMP_SERVER_PEER_BANDWIDTH >> 8), (guint8)RTMP_SERVER_PEER_BANDWIDTH,
                  RTMP_PEER_BANDWIDTH_DYNAMIC};
  send_message(conn, CSID_CONTROL, RTMP_MSG_SET_PEER_BANDWIDTH, 0, bw, sizeof bw);
  send_control_u32(conn, RTMP_MSG_SET_CHUNK_SIZE, RTMP_SERVER_CHUNK_SIZE);
  conn->out_chunk_size = RTMP_SERVER_CHUNK_SIZE;

  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "_result");
  rtmp_amf_write_number(b, txn);
  rtmp_amf_write_object_start(b);
  rtmp_amf_write_key(b, "fmsVer");
  rtmp_amf_write_string(b, "FMS/3,0,1,123");
  rtmp_amf_write_key(b, "capabilities");
  rtmp_amf_write_number(b, 31);
  rtmp_amf_write_object_end(b);
  write_status_object(b, "status", "NetConnection.Connect.Success", "Connection succeeded.");
  rtmp_amf_write_key(b, "objectEncoding");
  rtmp_amf_write_number(b, 0);
  rtmp_amf_write_object_end(b);
  send_command(conn, CSID_COMMAND, 0, b);

  conn->state = RTMP_SERVER_STATE_CONNECTED;
  g_autofree gchar *who = conn->flash_ver != NULL
                              ? printable(conn->flash_ver, strlen(conn->flash_ver))
                              : g_strdup("unknown encoder");
  conn_log(conn, G_LOG_LEVEL_INFO, "connected (%s)", who);
}

static gboolean handle_create_stream(RtmpServerConn *conn, gdouble txn, GError **error)
{
  if (conn->next_stream_id > MAX_STREAMS)
    return protocol_error(error, "more than %d createStream calls", MAX_STREAMS);
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "_result");
  rtmp_amf_write_number(b, txn);
  rtmp_amf_write_null(b);
  rtmp_amf_write_number(b, conn->next_stream_id++);
  send_command(conn, CSID_COMMAND, 0, b);
  return TRUE;
}

static void handle_fc_publish(RtmpServerConn *conn, const RtmpAmfValue *name)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "onFCPublish");
  rtmp_amf_write_number(b, 0);
  rtmp_amf_write_null(b);
  rtmp_amf_write_object_start(b);
  rtmp_amf_write_key(b, "code");
  rtmp_amf_write_string(b, "NetStream.Publish.Start");
  rtmp_amf_write_key(b, "description");
  if (clean_string(name))
    rtmp_amf_write_string(b, name->string.data);
  else
    rtmp_amf_write_string(b, "");
  rtmp_amf_write_object_end(b);
  send_command(conn, CSID_COMMAND, 0, b);
}

static void finish_reject(RtmpServerConn *conn, const gchar *code, const gchar *description)
{
  send_on_status(conn, "error", code, description, NULL);
  conn->state = RTMP_SERVER_STATE_FINISHED;
  conn_log(conn, G_LOG_LEVEL_MESSAGE, "publish rejected: %s", code);
}

static void handle_publish(RtmpServerConn *conn, guint32 stream_id, const RtmpAmfValue *name)
{
  conn->publish_stream_id = stream_id;
  if (name != NULL && name->type != RTMP_AMF_STRING && name->type != RTMP_AMF_NULL &&
      name->type != RTMP_AMF_UNDEFINED) {
    finish_reject(conn, "NetStream.Publish.BadName", "publish name is not a string");
    return;
  }
  if (name != NULL && name->type == RTMP_AMF_STRING && !clean_string(name)) {
    finish_reject(conn, "NetStream.Publish.BadName", "publish name is not valid UTF-8");
    return;
  }
  conn->publish_name =
      g_strdup(name != NULL && name->type == RTMP_AMF_STRING ? name->string.data : "");
  conn->stream_key = rtmp_stream_key_extract(conn->app, conn->publish_name);
  if (conn->stream_key == NULL) {
    finish_reject(conn, "NetStream.Publish.BadName", "missing stream key");
    return;
  }
  conn->state = RTMP_SERVER_STATE_PUBLISH_PENDING;
  conn_log(conn, G_LOG_LEVEL_INFO, "publish requested on stream %u", stream_id);
  conn->cb.on_publish(conn, conn->app, conn->publish_name, conn->stream_key, conn->user_data);
}

/* FCUnpublish, closeStream and deleteStream all end a publish; whichever comes first counts. */
static void handle_unpublish(RtmpServerConn *conn, const gchar *command)
{
  if (conn->state == RTMP_SERVER_STATE_UNPUBLISHED)
    return; /* the second of FCUnpublish + deleteStream */
  if (conn->state != RTMP_SERVER_STATE_PUBLISHING &&
      conn->state != RTMP_SERVER_STATE_PUBLISH_PENDING) {
    log_ignored(conn, "%s while not publishing", command);
    return;
  }
  conn->state = RTMP_SERVER_STATE_UNPUBLISHED;
  conn_log(conn, G_LOG_LEVEL_INFO, "unpublished (%s)", command);
  if (conn->cb.on_unpublish != NULL)
    conn->cb.on_unpublish(conn, conn->user_data);
}

/* Decodes the command's AMF0 values and dispatches on its name. Commands are the one part of the
 * protocol whose decoding errors end the connection: without them there is no session state. */
static gboolean handle_command(RtmpServerConn *conn, guint8 type, guint32 stream_id,
                               const guint8 *data, gsize len, GError **error)
{
  if (type == RTMP_MSG_COMMAND_AMF3) {
    /* An AMF3 command message starts with a format byte; 0 means the values are AMF0. */
    if (len == 0 || data[0] != 0) {
      log_ignored(conn, "AMF3-encoded command ignored");
      return TRUE;
    }
    data++;
    len--;
  }
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) values = rtmp_amf_decode_all(data, len, &local);
  if (values == NULL)
    return protocol_error(error, "malformed command: %s", local->message);
  if (values->len == 0 || ((RtmpAmfValue *)g_ptr_array_index(values, 0))->type != RTMP_AMF_STRING)
    return protocol_error(error, "command without a name");

  const RtmpAmfValue *name_value = g_ptr_array_index(values, 0);
  const gchar *name = name_value->string.data;
  gdouble txn = 0;
  if (values->len > 1 && ((RtmpAmfValue *)g_ptr_array_index(values, 1))->type == RTMP_AMF_NUMBER)
    txn = ((RtmpAmfValue *)g_ptr_array_index(values, 1))->number;
  const RtmpAmfValue *cmd = values->len > 2 ? g_ptr_array_index(values, 2) : NULL;
  const RtmpAmfValue *arg = values->len > 3 ? g_ptr_array_index(values, 3) : NULL;

  if (conn->state == RTMP_SERVER_STATE_WAIT_CONNECT) {
    if (strcmp(name, "connect") != 0) {
      g_autofree gchar *shown = printable(name, name_value->string.len);
      return protocol_error(error, "command '%s' before connect", shown);
    }
    handle_connect(conn, txn, cmd);
    return TRUE;
  }

  if (strcmp(name, "connect") == 0)
    return protocol_error(error, "second connect on one connection");
  if (strcmp(name, "createStream") == 0) {
    return handle_create_stream(conn, txn, error);
  } else if (strcmp(name, "releaseStream") == 0) {
    /* Asks to drop a stale publisher of the same name; publishers are unique per key at a
     * higher level, so there is nothing to do and encoders do not wait for an answer. */
  } else if (strcmp(name, "FCPublish") == 0) {
    handle_fc_publish(conn, arg);
  } else if (strcmp(name, "publish") == 0) {
    if (conn->state == RTMP_SERVER_STATE_UNPUBLISHED)
      return protocol_error(error, "only one publish per connection");
    if (conn->state != RTMP_SERVER_STATE_CONNECTED)
      return protocol_error(error, "publish while a publish is already in progress");
    handle_publish(conn, stream_id, arg);
  } else if (strcmp(name, "FCUnpublish") == 0 || strcmp(name, "closeStream") == 0 ||
             strcmp(name, "deleteStream") == 0) {
    handle_unpublish(conn, name);
  } else {
    g_autofree gchar *shown = printable(name, name_value->string.len);
    log_ignored(conn, "command '%s' ignored", shown);
  }
  return TRUE;
}

/* ---- Data and media ----------------------------------------------------------------------- */

static void handle_data(RtmpServerConn *conn, guint8 type, const guint8 *data, gsize len)
{
  if (type == RTMP_MSG_DATA_AMF3 && len > 0 && data[0] == 0) {
    data++;
    len--;
  }
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) values = rtmp_amf_decode_all(data, len, &local);
  if (values == NULL) {
    /* Metadata is advisory: a broken one is dropped, the stream goes on. */
    conn_log(conn, G_LOG_LEVEL_WARNING, "malformed data message dropped: %s", local->message);
    return;
  }
  guint first = 0;
  const gchar *name =
      values->len > 0 ? rtmp_amf_value_get_string(g_ptr_array_index(values, 0)) : NULL;
  if (name != NULL && strcmp(name, "@setDataFrame") == 0) {
    first = 1;
    name = values->len > 1 ? rtmp_amf_value_get_string(g_ptr_array_index(values, 1)) : NULL;
  }
  if (name == NULL) {
    log_ignored(conn, "data message without a name ignored");
    return;
  }
  if (strcmp(name, "onMetaData") != 0) {
    g_autofree gchar *shown = printable(name, strlen(name));
    log_ignored(conn, "data message '%s' ignored", shown);
    return;
  }
  const RtmpAmfValue *meta = values->len > first + 1 ? g_ptr_array_index(values, first + 1) : NULL;
  if (meta == NULL || (meta->type != RTMP_AMF_OBJECT && meta->type != RTMP_AMF_ECMA_ARRAY)) {
    log_ignored(conn, "onMetaData without an object ignored");
    return;
  }
  if (conn->state != RTMP_SERVER_STATE_PUBLISHING) {
    log_ignored(conn, "onMetaData before the publish was accepted ignored");
    return;
  }
  if (conn->cb.on_metadata == NULL)
    return;
  g_autoptr(GByteArray) body = g_byte_array_new();
  rtmp_amf_write_string(body, "onMetaData");
  rtmp_amf_encode(body, meta);
  conn->cb.on_metadata(conn, meta, body->data, body->len, conn->user_data);
}

static gboolean handle_media(RtmpServerConn *conn, guint8 type, guint32 timestamp,
                             const guint8 *data, gsize len, GError **error)
{
  if (conn->state == RTMP_SERVER_STATE_UNPUBLISHED) {
    log_ignored(conn, "media after unpublish dropped");
    return TRUE;
  }
  if (conn->state != RTMP_SERVER_STATE_PUBLISHING)
    return protocol_error(error, "%s message before the publish was accepted",
                          type == RTMP_MSG_AUDIO ? "audio" : "video");
  if (conn->cb.on_media != NULL)
    conn->cb.on_media(conn, (RtmpMediaType)type, timestamp, data, len, conn->user_data);
  return TRUE;
}

/* An aggregate message packs FLV-style tags back to back (11-byte header, body, 4-byte back
 * pointer). Sub-message timestamps are relative to the first one and rebased on the aggregate's
 * own timestamp. */
static gboolean handle_aggregate(RtmpServerConn *conn, guint32 timestamp, const guint8 *data,
                                 gsize len, GError **error)
{
  RtmpCursor c;
  gboolean first = TRUE;
  guint32 base = 0;
  rtmp_cursor_init(&c, data, len);
  while (rtmp_cursor_remaining(&c) > 0) {
    guint8 type, ts_high;
    guint32 size, ts_low, stream;
    const guint8 *body;
    if (!rtmp_cursor_u8(&c, &type) || !rtmp_cursor_u24(&c, &size) ||
        !rtmp_cursor_u24(&c, &ts_low) || !rtmp_cursor_u8(&c, &ts_high) ||
        !rtmp_cursor_u24(&c, &stream) || !rtmp_cursor_bytes(&c, size, &body))
      return protocol_error(error, "truncated aggregate message");
    /* The back pointer is sometimes left off the last sub-message. */
    if (rtmp_cursor_remaining(&c) > 0 && !rtmp_cursor_skip(&c, 4))
      return protocol_error(error, "truncated aggregate message");
    guint32 sub_ts = ((guint32)ts_high << 24) | ts_low;
    if (first) {
      base = sub_ts;
      first = FALSE;
    }
    guint32 ts = timestamp + (sub_ts - base);
    if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO) {
      if (!handle_media(conn, type, ts, body, size, error))
        return FALSE;
    } else if (type == RTMP_MSG_DATA_AMF0) {
      handle_data(conn, type, body, size);
    } else {
      return protocol_error(error, "aggregate message contains type %u", type);
    }
    if (conn->state != RTMP_SERVER_STATE_PUBLISHING)
      break; /* a callback ended the publish */
  }
  return TRUE;
}

static void handle_user_control(RtmpServerConn *conn, const guint8 *data, gsize len)
{
  RtmpCursor c;
  guint16 event;
  guint32 value;
  rtmp_cursor_init(&c, data, len);
  if (!rtmp_cursor_u16(&c, &event)) {
    log_ignored(conn, "empty user control message ignored");
    return;
  }
  if (event == RTMP_USER_CONTROL_PING_REQUEST && rtmp_cursor_u32(&c, &value))
    send_user_control(conn, RTMP_USER_CONTROL_PING_RESPONSE, value);
}

static gboolean handle_message(RtmpServerConn *conn, const RtmpMessage *m, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(m->payload, &len);
  RtmpCursor c;
  guint32 value;

  /* Until connect, only protocol control and commands make sense. */
  if (conn->state == RTMP_SERVER_STATE_WAIT_CONNECT &&
      (m->type_id == RTMP_MSG_AUDIO || m->type_id == RTMP_MSG_VIDEO ||
       m->type_id == RTMP_MSG_AGGREGATE))
    return protocol_error(error, "media before connect");

  switch (m->type_id) {
  case RTMP_MSG_SET_CHUNK_SIZE:
  case RTMP_MSG_ABORT:
  case RTMP_MSG_ACKNOWLEDGEMENT:
  case RTMP_MSG_SET_PEER_BANDWIDTH:
    return TRUE; /* applied by the reader, or nothing to do for a publisher's view */
  case RTMP_MSG_WINDOW_ACK_SIZE:
    rtmp_cursor_init(&c, data, len);
    if (rtmp_cursor_u32(&c, &value))
      conn->ack_window = MAX(value, MIN_ACK_WINDOW);
    else
      log_ignored(conn, "short Window Acknowledgement Size ignored");
    return TRUE;
  case RTMP_MSG_USER_CONTROL:
    handle_user_control(conn, data, len);
    return TRUE;
  case RTMP_MSG_AUDIO:
  case RTMP_MSG_VIDEO:
    return handle_media(conn, m->type_id, m->timestamp, data, len, error);
  case RTMP_MSG_AGGREGATE:
    if (conn->state == RTMP_SERVER_STATE_UNPUBLISHED) {
      log_ignored(conn, "media after unpublish dropped");
      return TRUE;
    }
    if (conn->state != RTMP_SERVER_STATE_PUBLISHING)
      return protocol_error(error, "aggregate message before the publish was accepted");
    return handle_aggregate(conn, m->timestamp, data, len, error);
  case RTMP_MSG_DATA_AMF0:
  case RTMP_MSG_DATA_AMF3:
    handle_data(conn, m->type_id, data, len);
    return TRUE;
  case RTMP_MSG_COMMAND_AMF0:
  case RTMP_MSG_COMMAND_AMF3:
    return handle_command(conn, m->type_id, m->stream_id, data, len, error);
  default:
    log_ignored(conn, "message type %u ignored", m->type_id);
    return TRUE;
  }
}

/* ---- Feeding ------------------------------------------------------------------------------ */

gboolean rtmp_server_conn_feed(RtmpServerConn *conn, const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail(conn != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  g_return_val_if_fail(!conn->in_feed, FALSE);

  if (conn->state == RTMP_SERVER_STATE_FAILED) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_PROTOCOL, "connection already failed");
    return FALSE;
  }
  if (conn->state == RTMP_SERVER_STATE_FINISHED)
    return TRUE;

  gboolean ok = TRUE;
  gsize pos = 0;
  conn->in_feed = TRUE;

  if (conn->state == RTMP_SERVER_STATE_HANDSHAKE) {
    gsize used = 0;
    ok = rtmp_handshake_feed(conn->handshake, data, len, &used, conn->out, error);
    pos = used;
    if (ok && rtmp_handshake_is_done(conn->handshake)) {
      g_clear_pointer(&conn->handshake, rtmp_handshake_free);
      conn->state = RTMP_SERVER_STATE_WAIT_CONNECT;
    }
  }

  while (ok && pos < len && conn->state != RTMP_SERVER_STATE_HANDSHAKE &&
         conn->state != RTMP_SERVER_STATE_FINISHED) {
    gsize used = 0;
    g_autoptr(RtmpMessage) m = NULL;
    RtmpChunkStatus status =
        rtmp_chunk_reader_feed(conn->reader, data + pos, len - pos, &used, &m, error);
    pos += used;
    if (status == RTMP_CHUNK_ERROR)
      ok = FALSE;
    else if (status == RTMP_CHUNK_MESSAGE)
      ok = handle_message(conn, m, error);
    if (ok && conn->state != RTMP_SERVER_STATE_FINISHED)
      maybe_acknowledge(conn);
    if (status == RTMP_CHUNK_NEED_MORE)
      break;
  }

  if (!ok)
    conn->state = RTMP_SERVER_STATE_FAILED;
  conn->in_feed = FALSE;
  return ok;
}

/* ---- Publish decision --------------------------------------------------------------------- */

gboolean rtmp_server_conn_accept_publish(RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, FALSE);
  if (conn->state != RTMP_SERVER_STATE_PUBLISH_PENDING)
    return FALSE;
  send_user_control(conn, RTMP_USER_CONTROL_STREAM_BEGIN, conn->publish_stream_id);
  g_autofree gchar *description = g_strdup_printf("%s is now published.", conn->publish_name);
  send_on_status(conn, "status", "NetStream.Publish.Start", description, conn->publish_name);
  conn->state = RTMP_SERVER_STATE_PUBLISHING;
  conn_log(conn, G_LOG_LEVEL_INFO, "publish accepted");
  return TRUE;
}

gboolean rtmp_server_conn_reject_publish(RtmpServerConn *conn, const gchar *code,
                                         const gchar *description)
{
  g_return_val_if_fail(conn != NULL, FALSE);
  if (conn->state != RTMP_SERVER_STATE_PUBLISH_PENDING)
    return FALSE;
  finish_reject(conn, code != NULL ? code : "NetStream.Publish.BadName",
                description != NULL ? description : "publish refused");
  return TRUE;
}

/* ---- Getters ------------------------------------------------------------------------------ */

RtmpServerState rtmp_server_conn_get_state(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, RTMP_SERVER_STATE_FAILED);
  return conn->state;
}

gboolean rtmp_server_conn_is_finished(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, TRUE);
  return conn->state == RTMP_SERVER_STATE_FINISHED || conn->state == RTMP_SERVER_STATE_FAILED;
}

gboolean rtmp_server_conn_is_publishing(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, FALSE);
  return conn->state == RTMP_SERVER_STATE_PUBLISHING;
}

const gchar *rtmp_server_conn_get_app(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, NULL);
  return conn->app;
}

const gchar *rtmp_server_conn_get_tc_url(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, NULL);
  return conn->tc_url;
}

const gchar *rtmp_server_conn_get_flash_ver(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, NULL);
  return conn->flash_ver;
}

const gchar *rtmp_server_conn_get_publish_name(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, NULL);
  return conn->publish_name;
}

const gchar *rtmp_server_conn_get_stream_key(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, NULL);
  return conn->stream_key;
}

guint64 rtmp_server_conn_get_bytes_received(const RtmpServerConn *conn)
{
  g_return_val_if_fail(conn != NULL, 0);
  return rtmp_chunk_reader_get_bytes_received(conn->reader);
}
