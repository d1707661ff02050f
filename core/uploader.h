/* The handler's uploads: what outputs finish goes to storage, in order, with a backup.
 *
 * Every report an output bin posts (file-closed, segment-closed, playlist-updated) goes through
 * the uploader, which hands it back — with where the file now lives — once that file is stored:
 *
 *   - Each output has a storage target (storage.h says which one wins) or none; an output
 *     without one keeps its files in output_dir and its reports pass straight through.
 *   - Segments (and files) upload as each one closes, several at a time on a small pool of
 *     worker threads. A playlist waits for everything its output reported before it, so a
 *     playlist never names a segment that is not stored yet; a playlist update that is still
 *     waiting is replaced by a newer one. Playlists are uploaded from a copy taken when they
 *     were reported.
 *   - Reports come back in the order the output posted them, on the main thread.
 *   - An upload that fails (after the plugin's own retries) goes to the `backup:` storage, then
 *     to the older `backup_storage` directory; from then on that output's uploads go straight to
 *     the backup, as LiveKit does. When every place fails, the file stays where the output wrote
 *     it, and the report says so (`upload_error`, `location` = the local path).
 *   - A file is deleted from the local disk only once it is stored (remotely, or copied into
 *     backup_storage); LiveKit does the same with its temp dir. Emptied directories go too.
 *   - When the last output of a group (an egress: output ids "<egress_id>/<n>"; the ingress's
 *     own outputs: the session) has finished, a manifest `<group>.json` in LiveKit's shape is
 *     written next to the first output's files and uploaded next to each output in its storage;
 *     the last output's final report carries `manifest_location`. A manifest is skipped when
 *     every output of the group sets disable_manifest and no backup was used.
 *   - The queue is bounded (max_upload_queue minutes of 4 s segments); a segment that does not
 *     fit is kept on local disk with an error rather than blocking the pipeline.
 *
 * Reports handed back are the "output" IPC messages the handler built, with these members added:
 *   location (string)            the remote URL, or the absolute local path when not stored
 *   backup_storage_used (bool)   only when true
 *   upload_error (string)        only when the file could not be stored anywhere remote
 *   manifest_location (string)   on the final report of a group's last output
 * Statistics go to the service as {"type":"upload", backend, status, bytes, seconds} messages;
 * while uploads are under way, {"type":"upload-progress", pending, pending_bytes} every 10 s
 * (the service keeps a finishing handler alive while it sees them).
 *
 * Ownership: the uploader is owned by the handler (sl_uploader_free); JSON passed in is
 * transfer none (copied or referenced as documented). Threading: every function is called on
 * the thread whose main context was thread-default at sl_uploader_new, and every callback runs
 * there; plugins' upload callbacks run on the uploader's worker threads.
 */
#ifndef SL_UPLOADER_H
#define SL_UPLOADER_H

#include "config.h"
#include "loader.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _SlUploader SlUploader;

/* A report is back (transfer none; the callee may add members or send it). `final` is what the
 * handler passed with it. */
typedef void (*SlUploaderDelivered)(const char *output_id, JsonObject *report, gboolean final,
                                    gpointer user_data);
/* A message for the service (transfer none). */
typedef void (*SlUploaderSend)(JsonObject *message, gpointer user_data);

typedef struct {
  const SlConfig *config; /* transfer none; outlives the uploader */
  SlPluginSet *plugins;   /* transfer none; outlives the uploader */
  const char *output_dir; /* absolute */
  const char *component;  /* log name */
  const char *session_id; /* names the manifest of the ingress's own outputs */
  const char *room_name;  /* for the manifest; may be NULL */
  const char *publisher;  /* publisher identity, for the manifest; may be NULL */
  const char
      *ingress_name; /* the ingress, to find a static one's per-output storage; may be NULL */
  guint workers;     /* upload threads; 0 = 3 */
  SlUploaderDelivered delivered;
  SlUploaderSend send;
  gpointer user_data;
} SlUploaderEnv;

/* `env` is copied (its strings too). Never fails. */
SlUploader *sl_uploader_new(const SlUploaderEnv *env);
/* Waits for uploads under way to end (queued ones are not started), then frees. Reports not yet
 * handed back are dropped. */
void sl_uploader_free(SlUploader *up);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlUploader, sl_uploader_free)

/* Declares an output before it reports. `upload` (transfer none, may be NULL) holds the options
 * the service resolved for it: {"storage": {"s3": {...}}, "disable_manifest": bool}. Without a
 * storage there, a static ingress's output (`type` "file" or "segments") takes the one in its
 * YAML section, then the node's. Fails when the storage is invalid, when its plugin is not
 * loaded, or when the output would stay local while disallow_local_storage is set. */
gboolean sl_uploader_add_output(SlUploader *up, const char *output_id, const char *type,
                                JsonObject *upload, GError **error);

/* The output was removed or failed without a final report: nothing more comes from it. */
void sl_uploader_output_gone(SlUploader *up, const char *output_id);

/* One report from `output_id` (the handler's "output" message: event, filename relative to
 * output_dir, size, ...; referenced, not copied). `final` marks the output's last report. An
 * output not declared is treated as local. The report comes back through `delivered`, never
 * from inside this call. */
void sl_uploader_report(SlUploader *up, const char *output_id, JsonObject *report, gboolean final);

/* Reports and uploads not yet finished, manifests included. */
guint sl_uploader_pending(SlUploader *up);

/* Nothing more will be reported: outputs without a final report are taken as gone, their
 * groups' manifests written. Calls `done` (once, from the main loop) when every upload and
 * manifest has finished and every report has been handed back. Returns TRUE (and does not call
 * `done`) when that is already the case. */
gboolean sl_uploader_drain(SlUploader *up, GSourceFunc done, gpointer data);

G_END_DECLS

#endif /* SL_UPLOADER_H */
