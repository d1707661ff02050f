/* Unit tests for rtmp/server (plus rtmp/streamkey and rtmp/flv): scripted publish sessions
 * built with the chunk writer and AMF encoder, fed byte by byte, with the server's replies decoded
 * the way a client would read them. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtmp/flv.h"
#include "rtmp/server.h"
#include "rtmp/streamkey.h"

#define SIG 1536

/* ---- Client side: builds what an encoder would send ---------------------------------------- */

typedef struct {
  GByteArray *wire;
  guint32 chunk_size;
} Client;

static void client_init(Client *c)
{
  c->wire = g_byte_array_new();
  c->chunk_size = 128;
}

static void client_clear(Client *c)
{
  g_clear_pointer(&c->wire, g_byte_array_unref);
}

static void client_send(Client *c, guint32 csid, guint8 type, guint32 msid, guint32 ts,
                        const GByteArray *payload)
{
  g_assert_true(rtmp_chunk_write(c->wire, c->chunk_size, csid, type, msid, ts, payload->data,
                                 payload->len, NULL));
}

static void client_handshake_plain(Client *c)
{
  guint8 c0c1[1 + SIG] = {3};
  for (gsize i = 9; i < sizeof c0c1; i++)
    c0c1[i] = (guint8)(i * 31);
  g_byte_array_append(c->wire, c0c1, sizeof c0c1);
  guint8 c2[SIG];
  memset(c2, 0x5A, sizeof c2);
  g_byte_array_append(c->wire, c2, sizeof c2);
}

/* A Flash Player 9 style C1 with a scheme 1 digest, built from the published algorithm. */
static void client_handshake_digest(Client *c)
{
  static const char key[] = "Genuine Adobe Flash Player 001";
  guint8 c0c1[1 + SIG] = {3};
  guint8 *c1 = c0c1 + 1;
  c1[4] = 9, c1[5] = 0, c1[6] = 124, c1[7] = 2;
  for (gsize i = 8; i < SIG; i++)
    c1[i] = (guint8)(i * 13 + 7);
  gsize pos = 772 + 4 + ((guint)c1[772] + c1[773] + c1[774] + c1[775]) % 728;
  guint8 joined[SIG - 32];
  memcpy(joined, c1, pos);
  memcpy(joined + pos, c1 + pos + 32, SIG - pos - 32);
  unsigned int n = 32;
  g_assert_nonnull(HMAC(EVP_sha256(), key, 30, joined, sizeof joined, c1 + pos, &n));
  g_byte_array_append(c->wire, c0c1, sizeof c0c1);
  guint8 c2[SIG] = {0};
  g_byte_array_append(c->wire, c2, sizeof c2);
}

static void client_set_chunk_size(Client *c, guint32 size)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  guint8 b[4] = {(guint8)(size >> 24), (guint8)(size >> 16), (guint8)(size >> 8), (guint8)size};
  g_byte_array_append(p, b, 4);
  client_send(c, 2, RTMP_MSG_SET_CHUNK_SIZE, 0, 0, p);
  c->chunk_size = size;
}

static void client_control_u32(Client *c, guint8 type, guint32 v)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  guint8 b[4] = {(guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v};
  g_byte_array_append(p, b, 4);
  client_send(c, 2, type, 0, 0, p);
}

static void client_connect(Client *c, const gchar *app, guint8 type)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  if (type == RTMP_MSG_COMMAND_AMF3)
    g_byte_array_append(p, (const guint8 *)"", 1);
  rtmp_amf_write_string(p, "connect");
  rtmp_amf_write_number(p, 1);
  rtmp_amf_write_object_start(p);
  rtmp_amf_write_key(p, "app");
  rtmp_amf_write_string(p, app);
  rtmp_amf_write_key(p, "type");
  rtmp_amf_write_string(p, "nonprivate");
  rtmp_amf_write_key(p, "flashVer");
  rtmp_amf_write_string(p, "FMLE/3.0 (compatible; FMSc/1.0)");
  rtmp_amf_write_key(p, "tcUrl");
  g_autofree gchar *tc = g_strdup_printf("rtmp://127.0.0.1:1935/%s", app);
  rtmp_amf_write_string(p, tc);
  rtmp_amf_write_object_end(p);
  client_send(c, 3, type, 0, 0, p);
}

/* name(txn, null[, string arg]) as releaseStream, FCPublish, FCUnpublish, createStream send. */
static void client_command(Client *c, guint32 msid, const gchar *name, gdouble txn,
                           const gchar *arg)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_string(p, name);
  rtmp_amf_write_number(p, txn);
  rtmp_amf_write_null(p);
  if (arg != NULL)
    rtmp_amf_write_string(p, arg);
  client_send(c, msid == 0 ? 3 : 4, RTMP_MSG_COMMAND_AMF0, msid, 0, p);
}

static void client_publish(Client *c, guint32 msid, const gchar *name)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_string(p, "publish");
  rtmp_amf_write_number(p, 5);
  rtmp_amf_write_null(p);
  rtmp_amf_write_string(p, name);
  rtmp_amf_write_string(p, "live");
  client_send(c, 4, RTMP_MSG_COMMAND_AMF0, msid, 0, p);
}

static void client_delete_stream(Client *c, guint32 msid)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_string(p, "deleteStream");
  rtmp_amf_write_number(p, 6);
  rtmp_amf_write_null(p);
  rtmp_amf_write_number(p, msid);
  client_send(c, 3, RTMP_MSG_COMMAND_AMF0, 0, 0, p);
}

static void write_metadata_ecma(GByteArray *p)
{
  rtmp_amf_write_ecma_array_start(p, 3);
  rtmp_amf_write_key(p, "width");
  rtmp_amf_write_number(p, 1280);
  rtmp_amf_write_key(p, "height");
  rtmp_amf_write_number(p, 720);
  rtmp_amf_write_key(p, "encoder");
  rtmp_amf_write_string(p, "Lavf59.27.100");
  rtmp_amf_write_object_end(p);
}

static void client_set_data_frame(Client *c, guint32 msid)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_string(p, "@setDataFrame");
  rtmp_amf_write_string(p, "onMetaData");
  write_metadata_ecma(p);
  client_send(c, 4, RTMP_MSG_DATA_AMF0, msid, 0, p);
}

