/* input-rtmp, handler side. See source.h. */
#include "source.h"

#include <sluice/output.h>
#include <unistd.h>

/* flvdemux's pads are proxied out of the bin under the same names. */
static void on_demux_pad(GstElement *demux, GstPad *pad, gpointer data)
{
  GstElement *bin = data;
  GstPad *ghost = gst_ghost_pad_new(GST_PAD_NAME(pad), pad);
  gst_pad_set_active(ghost, TRUE);
  gst_element_add_pad(bin, ghost);
}

static void on_demux_no_more_pads(GstElement *demux, gpointer data)
{
  gst_element_no_more_pads(GST_ELEMENT(data));
}

GstElement *rtmp_source_make(const GstStructure *session, int media_fd, GError **error)
{
  GstElement *bin;
  GstElement *src = gst_element_factory_make("fdsrc", "media");
  GstElement *demux = gst_element_factory_make("flvdemux", "demux");

  if (src == NULL || demux == NULL) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_ELEMENT,
                "GStreamer elements fdsrc and flvdemux are needed (gstreamer1.0-plugins-good)");
    if (src)
      gst_object_unref(src);
    if (demux)
      gst_object_unref(demux);
    close(media_fd);
    return NULL;
  }
  bin = gst_bin_new("rtmp-source");
  /* Large reads: one buffer per pipe-full rather than per 4 KiB. */
  g_object_set(src, "fd", media_fd, "blocksize", 65536, NULL);
  gst_bin_add_many(GST_BIN(bin), src, demux, NULL);
  gst_element_link(src, demux);
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), bin);
  g_signal_connect(demux, "no-more-pads", G_CALLBACK(on_demux_no_more_pads), bin);
  return bin;
}
