/* One output's branch off a tee: a leaky queue that keeps the output's troubles to itself.
 *
 * Every output of a session hangs off the source's tees through a branch. The queue in it drops
 * the oldest media when the output falls behind (so a slow sink never stalls the source), and
 * the branch's sink pad answers the tee OK whatever the output answers: tee hands every result
 * but OK and NOT_LINKED back upstream, where the source's task stops on it, so one output failing
 * (a muxer's error, a full disk, a sink that lost its server) would otherwise stop the session and
 * every other output with it. The failing element's own error message is what takes that output
 * out; until then what reaches its branch is dropped there.
 *
 * The branch is a GstBin with ghost pads "sink" and "src"; pad probes may be put on them as on
 * the queue's own pads.
 *
 * Ownership: sl_branch_new returns a floating reference, as gst_element_factory_make does.
 * Threading: built on any thread; the flow mapping runs on the tee's streaming thread.
 */
#ifndef SL_BRANCH_H
#define SL_BRANCH_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* A branch whose queue holds up to `max_time` ns of media before it drops the oldest. */
GstElement *sl_branch_new(GstClockTime max_time);

G_END_DECLS

#endif /* SL_BRANCH_H */
