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

typedef struct {
  /* --- ABI 1.0 --- */
  guint32 size; /* sizeof(SluiceOutputVTable) the plugin was built with */

  /* Mandatory. NULL-terminated list of the output types this plugin builds ("file",
   * "segments", "stream", "images", ...). Static storage. */
  const char *const *output_types;

  /* Mandatory. Handler process, main thread. Build a bin for one output of `output_type`.
   * `options` (transfer none) holds the request's fields for that output (LiveKit field names);
   * `dir` (transfer none) is the job's private directory, the only place the bin may write.
   * The bin has an always "sink" ghost pad per media kind it takes ("video", "audio").
   * Returns a floating reference (transfer floating), or NULL with `error` set. */
  GstElement *(*make_bin)(const char *output_type, const GstStructure *options, const char *dir,
                          GError **error);
} SluiceOutputVTable;

G_END_DECLS

#endif /* SLUICE_OUTPUT_H */
