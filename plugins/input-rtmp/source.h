/* input-rtmp, handler side: the session's GStreamer source.
 *
 * The service side writes the publisher's media as an FLV byte stream into a pipe; here an
 * `fdsrc ! flvdemux` bin reads it back and exposes one sometimes pad per stream ("video",
 * "audio"), with no-more-pads once flvdemux knows them all and EOS when the pipe closes.
 *
 * Ownership: returns a floating element (transfer floating); it owns `media_fd` and closes it.
 * Threading: built on the handler's main thread; pads appear on flvdemux's streaming thread.
 */
#ifndef RTMP_SOURCE_H
#define RTMP_SOURCE_H

#include <gst/gst.h>

G_BEGIN_DECLS

GstElement *rtmp_source_make(const GstStructure *session, int media_fd, GError **error);

G_END_DECLS

#endif /* RTMP_SOURCE_H */
