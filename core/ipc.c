/* Service ↔ handler control channel. See ipc.h. */
#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

struct _SlIpcReader {
  GByteArray *buf;
};

GQuark sl_ipc_error_quark(void)
{
  return g_quark_from_static_string("sl-ipc-error");
}

SlIpcReader *sl_ipc_reader_new(void)
{
  SlIpcReader *r = g_new0(SlIpcReader, 1);
  r->buf = g_byte_array_new();
  return r;
}

void sl_ipc_reader_free(SlIpcReader *r)
{
  if (r == NULL)
    return;
  g_byte_array_unref(r->buf);
  g_free(r);
}

void sl_ipc_reader_feed(SlIpcReader *r, const guint8 *data, gsize len)
{
  g_byte_array_append(r->buf, data, (guint)len);
}

JsonNode *sl_ipc_reader_next(SlIpcReader *r, GError **error)
{
  guint32 len;
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;

  if (r->buf->len < 4)
    return NULL;
  len = ((guint32)r->buf->data[0] << 24) | ((guint32)r->buf->data[1] << 16) |
        ((guint32)r->buf->data[2] << 8) | (guint32)r->buf->data[3];
  if (len > SL_IPC_MAX_FRAME) {
    g_set_error(error, SL_IPC_ERROR, SL_IPC_ERROR_TOO_LARGE, "control frame of %u bytes (cap %d)",
                len, SL_IPC_MAX_FRAME);
    return NULL;
  }
  if (r->buf->len - 4 < len)
    return NULL;
  parser = json_parser_new_immutable();
  if (!json_parser_load_from_data(parser, (const char *)r->buf->data + 4, len, error)) {
    if (error && *error) {
      (*error)->domain = SL_IPC_ERROR;
      (*error)->code = SL_IPC_ERROR_JSON;
    }
    return NULL;
  }
  root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, SL_IPC_ERROR, SL_IPC_ERROR_JSON, "control frame is not a JSON object");
    return NULL;
  }
  root = json_node_copy(root);
  g_byte_array_remove_range(r->buf, 0, 4 + len);
  return root;
}

GBytes *sl_ipc_frame(JsonNode *message)
{
  gsize len = 0;
  g_autofree char *text = json_to_string(message, FALSE);
  GByteArray *out = g_byte_array_sized_new(4 + (guint)strlen(text));
  guint8 hdr[4];
  len = strlen(text);
  hdr[0] = (guint8)(len >> 24);
  hdr[1] = (guint8)(len >> 16);
  hdr[2] = (guint8)(len >> 8);
  hdr[3] = (guint8)len;
  g_byte_array_append(out, hdr, 4);
  g_byte_array_append(out, (const guint8 *)text, (guint)len);
  return g_byte_array_free_to_bytes(out);
}

JsonObject *sl_ipc_message_new(const char *type)
{
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "type", type);
  return o;
}

struct _SlIpcChannel {
  int fd;
  SlIpcReader *reader;
  SlIpcFunc func;
  gpointer user_data;
  GByteArray *out;
  guint read_source;
  guint write_source;
  gboolean closed;
};

static void channel_close(SlIpcChannel *ch, GError *error)
{
  if (ch->closed)
    return;
  ch->closed = TRUE;
  if (ch->read_source)
    g_source_remove(ch->read_source);
  if (ch->write_source)
    g_source_remove(ch->write_source);
  ch->read_source = ch->write_source = 0;
  ch->func(ch, NULL, error, ch->user_data);
}

/* Reads once and dispatches every complete message. Returns FALSE when the channel closed; the
 * read source is then already removed by channel_close(), whether this runs from the source's
 * own dispatch or directly (sl_ipc_channel_drain), so no source is left behind pointing at a
 * channel that its owner may free next. */