static void client_media(Client *c, guint8 type, guint32 msid, guint32 ts, guint8 fill, gsize len)
{
  g_autoptr(GByteArray) p = g_byte_array_sized_new((guint)len);
  g_byte_array_set_size(p, (guint)len);
  for (gsize i = 0; i < len; i++)
    p->data[i] = (guint8)(fill + i);
  client_send(c, type == RTMP_MSG_AUDIO ? 4 : 6, type, msid, ts, p);
}

static void put_sub(GByteArray *p, guint8 type, guint32 ts, const guint8 *body, guint32 len)
{
  guint8 h[11] = {type,
                  (guint8)(len >> 16),
                  (guint8)(len >> 8),
                  (guint8)len,
                  (guint8)(ts >> 16),
                  (guint8)(ts >> 8),
                  (guint8)ts,
                  (guint8)(ts >> 24),
                  0,
                  0,
                  0};
  g_byte_array_append(p, h, sizeof h);
  g_byte_array_append(p, body, len);
  guint32 back = 11 + len;
  guint8 b[4] = {(guint8)(back >> 24), (guint8)(back >> 16), (guint8)(back >> 8), (guint8)back};
  g_byte_array_append(p, b, 4);
}

/* An aggregate of a video and an audio sub-message whose own timestamps start at 1000. */
static void client_aggregate(Client *c, guint32 msid, guint32 ts)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  put_sub(p, RTMP_MSG_VIDEO, 1000, (const guint8 *)"\x17\x01vid", 5);
  put_sub(p, RTMP_MSG_AUDIO, 1020, (const guint8 *)"\xaf\x01aud", 5);
  client_send(c, 6, RTMP_MSG_AGGREGATE, msid, ts, p);
}

/* connect, releaseStream, FCPublish, createStream: everything up to publish. */
static void client_prelude(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_set_chunk_size(c, 4096);
  client_command(c, 0, "releaseStream", 2, "KEY?token=abc");
  client_command(c, 0, "FCPublish", 3, "KEY?token=abc");
  client_command(c, 0, "createStream", 4, NULL);
}

/* ---- Server side: records callbacks ---------------------------------------------------------- */

typedef enum { DECIDE_LATER, ACCEPT_NOW, REJECT_NOW } Policy;

typedef struct {
  guint8 type;
  guint32 ts;
  GBytes *payload;
} Media;

typedef struct {
  Policy policy;
  gint publishes, unpublishes, metadata_count;
  gchar *app, *name, *key;
  RtmpAmfValue *metadata;
  GBytes *script_body;
  GPtrArray *media;
  GPtrArray *logs;
  guint random_state;
} Recorder;

static void media_free(gpointer p)
{
  Media *m = p;
  g_bytes_unref(m->payload);
  g_free(m);
}

static void recorder_init(Recorder *r, Policy policy)
{
  memset(r, 0, sizeof *r);
  r->policy = policy;
  r->media = g_ptr_array_new_with_free_func(media_free);
  r->logs = g_ptr_array_new_with_free_func(g_free);
}

static void recorder_clear(Recorder *r)
{
  g_free(r->app);
  g_free(r->name);
  g_free(r->key);
  g_clear_pointer(&r->metadata, rtmp_amf_value_free);
  g_clear_pointer(&r->script_body, g_bytes_unref);
  g_ptr_array_unref(r->media);
  g_ptr_array_unref(r->logs);
}

static void on_publish(RtmpServerConn *conn, const gchar *app, const gchar *name, const gchar *key,
                       gpointer user_data)
{
  Recorder *r = user_data;
  r->publishes++;
  g_free(r->app);
  g_free(r->name);
  g_free(r->key);
  r->app = g_strdup(app);
  r->name = g_strdup(name);
  r->key = g_strdup(key);
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_PUBLISH_PENDING);
  if (r->policy == ACCEPT_NOW)
    g_assert_true(rtmp_server_conn_accept_publish(conn));
  else if (r->policy == REJECT_NOW)
    g_assert_true(
        rtmp_server_conn_reject_publish(conn, "NetStream.Publish.BadName", "unknown stream key"));
}

static void on_unpublish(RtmpServerConn *conn, gpointer user_data)
{
  (void)conn;
  ((Recorder *)user_data)->unpublishes++;
}

static void on_metadata(RtmpServerConn *conn, const RtmpAmfValue *meta, const guint8 *body,
                        gsize len, gpointer user_data)
{
  (void)conn;
  Recorder *r = user_data;
  r->metadata_count++;
  g_clear_pointer(&r->metadata, rtmp_amf_value_free);
  g_clear_pointer(&r->script_body, g_bytes_unref);
  r->metadata = rtmp_amf_value_copy(meta);
  r->script_body = g_bytes_new(body, len);
}

static void on_media(RtmpServerConn *conn, RtmpMediaType type, guint32 ts, const guint8 *payload,
                     gsize len, gpointer user_data)
{
  Recorder *r = user_data;
  g_assert_true(rtmp_server_conn_is_publishing(conn));
  Media *m = g_new0(Media, 1);
  m->type = (guint8)type;
  m->ts = ts;
  m->payload = g_bytes_new(payload, len);
  g_ptr_array_add(r->media, m);
}

static void on_log(RtmpServerConn *conn, GLogLevelFlags level, const gchar *message,
                   gpointer user_data)
{
  (void)conn;
  (void)level;
  Recorder *r = user_data;
  g_ptr_array_add(r->logs, g_strdup(message));
}

static void fill_random(guint8 *buf, gsize len, gpointer user_data)
{
  Recorder *r = user_data;
  for (gsize i = 0; i < len; i++) {
    r->random_state = r->random_state * 1664525u + 1013904223u;
    buf[i] = (guint8)(r->random_state >> 24);
  }
}

static const RtmpServerCallbacks callbacks = {
    .on_publish = on_publish,
    .on_unpublish = on_unpublish,
    .on_metadata = on_metadata,
    .on_media = on_media,
    .on_log = on_log,
    .fill_random = fill_random,
};

/* Feeds data in slices of `step` bytes, draining the output after every call. Returns FALSE at
 * the first failing feed. */
