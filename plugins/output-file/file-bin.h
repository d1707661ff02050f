/* output-file — the "file" output: one MP4, WebM or Ogg file per output.
 *
 *   "video" ghost -> parser -+
 *                            +-> mp4mux | webmmux | oggmux -> filesink (sync=false, async=false)
 *   "audio" ghost -> parser -+
 *
 * The container comes from the codecs and the requested extension (container.h); the file name
 * that is written (with the extension fixed) is the bin's "filename" property and the
 * "filename" of its report.
 *
 * Crash safety: MP4 is muxed fragmented (one moof/mdat pair per `fragment_duration`) from a
 * first moov that already describes the tracks, so a handler killed mid-recording leaves a
 * file that plays up to the last complete fragment. At EOS mp4mux ("first-moov-then-finalise")
 * rewrites the headers in place into a regular, non-fragmented MP4 with a full index. Ogg pages
 * and Matroska clusters are readable as written.
 *
 * EOS: the muxer writes its index and pushes EOS to filesink; when filesink posts EOS the file
 * is complete, and the bin posts its "file-closed" report (filename, size, duration, start-time)
 * before GstBin forwards the EOS, so the report always precedes the bin's EOS on the bus.
 *
 * Properties (read-only): "filename" (relative to the output dir), "location" (absolute).
 *
 * Ownership: of_file_bin_new() returns a floating reference; arguments are transfer none.
 * Threading: built on the main thread. The input probes run on the handler's queue threads (one
 * per input), the EOS handling on filesink's streaming thread; the state they share (the media
 * span and whether the report went out) is guarded by the bin's mutex.
 */
#ifndef OF_FILE_BIN_H
#define OF_FILE_BIN_H

#include <gst/gst.h>

#include "output-file.h"

G_BEGIN_DECLS

#define OF_TYPE_FILE_BIN (of_file_bin_get_type())
G_DECLARE_FINAL_TYPE(OfFileBin, of_file_bin, OF, FILE_BIN, GstBin)

/* `options`: "filepath" (relative to `dir`), "video-caps" / "audio-caps". `dir`: absolute.
 * Returns NULL with `error` set (SLUICE_OUTPUT_ERROR) when the options or caps do not fit. */
GstElement *of_file_bin_new(const GstStructure *options, const char *dir, const OfConfig *config,
                            GError **error);

G_END_DECLS

#endif /* OF_FILE_BIN_H */
