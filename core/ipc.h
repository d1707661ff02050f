/* The service ↔ handler control channel: length-prefixed JSON messages over a socketpair.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one object).
 * The reader is a pure parser (bytes in, messages out) so it can be tested and fuzzed apart from
 * the socket; SlIpcChannel wraps it around a non-blocking socket on a GLib main context.
 *
 * Messages (the "type" member says which):
 *   handler → service: state {status, error?, video?, audio?}, output {output_id?, output_type,
 *                      event, filename, size, duration, location?, backup_storage_used?, ...},
 *                      output-added / output-removed {output_id, error?}, upload {backend,
 *                      status, bytes, seconds}, upload-progress {pending, pending_bytes} (see
 *                      uploader.h), ended {status, error?}
 *   service → handler: stop {reason?}, add-output {output_id, output_type, options},
 *                      remove-output {output_id}
 *
 * Ownership: readers and channels are owned by their creator; messages returned are transfer
 * full (json_node_unref). Threading: single-threaded; a channel dispatches on the main context
 * that was thread-default when it was created.
 */
#ifndef SL_IPC_H
#define SL_IPC_H

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SL_IPC_ERROR (sl_ipc_error_quark())
GQuark sl_ipc_error_quark(void);

typedef enum {
  SL_IPC_ERROR_TOO_LARGE, /* a frame longer than the cap */
  SL_IPC_ERROR_JSON,      /* a frame that is not a JSON object */
  SL_IPC_ERROR_CLOSED,    /* the peer closed the channel */
  SL_IPC_ERROR_IO,        /* the socket failed */
} SlIpcError;

#define SL_IPC_MAX_FRAME (1024 * 1024)

typedef struct _SlIpcReader SlIpcReader;

SlIpcReader *sl_ipc_reader_new(void);
void sl_ipc_reader_free(SlIpcReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlIpcReader, sl_ipc_reader_free)

/* Append bytes received. */
void sl_ipc_reader_feed(SlIpcReader *r, const guint8 *data, gsize len);

/* The next complete message (a JSON object node, transfer full), or NULL when none is complete
 * yet (error unset) or the stream is broken (error set; the channel must be closed). */
JsonNode *sl_ipc_reader_next(SlIpcReader *r, GError **error);

/* Frame a JSON object for sending (transfer full). */
GBytes *sl_ipc_frame(JsonNode *message);

/* Build a message object {"type": type} to add members to (transfer full). */
JsonObject *sl_ipc_message_new(const char *type);

typedef struct _SlIpcChannel SlIpcChannel;

/* Called for each message (transfer none), and once with message NULL and `error` set when the
 * channel closes or breaks; no call follows that one. */
typedef void (*SlIpcFunc)(SlIpcChannel *ch, JsonObject *message, const GError *error,
                          gpointer user_data);

/* Takes ownership of `fd` (made non-blocking). */
SlIpcChannel *sl_ipc_channel_new(int fd, SlIpcFunc func, gpointer user_data);
/* Stops dispatching and closes the socket. */
void sl_ipc_channel_free(SlIpcChannel *ch);

/* Queue a message (the object is serialised now; transfer none). Sending never blocks: frames
 * wait in memory while the socket is full. Returns FALSE when the channel is already closed. */
gboolean sl_ipc_channel_send(SlIpcChannel *ch, JsonObject *message);

/* Dispatch every message already waiting in the socket, without blocking (a peer that has
 * exited may have left its last words unread). */
void sl_ipc_channel_drain(SlIpcChannel *ch);

/* Blocking send for the handler's last words before exiting; returns FALSE on failure. */
gboolean sl_ipc_channel_flush(SlIpcChannel *ch, guint timeout_ms);

G_END_DECLS

#endif /* SL_IPC_H */