static gboolean feed(RtmpServerConn *conn, const guint8 *data, gsize len, gsize step,
                     GByteArray *out, GError **error)
{
  for (gsize pos = 0; pos < len; pos += step) {
    gsize n = MIN(step, len - pos);
    g_autofree guint8 *slice = g_memdup2(data + pos, n);
    gboolean ok = rtmp_server_conn_feed(conn, slice, n, error);
    g_autoptr(GBytes) bytes = rtmp_server_conn_take_output(conn);
    if (bytes != NULL)
      g_byte_array_append(out, g_bytes_get_data(bytes, NULL), (guint)g_bytes_get_size(bytes));
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* ---- Reading the server's replies as a client ------------------------------------------------ */

typedef struct {
  RtmpChunkReader *reader;
  gsize handshake_left;
  GPtrArray *messages;
} ServerView;

static void view_init(ServerView *v)
{
  v->reader = rtmp_chunk_reader_new(NULL);
  v->handshake_left = 1 + 2 * SIG;
  v->messages = g_ptr_array_new_with_free_func((GDestroyNotify)rtmp_message_free);
}

static void view_clear(ServerView *v)
{
  rtmp_chunk_reader_free(v->reader);
  g_ptr_array_unref(v->messages);
}

/* Appends the messages found in out (all of it is consumed) to v->messages. */
static void view_read(ServerView *v, GByteArray *out)
{
  gsize skip = MIN(v->handshake_left, (gsize)out->len);
  v->handshake_left -= skip;
  g_autoptr(GError) error = NULL;
  g_assert_true(rtmp_chunk_reader_feed_all(v->reader, out->data + skip, out->len - skip,
                                           v->messages, &error));
  g_assert_no_error(error);
  g_byte_array_set_size(out, 0);
}

static GPtrArray *command_values(const RtmpMessage *m)
{
  g_assert_cmpuint(m->type_id, ==, RTMP_MSG_COMMAND_AMF0);
  gsize len;
  const guint8 *p = g_bytes_get_data(m->payload, &len);
  g_autoptr(GError) error = NULL;
  GPtrArray *values = rtmp_amf_decode_all(p, len, &error);
  g_assert_no_error(error);
  return values;
}

#define VAL(values, i) ((const RtmpAmfValue *)g_ptr_array_index((values), (i)))
#define MSG(msgs, i)   ((const RtmpMessage *)g_ptr_array_index((msgs), (i)))

static guint32 payload_u32(const RtmpMessage *m, gsize offset)
{
  gsize len;
  const guint8 *p = g_bytes_get_data(m->payload, &len);
  g_assert_cmpuint(len, >=, offset + 4);
  p += offset;
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

/* Checks the replies to connect: Window Ack Size, Set Peer Bandwidth, Set Chunk Size, _result. */
static void check_connect_replies(GPtrArray *msgs, guint first)
{
  g_assert_cmpuint(msgs->len, >=, first + 4);
  g_assert_cmpuint(MSG(msgs, first)->type_id, ==, RTMP_MSG_WINDOW_ACK_SIZE);
  g_assert_cmpuint(payload_u32(MSG(msgs, first), 0), ==, 2500000);
  g_assert_cmpuint(MSG(msgs, first + 1)->type_id, ==, RTMP_MSG_SET_PEER_BANDWIDTH);
  g_assert_cmpuint(payload_u32(MSG(msgs, first + 1), 0), ==, 2500000);
  g_assert_cmpuint(g_bytes_get_size(MSG(msgs, first + 1)->payload), ==, 5);
  g_assert_cmpuint(((const guint8 *)g_bytes_get_data(MSG(msgs, first + 1)->payload, NULL))[4], ==,
                   2);
  g_assert_cmpuint(MSG(msgs, first + 2)->type_id, ==, RTMP_MSG_SET_CHUNK_SIZE);
  g_assert_cmpuint(payload_u32(MSG(msgs, first + 2), 0), ==, 4096);

  g_autoptr(GPtrArray) result = command_values(MSG(msgs, first + 3));
  g_assert_cmpuint(result->len, ==, 4);
  g_assert_cmpstr(rtmp_amf_value_get_string(VAL(result, 0)), ==, "_result");
  g_assert_cmpfloat(VAL(result, 1)->number, ==, 1);
  g_assert_nonnull(rtmp_amf_object_get_string(VAL(result, 2), "fmsVer"));
  gdouble caps = 0;
  g_assert_true(rtmp_amf_object_get_number(VAL(result, 2), "capabilities", &caps));
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(result, 3), "level"), ==, "status");
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(result, 3), "code"), ==,
                  "NetConnection.Connect.Success");
  g_assert_nonnull(rtmp_amf_object_get_string(VAL(result, 3), "description"));
  gdouble enc = -1;
  g_assert_true(rtmp_amf_object_get_number(VAL(result, 3), "objectEncoding", &enc));
  g_assert_cmpfloat(enc, ==, 0);
}

static void check_on_status(const RtmpMessage *m, guint32 msid, const gchar *level,
                            const gchar *code)
{
  g_assert_cmpuint(m->stream_id, ==, msid);
  g_autoptr(GPtrArray) v = command_values(m);
  g_assert_cmpstr(rtmp_amf_value_get_string(VAL(v, 0)), ==, "onStatus");
  g_assert_cmpint(VAL(v, 2)->type, ==, RTMP_AMF_NULL);
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(v, 3), "level"), ==, level);
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(v, 3), "code"), ==, code);
  g_assert_nonnull(rtmp_amf_object_get_string(VAL(v, 3), "description"));
}

static void check_stream_begin(const RtmpMessage *m, guint32 msid)
{
  g_assert_cmpuint(m->type_id, ==, RTMP_MSG_USER_CONTROL);
  const guint8 *p = g_bytes_get_data(m->payload, NULL);
  g_assert_cmpuint(g_bytes_get_size(m->payload), ==, 6);
  g_assert_cmpuint(p[0] << 8 | p[1], ==, RTMP_USER_CONTROL_STREAM_BEGIN);
  g_assert_cmpuint(payload_u32(m, 2), ==, msid);
}

/* ---- Tests ----------------------------------------------------------------------------------- */