static gboolean read_once(SlIpcChannel *ch)
{
  guint8 buf[8192];
  ssize_t n = read(ch->fd, buf, sizeof buf);
  GError *err = NULL;
  JsonNode *msg;

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return TRUE;
  if (n <= 0) {
    err = n == 0 ? g_error_new(SL_IPC_ERROR, SL_IPC_ERROR_CLOSED, "control channel closed")
                 : g_error_new(SL_IPC_ERROR, SL_IPC_ERROR_IO, "control channel: %s",
                               g_strerror(errno));
    channel_close(ch, err);
    g_error_free(err);
    return FALSE;
  }
  sl_ipc_reader_feed(ch->reader, buf, (gsize)n);
  while (!ch->closed && (msg = sl_ipc_reader_next(ch->reader, &err)) != NULL) {
    ch->func(ch, json_node_get_object(msg), NULL, ch->user_data);
    json_node_unref(msg);
  }
  if (err != NULL) {
    channel_close(ch, err);
    g_error_free(err);
    return FALSE;
  }
  return !ch->closed;
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
  return read_once(data) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Writes as much of the queue as the socket takes. */
static gboolean write_some(SlIpcChannel *ch)
{
  while (ch->out->len > 0) {
    ssize_t n = write(ch->fd, ch->out->data, ch->out->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return TRUE;
    if (n <= 0)
      return FALSE;
    g_byte_array_remove_range(ch->out, 0, (guint)n);
  }
  return TRUE;
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
  SlIpcChannel *ch = data;
  if (!write_some(ch)) {
    g_autoptr(GError) err =
        g_error_new(SL_IPC_ERROR, SL_IPC_ERROR_IO, "control channel: %s", g_strerror(errno));
    ch->write_source = 0;
    channel_close(ch, err);
    return G_SOURCE_REMOVE;
  }
  if (ch->out->len == 0) {
    ch->write_source = 0;
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

SlIpcChannel *sl_ipc_channel_new(int fd, SlIpcFunc func, gpointer user_data)
{
  SlIpcChannel *ch = g_new0(SlIpcChannel, 1);
  ch->fd = fd;
  ch->func = func;
  ch->user_data = user_data;
  ch->reader = sl_ipc_reader_new();
  ch->out = g_byte_array_new();
  g_unix_set_fd_nonblocking(fd, TRUE, NULL);
  ch->read_source = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, ch);
  return ch;
}

void sl_ipc_channel_free(SlIpcChannel *ch)
{
  if (ch == NULL)
    return;
  if (ch->read_source)
    g_source_remove(ch->read_source);
  if (ch->write_source)
    g_source_remove(ch->write_source);
  close(ch->fd);
  sl_ipc_reader_free(ch->reader);
  g_byte_array_unref(ch->out);
  g_free(ch);
}

gboolean sl_ipc_channel_send(SlIpcChannel *ch, JsonObject *message)
{
  g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
  g_autoptr(GBytes) frame = NULL;
  gsize len;
  const guint8 *data;
  if (ch->closed)
    return FALSE;
  json_node_set_object(node, message);
  frame = sl_ipc_frame(node);
  data = g_bytes_get_data(frame, &len);
  g_byte_array_append(ch->out, data, (guint)len);
  if (!write_some(ch)) {
    g_autoptr(GError) err =
        g_error_new(SL_IPC_ERROR, SL_IPC_ERROR_IO, "control channel: %s", g_strerror(errno));
    channel_close(ch, err);
    return FALSE;
  }
  if (ch->out->len > 0 && ch->write_source == 0)
    ch->write_source = g_unix_fd_add(ch->fd, G_IO_OUT, on_writable, ch);
  return TRUE;
}

void sl_ipc_channel_drain(SlIpcChannel *ch)
{
  while (!ch->closed) {
    struct pollfd p = {.fd = ch->fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
      return;
    if (!read_once(ch))
      return;
  }
}

gboolean sl_ipc_channel_flush(SlIpcChannel *ch, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (!ch->closed && ch->out->len > 0) {
    struct pollfd p = {.fd = ch->fd, .events = POLLOUT};
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      return FALSE;
    if (!write_some(ch))
      return FALSE;
  }
  return ch->out->len == 0;
}
