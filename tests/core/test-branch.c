/* Output branches (core/branch.c): a failing output must not stop the source feeding the others.
 *
 * A live videotestsrc pushes 200 small frames (100 a second) into a tee with two branches: one into
 * a healthy fakesink, one into an identity that answers ERROR from its 5th buffer on (error-after).
 * No bus handling takes the failing branch out, so only the branch itself can keep that ERROR from
 * the tee. Plain queues in the same pipeline show what the branch prevents: the tee hands the ERROR
 * back to the source, whose task stops, and the healthy sink gets only a handful of buffers. */
#include "branch.h"

#define BUFFERS 200

static GstPadProbeReturn count_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  g_atomic_int_inc((gint *)data);
  return GST_PAD_PROBE_OK;
}

/* Runs the pipeline until the healthy sink has every buffer, the source fails, or 10 s. Returns
 * how many buffers the healthy sink got; *source_failed tells whether the source stopped on an
 * error of its own (the tee handed it the failing branch's result). */
static gint run(gboolean use_branch, gboolean *source_failed)
{
  g_autoptr(GstElement) pipeline = gst_pipeline_new(NULL);
  GstElement *src = gst_element_factory_make("videotestsrc", "src");
  GstElement *caps = gst_element_factory_make("capsfilter", NULL);
  GstElement *tee = gst_element_factory_make("tee", NULL);
  GstElement *good_q =
      use_branch ? sl_branch_new(GST_SECOND) : gst_element_factory_make("queue", NULL);
  GstElement *bad_q =
      use_branch ? sl_branch_new(GST_SECOND) : gst_element_factory_make("queue", NULL);
  GstElement *good = gst_element_factory_make("fakesink", "good");
  GstElement *bad = gst_element_factory_make("identity", "bad");
  GstElement *bad_sink = gst_element_factory_make("fakesink", NULL);
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
  g_autoptr(GstPad) good_pad = NULL;
  gint count = 0;
  gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

  *source_failed = FALSE;
  g_autoptr(GstCaps) raw = gst_caps_from_string("video/x-raw,format=GRAY8,width=16,height=16,"
                                                "framerate=100/1");
  g_object_set(src, "num-buffers", BUFFERS, "is-live", TRUE, NULL);
  g_object_set(caps, "caps", raw, NULL);
  g_object_set(tee, "allow-not-linked", TRUE, NULL);
  g_object_set(bad, "error-after", 5, NULL);
  g_object_set(good, "sync", FALSE, "async", FALSE, NULL);
  g_object_set(bad_sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many(GST_BIN(pipeline), src, caps, tee, good_q, bad_q, good, bad, bad_sink, NULL);
  g_assert_true(gst_element_link_many(src, caps, tee, NULL));
  g_assert_true(gst_element_link_many(tee, good_q, good, NULL));
  g_assert_true(gst_element_link_many(tee, bad_q, bad, bad_sink, NULL));
  good_pad = gst_element_get_static_pad(good, "sink");
  gst_pad_add_probe(good_pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &count, NULL);

  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  /* The pipeline posts no EOS: the failed branch's sink never gets one. */
  while (g_get_monotonic_time() < deadline && g_atomic_int_get(&count) < BUFFERS) {
    g_autoptr(GstMessage) m = gst_bus_timed_pop_filtered(bus, 50 * GST_MSECOND, GST_MESSAGE_ERROR);
    if (m != NULL && GST_MESSAGE_SRC(m) == GST_OBJECT(src)) {
      *source_failed = TRUE;
      break;
    }
    /* the identity's own error, and its queue's, are that output's: left to the handler */
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return g_atomic_int_get(&count);
}

static void test_failing_branch_is_contained(void)
{
  gboolean source_failed;
  gint got = run(TRUE, &source_failed);
  g_assert_false(source_failed);
  g_assert_cmpint(got, ==, BUFFERS);
}

/* The control: without branches the same failure stops the source early. */
static void test_plain_queue_lets_failure_through(void)
{
  gboolean source_failed;
  gint got = run(FALSE, &source_failed);
  g_assert_true(source_failed);
  g_assert_cmpint(got, <, BUFFERS);
}

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/branch/failing-branch-is-contained", test_failing_branch_is_contained);
  g_test_add_func("/branch/plain-queue-lets-failure-through",
                  test_plain_queue_lets_failure_through);
  return g_test_run();
}