/* The whole life of an OBS/ffmpeg-like publish, checked at a given feeding granularity. */
static void run_full_session(gsize step, gboolean digest)
{
  Client c;
  client_init(&c);
  if (digest)
    client_handshake_digest(&c);
  else
    client_handshake_plain(&c);
  client_prelude(&c);
  client_publish(&c, 1, "KEY?token=abc");
  client_set_data_frame(&c, 1);
  client_media(&c, RTMP_MSG_VIDEO, 1, 0, 0x17, 40); /* sequence header-ish */
  client_media(&c, RTMP_MSG_AUDIO, 1, 0, 0xAF, 7);
  client_media(&c, RTMP_MSG_VIDEO, 1, 40, 0x27, 9000);      /* spans several 4096-byte chunks */
  client_media(&c, RTMP_MSG_VIDEO, 1, 0x1000000, 0x27, 10); /* extended timestamp */
  client_aggregate(&c, 1, 5000);
  client_command(&c, 1, "FCUnpublish", 7, "KEY?token=abc");
  client_delete_stream(&c, 1);
  client_media(&c, RTMP_MSG_AUDIO, 1, 6000, 0, 3); /* after the unpublish: dropped */

  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  r.random_state = 1;
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  g_assert_true(feed(conn, c.wire->data, c.wire->len, step, out, &error));
  g_assert_no_error(error);

  /* The handshake reply. */
  g_assert_cmpuint(out->len, >, 1 + 2 * SIG);
  g_assert_cmpuint(out->data[0], ==, 3);
  if (digest)
    g_assert_cmpuint(out->data[1 + 4], !=, 0);
  else
    g_assert_cmpmem(out->data + 1 + SIG, SIG, c.wire->data + 1, SIG);

  ServerView v;
  view_init(&v);
  view_read(&v, out);
  GPtrArray *msgs = v.messages;
  check_connect_replies(msgs, 0);

  g_autoptr(GPtrArray) fc = command_values(MSG(msgs, 4));
  g_assert_cmpstr(rtmp_amf_value_get_string(VAL(fc, 0)), ==, "onFCPublish");
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(fc, 3), "code"), ==, "NetStream.Publish.Start");

  g_autoptr(GPtrArray) cs = command_values(MSG(msgs, 5));
  g_assert_cmpstr(rtmp_amf_value_get_string(VAL(cs, 0)), ==, "_result");
  g_assert_cmpfloat(VAL(cs, 1)->number, ==, 4);
  g_assert_cmpint(VAL(cs, 2)->type, ==, RTMP_AMF_NULL);
  g_assert_cmpfloat(VAL(cs, 3)->number, ==, 1);

  check_stream_begin(MSG(msgs, 6), 1);
  check_on_status(MSG(msgs, 7), 1, "status", "NetStream.Publish.Start");
  g_assert_cmpuint(msgs->len, ==, 8);

  /* What the handler side saw. */
  g_assert_cmpint(r.publishes, ==, 1);
  g_assert_cmpstr(r.app, ==, "live");
  g_assert_cmpstr(r.name, ==, "KEY?token=abc");
  g_assert_cmpstr(r.key, ==, "KEY");
  g_assert_cmpstr(rtmp_server_conn_get_stream_key(conn), ==, "KEY");
  g_assert_cmpstr(rtmp_server_conn_get_app(conn), ==, "live");
  g_assert_cmpstr(rtmp_server_conn_get_tc_url(conn), ==, "rtmp://127.0.0.1:1935/live");
  g_assert_cmpstr(rtmp_server_conn_get_flash_ver(conn), ==, "FMLE/3.0 (compatible; FMSc/1.0)");

  g_assert_cmpint(r.metadata_count, ==, 1);
  g_assert_cmpint(r.metadata->type, ==, RTMP_AMF_ECMA_ARRAY);
  gdouble width = 0;
  g_assert_true(rtmp_amf_object_get_number(r.metadata, "width", &width));
  g_assert_cmpfloat(width, ==, 1280);
  /* The script body is "onMetaData" + the array, without @setDataFrame. */
  g_autoptr(GByteArray) expect_body = g_byte_array_new();
  rtmp_amf_write_string(expect_body, "onMetaData");
  write_metadata_ecma(expect_body);
  g_assert_cmpmem(g_bytes_get_data(r.script_body, NULL), g_bytes_get_size(r.script_body),
                  expect_body->data, expect_body->len);

  g_assert_cmpuint(r.media->len, ==, 6);
  const struct {
    guint8 type;
    guint32 ts;
    gsize len;
  } expect[] = {
      {9, 0, 40}, {8, 0, 7}, {9, 40, 9000}, {9, 0x1000000, 10}, {9, 5000, 5}, {8, 5020, 5},
  };
  for (guint i = 0; i < G_N_ELEMENTS(expect); i++) {
    Media *m = g_ptr_array_index(r.media, i);
    g_assert_cmpuint(m->type, ==, expect[i].type);
    g_assert_cmpuint(m->ts, ==, expect[i].ts);
    g_assert_cmpuint(g_bytes_get_size(m->payload), ==, expect[i].len);
  }
  Media *big = g_ptr_array_index(r.media, 2);
  const guint8 *bp = g_bytes_get_data(big->payload, NULL);
  for (gsize i = 0; i < 9000; i++)
    g_assert_cmpuint(bp[i], ==, (guint8)(0x27 + i));
  Media *agg = g_ptr_array_index(r.media, 4);
  g_assert_cmpmem(g_bytes_get_data(agg->payload, NULL), 5, "\x17\x01vid", 5);

  /* Unpublished but not finished: the client closes the connection itself. */
  g_assert_cmpint(r.unpublishes, ==, 1);
  g_assert_false(rtmp_server_conn_is_finished(conn));
  g_assert_false(rtmp_server_conn_is_publishing(conn));
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_UNPUBLISHED);

  /* No log line reveals the key. */
  for (guint i = 0; i < r.logs->len; i++)
    g_assert_null(strstr(g_ptr_array_index(r.logs, i), "KEY"));

  view_clear(&v);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_session_whole(void)
{
  run_full_session(G_MAXSIZE, FALSE);
}

static void test_session_byte_by_byte(void)
{
  run_full_session(1, FALSE);
}

