/* output-file — "sluice-output" messages. See report.h. */
#include "report.h"

GstStructure *of_report_new(const char *output_type, const char *event, const char *filename,
                            guint64 size, guint64 duration)
{
  return gst_structure_new(OF_REPORT_NAME, "output-type", G_TYPE_STRING, output_type, "event",
                           G_TYPE_STRING, event, "filename", G_TYPE_STRING, filename, "size",
                           G_TYPE_UINT64, size, "duration", G_TYPE_UINT64, duration, NULL);
}

void of_report_post(GstElement *element, GstStructure *report)
{
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT_CAST(element), report));
}
