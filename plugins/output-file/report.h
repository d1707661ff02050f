/* output-file — the "sluice-output" element messages through which the bins report what they
 * wrote (the contract is in include/sluice/output.h).
 *
 * Ownership: of_report_new() returns a new structure (transfer full) that the caller may add
 * fields to; of_report_post() takes it over (transfer full). Threading: any thread; the bins
 * post from the streaming thread that finished a file, and the message travels up the bin
 * hierarchy to the pipeline's bus from there.
 */
#ifndef OF_REPORT_H
#define OF_REPORT_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define OF_REPORT_NAME "sluice-output"

/* A message structure with the mandatory fields: "output-type", "event", "filename" (relative
 * to the output dir), "size" (bytes) and "duration" (ns). */
GstStructure *of_report_new(const char *output_type, const char *event, const char *filename,
                            guint64 size, guint64 duration);

/* Post `report` as an element message from `element`. */
void of_report_post(GstElement *element, GstStructure *report);

G_END_DECLS

#endif /* OF_REPORT_H */