static void test_session_odd_slices(void)
{
  run_full_session(1000, FALSE);
  run_full_session(3, TRUE);
}

static void test_session_digest(void)
{
  run_full_session(G_MAXSIZE, TRUE);
}

/* Sets up a session up to and including publish; returns the connection. */
static RtmpServerConn *session_until_publish(Recorder *r, Policy policy, const gchar *app,
                                             const gchar *name, GByteArray *out, ServerView *v)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  client_connect(&c, app, RTMP_MSG_COMMAND_AMF0);
  client_command(&c, 0, "createStream", 2, NULL);
  client_publish(&c, 1, name);
  recorder_init(r, policy);
  RtmpServerConn *conn = rtmp_server_conn_new(&callbacks, r);
  g_autoptr(GError) error = NULL;
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, &error));
  g_assert_no_error(error);
  view_init(v);
  view_read(v, out);
  client_clear(&c);
  return conn;
}

static void test_async_accept(void)
{
  Recorder r;
  ServerView v;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(RtmpServerConn) conn = session_until_publish(&r, DECIDE_LATER, "live", "abc", out, &v);
  g_assert_cmpint(r.publishes, ==, 1);
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_PUBLISH_PENDING);
  /* connect replies (4) + createStream result, nothing for the publish yet. */
  g_assert_cmpuint(v.messages->len, ==, 5);
  g_assert_cmpuint(rtmp_server_conn_get_output_size(conn), ==, 0);

  g_assert_true(rtmp_server_conn_accept_publish(conn));
  g_assert_false(rtmp_server_conn_accept_publish(conn)); /* only once */
  g_assert_false(rtmp_server_conn_reject_publish(conn, "x", "y"));
  rtmp_server_conn_append_output(conn, out);
  view_read(&v, out);
  g_assert_cmpuint(v.messages->len, ==, 7);
  check_stream_begin(MSG(v.messages, 5), 1);
  check_on_status(MSG(v.messages, 6), 1, "status", "NetStream.Publish.Start");

  /* Media now flows. */
  Client c;
  client_init(&c);
  client_media(&c, RTMP_MSG_AUDIO, 1, 20, 1, 3);
  g_autoptr(GError) error = NULL;
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, &error));
  g_assert_cmpuint(r.media->len, ==, 1);
  g_assert_true(rtmp_server_conn_is_publishing(conn));

  /* closeStream ends it. */
  g_byte_array_set_size(c.wire, 0);
  client_command(&c, 1, "closeStream", 0, NULL);
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, &error));
  g_assert_cmpint(r.unpublishes, ==, 1);
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_UNPUBLISHED);
  client_clear(&c);
  view_clear(&v);
  recorder_clear(&r);
}

static void check_rejected(RtmpServerConn *conn, Recorder *r, GByteArray *out, ServerView *v,
                           const gchar *code)
{
  rtmp_server_conn_append_output(conn, out);
  view_read(v, out);
  const RtmpMessage *last = MSG(v->messages, v->messages->len - 1);
  check_on_status(last, 1, "error", code);
  g_assert_true(rtmp_server_conn_is_finished(conn));
  g_assert_false(rtmp_server_conn_is_publishing(conn));

  /* Whatever the client still sends is discarded, not an error, and no media is delivered. */
  Client c;
  client_init(&c);
  client_media(&c, RTMP_MSG_VIDEO, 1, 0, 0, 100);
  g_autoptr(GError) error = NULL;
  g_assert_true(rtmp_server_conn_feed(conn, c.wire->data, c.wire->len, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(r->media->len, ==, 0);
  g_assert_cmpuint(rtmp_server_conn_get_output_size(conn), ==, 0);
  client_clear(&c);
}

static void test_reject_in_callback(void)
{
  Recorder r;
  ServerView v;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(RtmpServerConn) conn = session_until_publish(&r, REJECT_NOW, "live", "bad", out, &v);
  g_assert_cmpint(r.publishes, ==, 1);
  check_rejected(conn, &r, out, &v, "NetStream.Publish.BadName");
  g_autoptr(GPtrArray) st = command_values(MSG(v.messages, v.messages->len - 1));
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(st, 3), "description"), ==, "unknown stream key");
  g_assert_cmpint(r.unpublishes, ==, 0);
  view_clear(&v);
  recorder_clear(&r);
}

static void test_reject_later(void)
{
  Recorder r;
  ServerView v;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(RtmpServerConn) conn = session_until_publish(&r, DECIDE_LATER, "live", "k", out, &v);
  g_assert_true(rtmp_server_conn_reject_publish(conn, "NetStream.Publish.Denied", "no capacity"));
  g_assert_false(rtmp_server_conn_accept_publish(conn));
  check_rejected(conn, &r, out, &v, "NetStream.Publish.Denied");
  view_clear(&v);
  recorder_clear(&r);
}

static void test_missing_key_rejected(void)
{
  Recorder r;
  ServerView v;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(RtmpServerConn) conn = session_until_publish(&r, ACCEPT_NOW, "live", "", out, &v);
  g_assert_cmpint(r.publishes, ==, 0);
  check_rejected(conn, &r, out, &v, "NetStream.Publish.BadName");
  view_clear(&v);
  recorder_clear(&r);
}

static void test_key_in_app(void)
{
  Recorder r;
  ServerView v;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(RtmpServerConn) conn =
      session_until_publish(&r, ACCEPT_NOW, "live/SECRET", "", out, &v);
  g_assert_cmpint(r.publishes, ==, 1);
  g_assert_cmpstr(r.key, ==, "SECRET");
  g_assert_cmpstr(r.app, ==, "live/SECRET");
  g_assert_true(rtmp_server_conn_is_publishing(conn));
  for (guint i = 0; i < r.logs->len; i++)
    g_assert_null(strstr(g_ptr_array_index(r.logs, i), "SECRET"));
  view_clear(&v);
  recorder_clear(&r);
}

