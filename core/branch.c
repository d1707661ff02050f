/* An output's branch off a tee. See branch.h. */
#include "branch.h"

/* What the output answered, as the tee gets it: its failures stay in the branch. */
static GstFlowReturn contained(GstFlowReturn ret)
{
  return ret < GST_FLOW_OK ? GST_FLOW_OK : ret;
}

static GstFlowReturn branch_chain(GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  return contained(gst_proxy_pad_chain_default(pad, parent, buffer));
}

static GstFlowReturn branch_chain_list(GstPad *pad, GstObject *parent, GstBufferList *list)
{
  return contained(gst_proxy_pad_chain_list_default(pad, parent, list));
}

GstElement *sl_branch_new(GstClockTime max_time)
{
  GstElement *bin = gst_bin_new(NULL);
  GstElement *q = gst_element_factory_make("queue", NULL);
  GstPad *qsink, *qsrc, *sink;

  g_object_set(q, "leaky", 2 /* downstream: drop the oldest */, "max-size-buffers", 0,
               "max-size-bytes", 0, "max-size-time", (guint64)max_time, NULL);
  gst_bin_add(GST_BIN(bin), q);
  qsink = gst_element_get_static_pad(q, "sink");
  qsrc = gst_element_get_static_pad(q, "src");
  sink = gst_ghost_pad_new("sink", qsink);
  gst_pad_set_chain_function(sink, branch_chain);
  gst_pad_set_chain_list_function(sink, branch_chain_list);
  gst_element_add_pad(bin, sink);
  gst_element_add_pad(bin, gst_ghost_pad_new("src", qsrc));
  gst_object_unref(qsink);
  gst_object_unref(qsrc);
  return bin;
}
