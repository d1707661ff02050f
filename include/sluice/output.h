/* sluice plugin ABI — output plugins (what takes media out of a session).
 *
 * An output plugin builds GStreamer bins inside a session's handler process. The handler links
 * each bin behind a leaky queue on the session's tee, so a slow output drops rather than stalls.
 *
 * Copy rule as for the descriptor: the host copies min(size, sizeof) into a zeroed struct.
 */
#ifndef SLUICE_OUTPUT_H
#define SLUICE_OUTPUT_H

#include <glib.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define SLUICE_OUTPUT_ERROR (g_quark_from_static_string("sluice-output-error"))
typedef enum {
  SLUICE_OUTPUT_ERROR_OPTIONS = 1, /* an option is missing or invalid */
  SLUICE_OUTPUT_ERROR_CAPS,        /* the media cannot go into this output without transcoding */
  SLUICE_OUTPUT_ERROR_ELEMENT,     /* a GStreamer element is missing */
} SluiceOutputError;

typedef struct {
  /* --- ABI 1.0 --- */
  guint32 size; /* sizeof(SluiceOutputVTable) the plugin was built with */

  /* Mandatory. NULL-terminated list of the output types this plugin builds ("file",
   * "segments", "stream", "images", ...). Static storage. */
  const char *const *output_types;

  /* Mandatory. Handler process, main thread. Build a bin for one output of `output_type`.
   *
   * `options` (transfer none) holds the request's fields for that output, with LiveKit's field
   * names (file: "filepath"; segments: "filename_prefix", "playlist_name", "live_playlist_name",
   * "segment_duration" (int seconds), "filename_suffix" ("INDEX" or "TIMESTAMP")). Paths in it
   * are already expanded from their templates and checked to stay inside `dir`: they are
   * relative to `dir`, and the bin must not write anywhere else. Where the source has them,
   * `options` also carries "video-caps" and "audio-caps" (GstCaps) of the encoded media the bin
   * will receive; the bin makes one always sink ghost pad, named "video" or "audio", for each
   * caps field present and may refuse caps it cannot take (error SLUICE_OUTPUT_ERROR). `dir`
   * (transfer none) is absolute.
   *
   * Results: the bin reports what it writes by posting element messages whose structure is
   * named "sluice-output" with fields "output-type" (string), "event" (string: "file-closed",
   * "segment-closed", "playlist-updated"), "filename" (string, relative to `dir`), "size"
   * (guint64 bytes), "duration" (guint64 ns), "start-time" (gint64 ns since the epoch, optional),
   * "segment-count" (guint, playlists only). On EOS the bin finalises everything it writes
   * before the EOS leaves it. A bin killed without EOS must leave files that play up to the last
   * couple of seconds.
   *
   * Returns a floating reference (transfer floating), or NULL with `error` set. */
  GstElement *(*make_bin)(const char *output_type, const GstStructure *options, const char *dir,
                          GError **error);
} SluiceOutputVTable;

G_END_DECLS

#endif /* SLUICE_OUTPUT_H */