/* Feeds a session prefix plus `extra` and expects a protocol error containing `fragment`. */
static void expect_failure(void (*build)(Client *), const gchar *fragment, Policy policy)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  build(&c);
  Recorder r;
  recorder_init(&r, policy);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  g_assert_false(feed(conn, c.wire->data, c.wire->len, 1, out, &error));
  g_assert_nonnull(error);
  g_assert_true(error->domain == RTMP_ERROR);
  if (g_test_verbose())
    g_test_message("expected error: %s", error->message);
  g_assert_nonnull(strstr(error->message, fragment));
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_FAILED);
  g_assert_true(rtmp_server_conn_is_finished(conn));
  g_assert_cmpuint(r.media->len, ==, 0);
  /* Failure is final. */
  g_clear_error(&error);
  g_assert_false(rtmp_server_conn_feed(conn, (const guint8 *)"x", 1, &error));
  g_assert_error(error, RTMP_ERROR, RTMP_ERROR_PROTOCOL);
  recorder_clear(&r);
  client_clear(&c);
}

static void build_media_before_publish(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_command(c, 0, "createStream", 2, NULL);
  client_media(c, RTMP_MSG_VIDEO, 1, 0, 0, 10);
}

static void build_media_while_pending(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_command(c, 0, "createStream", 2, NULL);
  client_publish(c, 1, "key");
  client_media(c, RTMP_MSG_AUDIO, 1, 0, 0, 10);
}

static void build_media_before_connect(Client *c)
{
  client_media(c, RTMP_MSG_AUDIO, 1, 0, 0, 10);
}

static void build_aggregate_before_publish(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_aggregate(c, 1, 0);
}

static void build_command_before_connect(Client *c)
{
  client_command(c, 0, "createStream", 2, NULL);
}

static void build_second_connect(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
}

static void build_second_publish(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_command(c, 0, "createStream", 2, NULL);
  client_publish(c, 1, "key");
  client_publish(c, 1, "key");
}

static void build_publish_after_unpublish(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_command(c, 0, "createStream", 2, NULL);
  client_publish(c, 1, "key");
  client_command(c, 1, "FCUnpublish", 3, "key");
  client_publish(c, 1, "key");
}

static void build_malformed_command(Client *c)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_string(p, "connect");
  g_byte_array_append(p, (const guint8 *)"\x00\x01", 2); /* truncated number */
  client_send(c, 3, RTMP_MSG_COMMAND_AMF0, 0, 0, p);
}

static void build_nameless_command(Client *c)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_number(p, 1);
  client_send(c, 3, RTMP_MSG_COMMAND_AMF0, 0, 0, p);
}

static void build_bad_aggregate(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_command(c, 0, "createStream", 2, NULL);
  client_publish(c, 1, "key");
  g_autoptr(GByteArray) p = g_byte_array_new();
  put_sub(p, RTMP_MSG_VIDEO, 0, (const guint8 *)"abc", 3);
  p->data[3] = 200; /* sub-message claims more bytes than there are */
  client_send(c, 6, RTMP_MSG_AGGREGATE, 1, 0, p);
}

static void build_bad_chunk(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  client_set_chunk_size(c, 0);
}

static void build_too_many_streams(Client *c)
{
  client_connect(c, "live", RTMP_MSG_COMMAND_AMF0);
  for (int i = 0; i < 17; i++)
    client_command(c, 0, "createStream", 2 + i, NULL);
}

static void test_protocol_errors(void)
{
  expect_failure(build_media_before_publish, "before the publish was accepted", ACCEPT_NOW);
  expect_failure(build_media_while_pending, "before the publish was accepted", DECIDE_LATER);
  expect_failure(build_media_before_connect, "before connect", ACCEPT_NOW);
  expect_failure(build_aggregate_before_publish, "before the publish", ACCEPT_NOW);
  expect_failure(build_command_before_connect, "before connect", ACCEPT_NOW);
  expect_failure(build_second_connect, "second connect", ACCEPT_NOW);
  expect_failure(build_second_publish, "already in progress", DECIDE_LATER);
  expect_failure(build_publish_after_unpublish, "only one publish", ACCEPT_NOW);
  expect_failure(build_malformed_command, "malformed command", ACCEPT_NOW);
  expect_failure(build_nameless_command, "without a name", ACCEPT_NOW);
  expect_failure(build_bad_aggregate, "truncated aggregate", ACCEPT_NOW);
  expect_failure(build_bad_chunk, "invalid chunk size", ACCEPT_NOW);
  expect_failure(build_too_many_streams, "createStream", ACCEPT_NOW);
}

static void test_connect_without_app(void)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  g_autoptr(GByteArray) p = g_byte_array_new();
  rtmp_amf_write_string(p, "connect");
  rtmp_amf_write_number(p, 1);
  rtmp_amf_write_object_start(p);
  rtmp_amf_write_key(p, "tcUrl");
  rtmp_amf_write_string(p, "rtmp://x/");
  rtmp_amf_write_object_end(p);
  client_send(&c, 3, RTMP_MSG_COMMAND_AMF0, 0, 0, p);

  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_assert_true(feed(conn, c.wire->data, c.wire->len, G_MAXSIZE, out, NULL));
  g_assert_true(rtmp_server_conn_is_finished(conn));
  ServerView v;
  view_init(&v);
  view_read(&v, out);
  g_assert_cmpuint(v.messages->len, ==, 1);
  g_autoptr(GPtrArray) e = command_values(MSG(v.messages, 0));
  g_assert_cmpstr(rtmp_amf_value_get_string(VAL(e, 0)), ==, "_error");
  g_assert_cmpstr(rtmp_amf_object_get_string(VAL(e, 3), "code"), ==,
                  "NetConnection.Connect.Rejected");
  view_clear(&v);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_amf3_command_and_unknown(void)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  client_connect(&c, "live", RTMP_MSG_COMMAND_AMF3);
  client_command(&c, 0, "_checkbw", 2, NULL);
  client_command(&c, 0, "getStreamLength", 3, "x");
  /* An AMF3 command whose format byte is not 0 is ignored. */
  g_autoptr(GByteArray) p = g_byte_array_new();
  g_byte_array_append(p, (const guint8 *)"\x11\x06\x05", 3);
  client_send(&c, 3, RTMP_MSG_COMMAND_AMF3, 0, 0, p);
  /* Shared object and unknown message types are ignored. */
  client_send(&c, 3, RTMP_MSG_SHARED_OBJECT_AMF0, 0, 0, p);
  client_send(&c, 3, 99, 0, 0, p);
  /* Data messages that are not onMetaData, or malformed, are ignored. */
  g_autoptr(GByteArray) d = g_byte_array_new();
  rtmp_amf_write_string(d, "|RtmpSampleAccess");
  rtmp_amf_write_boolean(d, TRUE);
  client_send(&c, 4, RTMP_MSG_DATA_AMF0, 1, 0, d);
  client_send(&c, 4, RTMP_MSG_DATA_AMF0, 1, 0, p);

  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, &error));
  g_assert_no_error(error);
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_CONNECTED);
  ServerView v;
  view_init(&v);
  view_read(&v, out);
  check_connect_replies(v.messages, 0);
  g_assert_cmpuint(v.messages->len, ==, 4);
  gboolean saw_checkbw = FALSE;
  for (guint i = 0; i < r.logs->len; i++)
    saw_checkbw |= strstr(g_ptr_array_index(r.logs, i), "_checkbw") != NULL;
  g_assert_true(saw_checkbw);
  view_clear(&v);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_log_flood_suppressed(void)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  client_connect(&c, "live", RTMP_MSG_COMMAND_AMF0);
  for (int i = 0; i < 500; i++)
    client_command(&c, 0, "spam\x01\xff", i, NULL);
  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_assert_true(feed(conn, c.wire->data, c.wire->len, G_MAXSIZE, out, NULL));
  g_assert_cmpuint(r.logs->len, <=, 110);
  /* Names are shown printable only. */
  gboolean found = FALSE;
  for (guint i = 0; i < r.logs->len; i++)
    found |= strstr(g_ptr_array_index(r.logs, i), "spam??") != NULL;
  g_assert_true(found);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_acknowledgements(void)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  gsize handshake_len = c.wire->len;
  client_prelude(&c);
  client_control_u32(&c, RTMP_MSG_WINDOW_ACK_SIZE, 10000);
  client_publish(&c, 1, "k");
  gsize before_media = c.wire->len - handshake_len;
  for (int i = 0; i < 5; i++)
    client_media(&c, RTMP_MSG_VIDEO, 1, (guint32)i * 40, 0, 3000);

  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, NULL));
  ServerView v;
  view_init(&v);
  view_read(&v, out);
  /* Each 3000-byte video message is 3000 + 12 header bytes at chunk size 4096. */
  GArray *acks = g_array_new(FALSE, FALSE, sizeof(guint32));
  for (guint i = 0; i < v.messages->len; i++)
    if (MSG(v.messages, i)->type_id == RTMP_MSG_ACKNOWLEDGEMENT) {
      guint32 seq = payload_u32(MSG(v.messages, i), 0);
      g_array_append_val(acks, seq);
    }
  gsize total = c.wire->len - handshake_len;
  g_assert_cmpuint(total, ==, before_media + 5 * 3012);
  g_assert_cmpuint(rtmp_server_conn_get_bytes_received(conn), ==, total);
  /* The window is 10000: one acknowledgement per 10000 bytes received, each reporting the
   * byte count at the moment it was sent. */
  g_assert_cmpuint(acks->len, ==, total / 10000);
  for (guint i = 0; i < acks->len; i++) {
    guint32 seq = g_array_index(acks, guint32, i);
    g_assert_cmpuint(seq, >=, (i + 1) * 10000);
    g_assert_cmpuint(seq, <, (i + 1) * 10000 + 3100);
  }
  g_array_unref(acks);
  view_clear(&v);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_default_ack_window(void)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  client_prelude(&c);
  client_publish(&c, 1, "k");
  for (int i = 0; i < 70; i++)
    client_media(&c, RTMP_MSG_VIDEO, 1, (guint32)i, 0, 40000);
  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 65536, out, NULL));
  ServerView v;
  view_init(&v);
  view_read(&v, out);
  guint acks = 0;
  for (guint i = 0; i < v.messages->len; i++)
    acks += MSG(v.messages, i)->type_id == RTMP_MSG_ACKNOWLEDGEMENT;
  g_assert_cmpuint(acks, ==, 1); /* 2.8 MB received, window 2.5 MB */
  g_assert_cmpuint(r.media->len, ==, 70);
  view_clear(&v);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_ping(void)
{
  Client c;
  client_init(&c);
  client_handshake_plain(&c);
  client_connect(&c, "live", RTMP_MSG_COMMAND_AMF0);
  g_autoptr(GByteArray) p = g_byte_array_new();
  g_byte_array_append(p, (const guint8 *)"\x00\x06\x12\x34\x56\x78", 6);
  client_send(&c, 2, RTMP_MSG_USER_CONTROL, 0, 0, p);
  g_autoptr(GByteArray) buf = g_byte_array_new();
  g_byte_array_append(buf, (const guint8 *)"\x00\x03\x00\x00\x00\x01\x00\x00\x0b\xb8", 10);
  client_send(&c, 2, RTMP_MSG_USER_CONTROL, 0, 0, buf); /* SetBufferLength: ignored */
  Recorder r;
  recorder_init(&r, ACCEPT_NOW);
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, NULL));
  ServerView v;
  view_init(&v);
  view_read(&v, out);
  g_assert_cmpuint(v.messages->len, ==, 5);
  const RtmpMessage *pong = MSG(v.messages, 4);
  g_assert_cmpuint(pong->type_id, ==, RTMP_MSG_USER_CONTROL);
  g_assert_cmpmem(g_bytes_get_data(pong->payload, NULL), g_bytes_get_size(pong->payload),
                  "\x00\x07\x12\x34\x56\x78", 6);
  view_clear(&v);
  recorder_clear(&r);
  client_clear(&c);
}

static void test_unpublish_while_pending(void)
{
  Recorder r;
  ServerView v;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(RtmpServerConn) conn = session_until_publish(&r, DECIDE_LATER, "live", "k", out, &v);
  Client c;
  client_init(&c);
  client_delete_stream(&c, 1);
  g_assert_true(feed(conn, c.wire->data, c.wire->len, 1, out, NULL));
  g_assert_cmpint(r.unpublishes, ==, 1);
  g_assert_cmpint(rtmp_server_conn_get_state(conn), ==, RTMP_SERVER_STATE_UNPUBLISHED);
  /* The late decision is a no-op. */
  g_assert_false(rtmp_server_conn_accept_publish(conn));
  g_assert_cmpuint(rtmp_server_conn_get_output_size(conn), ==, 0);
  client_clear(&c);
  view_clear(&v);
  recorder_clear(&r);
}

static void test_garbage(void)
{
  /* Not RTMP at all. */
  static const char *inputs[] = {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\x16\x03\x01\x02\x00",
                                 "\x06", "\x00"};
  for (gsize i = 0; i < G_N_ELEMENTS(inputs); i++) {
    Recorder r;
    recorder_init(&r, ACCEPT_NOW);
    g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&callbacks, &r);
    g_autoptr(GError) error = NULL;
    g_assert_false(
        rtmp_server_conn_feed(conn, (const guint8 *)inputs[i], strlen(inputs[i]) + 1, &error));
    g_assert_nonnull(error);
    g_assert_true(rtmp_server_conn_is_finished(conn));
    recorder_clear(&r);
  }

  /* Random bytes after a good handshake, and after a good session prefix. */
  GRand *rand = g_rand_new_with_seed(2024);
  for (int round = 0; round < 400; round++) {
    Client c;
    client_init(&c);
    client_handshake_plain(&c);
    if (round % 2)
      client_prelude(&c);
    gsize n = g_rand_int_range(rand, 1, 2000);
    for (gsize i = 0; i < n; i++) {
      guint8 b = (guint8)g_rand_int(rand);
      g_byte_array_append(c.wire, &b, 1);
    }
    Recorder r;
    recorder_init(&r, ACCEPT_NOW);
    RtmpServerConn *conn = rtmp_server_conn_new(&callbacks, &r);
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GError) error = NULL;
    gboolean ok =
        feed(conn, c.wire->data, c.wire->len, g_rand_int_range(rand, 1, 300), out, &error);
    g_assert_true(ok == (error == NULL));
    rtmp_server_conn_free(conn);
    recorder_clear(&r);
    client_clear(&c);
  }
  g_rand_free(rand);
}

static void test_stream_key(void)
{
  static const struct {
    const gchar *app, *name, *key;
  } cases[] = {
      {"live", "KEY", "KEY"},
      {"live", "KEY?token=abc", "KEY"},
      {"live", "a/b/KEY", "KEY"},
      {"live", "/KEY?x=1/2", "KEY"},
      {"live/KEY", "", "KEY"},
      {"live/KEY", NULL, "KEY"},
      {"live/KEY?token=1", "", "KEY"},
      {"live/KEY", "OTHER", "OTHER"}, /* the publish name wins */
      {"live/KEY", "?token=1", "KEY"},
      {"live", "", NULL},
      {"live", NULL, NULL},
      {NULL, NULL, NULL},
      {"live", "?token=abc", NULL},
      {"live", "KEY/", NULL},
      {"live/", "", NULL},
      {"", "", NULL},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree gchar *key = rtmp_stream_key_extract(cases[i].app, cases[i].name);
    g_assert_cmpstr(key, ==, cases[i].key);
  }
}

static void test_flv(void)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_flv_write_header(b, TRUE, TRUE);
  static const guint8 header[] = {'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0};
  g_assert_cmpmem(b->data, b->len, header, sizeof header);
  g_byte_array_set_size(b, 0);
  rtmp_flv_write_header(b, FALSE, TRUE);
  g_assert_cmpuint(b->data[4], ==, 0x01);
  g_byte_array_set_size(b, 0);
  rtmp_flv_write_header(b, TRUE, FALSE);
  g_assert_cmpuint(b->data[4], ==, 0x04);

  g_byte_array_set_size(b, 0);
  g_assert_true(rtmp_flv_write_tag(b, RTMP_FLV_TAG_VIDEO, 0x12345678, (const guint8 *)"abc", 3));
  static const guint8 tag[] = {9, 0, 0,   3,   0x34, 0x56, 0x78, 0x12, 0,
                               0, 0, 'a', 'b', 'c',  0,    0,    0,    14};
  g_assert_cmpmem(b->data, b->len, tag, sizeof tag);

  g_byte_array_set_size(b, 0);
  g_assert_true(rtmp_flv_write_tag(b, RTMP_FLV_TAG_SCRIPT, 0, NULL, 0));
  g_assert_cmpuint(b->len, ==, 15);
  g_assert_false(rtmp_flv_write_tag(b, RTMP_FLV_TAG_AUDIO, 0, b->data, 0x1000000));
  g_assert_cmpuint(b->len, ==, 15);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtmp/server/session-whole", test_session_whole);
  g_test_add_func("/rtmp/server/session-byte-by-byte", test_session_byte_by_byte);
  g_test_add_func("/rtmp/server/session-odd-slices", test_session_odd_slices);
  g_test_add_func("/rtmp/server/session-digest", test_session_digest);
  g_test_add_func("/rtmp/server/async-accept", test_async_accept);
  g_test_add_func("/rtmp/server/reject-in-callback", test_reject_in_callback);
  g_test_add_func("/rtmp/server/reject-later", test_reject_later);
  g_test_add_func("/rtmp/server/missing-key", test_missing_key_rejected);
  g_test_add_func("/rtmp/server/key-in-app", test_key_in_app);
  g_test_add_func("/rtmp/server/protocol-errors", test_protocol_errors);
  g_test_add_func("/rtmp/server/connect-without-app", test_connect_without_app);
  g_test_add_func("/rtmp/server/amf3-and-unknown", test_amf3_command_and_unknown);
  g_test_add_func("/rtmp/server/log-flood", test_log_flood_suppressed);
  g_test_add_func("/rtmp/server/acknowledgements", test_acknowledgements);
  g_test_add_func("/rtmp/server/default-ack-window", test_default_ack_window);
  g_test_add_func("/rtmp/server/ping", test_ping);
  g_test_add_func("/rtmp/server/unpublish-while-pending", test_unpublish_while_pending);
  g_test_add_func("/rtmp/server/garbage", test_garbage);
  g_test_add_func("/rtmp/streamkey", test_stream_key);
  g_test_add_func("/rtmp/flv", test_flv);
  return g_test_run();
}
